package gossip

import (
	"bytes"
	"testing"
)

func key(b byte) []byte { return bytes.Repeat([]byte{b}, KeySize) }

func TestKeyringSealOpen(t *testing.T) {
	k, err := NewKeyring(key(1))
	if err != nil {
		t.Fatal(err)
	}
	ad := []byte("header")
	sealed := k.seal(nil, ad, []byte("body"))
	if len(sealed) != nonceSize+4+tagSize {
		t.Fatalf("sealed length %d", len(sealed))
	}
	if pt, err := k.open(ad, sealed); err != nil || string(pt) != "body" {
		t.Fatalf("open: %q %v", pt, err)
	}
	if _, err := k.open([]byte("other"), sealed); err == nil {
		t.Fatal("opened with altered additional data")
	}
	sealed[len(sealed)-1] ^= 1
	if _, err := k.open(ad, sealed); err == nil {
		t.Fatal("opened a tampered body")
	}
	if _, err := k.open(ad, sealed[:10]); err == nil {
		t.Fatal("opened a truncated body")
	}
}

func TestKeyringRotation(t *testing.T) {
	old, _ := NewKeyring(key(1))
	k, _ := NewKeyring(key(1))
	ad := []byte{1}
	if err := k.AddKey(key(2)); err != nil {
		t.Fatal(err)
	}
	// Still sealing with key 1: an old member opens it.
	if _, err := old.open(ad, k.seal(nil, ad, []byte("x"))); err != nil {
		t.Fatal("old member cannot open after AddKey")
	}
	if err := k.UseKey(key(2)); err != nil {
		t.Fatal(err)
	}
	if _, err := old.open(ad, k.seal(nil, ad, []byte("x"))); err == nil {
		t.Fatal("old member opened a message sealed with the new key")
	}
	// k still opens what old members send.
	if _, err := k.open(ad, old.seal(nil, ad, []byte("x"))); err != nil {
		t.Fatal("cannot open old key during rotation")
	}
	if err := k.RemoveKey(key(2)); err == nil {
		t.Fatal("removed the primary key")
	}
	if err := k.RemoveKey(key(1)); err != nil {
		t.Fatal(err)
	}
	if _, err := k.open(ad, old.seal(nil, ad, []byte("x"))); err == nil {
		t.Fatal("opened with a removed key")
	}
	if got := k.Keys(); len(got) != 1 || !bytes.Equal(got[0], key(2)) {
		t.Fatalf("keys %x", got)
	}
	if err := k.UseKey(key(3)); err == nil {
		t.Fatal("UseKey of a key never added")
	}
	if _, err := NewKeyring([]byte("short")); err == nil {
		t.Fatal("accepted a short key")
	}
}
