package gossip

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
)

// KeySize is the length of an encryption key: AES-256.
const KeySize = 32

const (
	nonceSize = 12
	tagSize   = 16
)

var errDecrypt = errors.New("gossip: no key authenticates the message")

// Keyring holds the shared keys of an encrypted cluster. Messages are sealed
// with the primary key and opened with whichever installed key
// authenticates them, so a key can be rotated without downtime: install the
// new key everywhere, make it primary everywhere, then remove the old one.
// A Keyring is safe for concurrent use.
type Keyring struct {
	mu      sync.RWMutex
	keys    [][KeySize]byte // keys[0] is the primary
	aeads   []cipher.AEAD
	primary cipher.AEAD
}

// NewKeyring returns a keyring whose primary key is primary, with further
// keys accepted for decryption.
func NewKeyring(primary []byte, others ...[]byte) (*Keyring, error) {
	k := &Keyring{}
	if err := k.AddKey(primary); err != nil {
		return nil, err
	}
	for _, o := range others {
		if err := k.AddKey(o); err != nil {
			return nil, err
		}
	}
	return k, nil
}

func toKey(b []byte) ([KeySize]byte, error) {
	var key [KeySize]byte
	if len(b) != KeySize {
		return key, fmt.Errorf("gossip: key is %d bytes, want %d (AES-256)", len(b), KeySize)
	}
	copy(key[:], b)
	return key, nil
}

func newAEAD(key [KeySize]byte) cipher.AEAD {
	block, err := aes.NewCipher(key[:])
	if err != nil {
		panic(err) // unreachable: the key length is checked
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return aead
}

// change parses a key and runs f under the lock with the key and its
// index among the installed keys, -1 if it is not installed.
func (k *Keyring) change(b []byte, f func(key [KeySize]byte, i int) error) error {
	key, err := toKey(b)
	if err != nil {
		return err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	i := -1
	for j, have := range k.keys {
		if have == key {
			i = j
			break
		}
	}
	return f(key, i)
}

// AddKey installs a key for decryption. The first key added becomes primary.
func (k *Keyring) AddKey(b []byte) error {
	return k.change(b, func(key [KeySize]byte, i int) error {
		if i < 0 {
			k.keys = append(k.keys, key)
			k.aeads = append(k.aeads, newAEAD(key))
			k.primary = k.aeads[0]
		}
		return nil
	})
}

// UseKey makes an installed key the primary one.
func (k *Keyring) UseKey(b []byte) error {
	return k.change(b, func(_ [KeySize]byte, i int) error {
		if i < 0 {
			return errors.New("gossip: UseKey: key is not installed; AddKey it first")
		}
		k.keys[0], k.keys[i] = k.keys[i], k.keys[0]
		k.aeads[0], k.aeads[i] = k.aeads[i], k.aeads[0]
		k.primary = k.aeads[0]
		return nil
	})
}

// RemoveKey removes a key. The primary key cannot be removed.
func (k *Keyring) RemoveKey(b []byte) error {
	return k.change(b, func(_ [KeySize]byte, i int) error {
		switch {
		case i < 0:
			return nil
		case i == 0:
			return errors.New("gossip: RemoveKey: cannot remove the primary key; UseKey another first")
		}
		k.keys = append(k.keys[:i], k.keys[i+1:]...)
		k.aeads = append(k.aeads[:i], k.aeads[i+1:]...)
		return nil
	})
}

// Keys returns copies of the installed keys, the primary first.
func (k *Keyring) Keys() [][]byte {
	k.mu.RLock()
	defer k.mu.RUnlock()
	out := make([][]byte, len(k.keys))
	for i := range k.keys {
		out[i] = append([]byte(nil), k.keys[i][:]...)
	}
	return out
}

// seal appends nonce, ciphertext and tag of body to dst, authenticating ad.
func (k *Keyring) seal(dst, ad, body []byte) []byte {
	k.mu.RLock()
	aead := k.primary
	k.mu.RUnlock()
	var nonce [nonceSize]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	dst = append(dst, nonce[:]...)
	return aead.Seal(dst, nonce[:], body, ad)
}

// open authenticates and decrypts a sealed body with any installed key.
func (k *Keyring) open(ad, sealed []byte) ([]byte, error) {
	if len(sealed) < nonceSize+tagSize {
		return nil, errShort
	}
	nonce, ct := sealed[:nonceSize], sealed[nonceSize:]
	k.mu.RLock()
	defer k.mu.RUnlock()
	for _, aead := range k.aeads {
		if pt, err := aead.Open(nil, nonce, ct, ad); err == nil {
			return pt, nil
		}
	}
	return nil, errDecrypt
}
