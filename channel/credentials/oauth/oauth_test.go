package oauth

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestOauthAccess(t *testing.T) {
	c := NewOauthAccess(&Token{AccessToken: "abc"})
	md, err := c.GetRequestMetadata(context.Background(), "https://h/s")
	if err != nil || len(md) != 1 || md["authorization"] != "Bearer abc" {
		t.Fatalf("GetRequestMetadata = %v, %v", md, err)
	}
	if !c.RequireTransportSecurity() {
		t.Fatal("NewOauthAccess does not require transport security")
	}
	md, _ = NewOauthAccess(&Token{AccessToken: "x", TokenType: "MAC"}).GetRequestMetadata(context.Background())
	if md["authorization"] != "MAC x" {
		t.Fatalf("token type: %v", md)
	}
}

func TestValid(t *testing.T) {
	now := time.Now()
	for _, c := range []struct {
		t    *Token
		want bool
	}{
		{nil, false},
		{&Token{}, false},
		{&Token{AccessToken: "a"}, true},
		{&Token{AccessToken: "a", Expiry: now.Add(time.Hour)}, true},
		{&Token{AccessToken: "a", Expiry: now.Add(5 * time.Second)}, false},
		{&Token{AccessToken: "a", Expiry: now.Add(-time.Second)}, false},
	} {
		if got := c.t.Valid(); got != c.want {
			t.Errorf("%+v.Valid() = %v, want %v", c.t, got, c.want)
		}
	}
}

// TestReuseTokenSourceRefreshes checks that the provider is asked again
// exactly when the cached token has expired, and that its errors and
// empty tokens fail the call.
func TestReuseTokenSourceRefreshes(t *testing.T) {
	fetches := 0
	var next *Token
	var fail error
	src := TokenProviderFunc(func() (*Token, error) {
		fetches++
		return next, fail
	})
	next = &Token{AccessToken: "t1", Expiry: time.Now().Add(time.Hour)}
	ts := TokenSource{ReuseTokenSource(nil, src)}
	for range 3 {
		md, err := ts.GetRequestMetadata(context.Background())
		if err != nil || md["authorization"] != "Bearer t1" {
			t.Fatalf("GetRequestMetadata = %v, %v", md, err)
		}
	}
	if fetches != 1 {
		t.Fatalf("%d fetches for three calls with a valid token, want 1", fetches)
	}
	// Expire it: the next call fetches.
	r := ts.TokenProvider.(*reuse)
	r.t.Expiry = time.Now().Add(-time.Minute)
	next = &Token{AccessToken: "t2"}
	if md, err := ts.GetRequestMetadata(context.Background()); err != nil || md["authorization"] != "Bearer t2" || fetches != 2 {
		t.Fatalf("after expiry: %v, %v, %d fetches", md, err, fetches)
	}
	// Errors of the provider and tokens without an access token fail.
	r.t = nil
	fail = errors.New("down")
	if _, err := ts.GetRequestMetadata(context.Background()); !errors.Is(err, fail) {
		t.Fatalf("provider error: %v", err)
	}
	fail, next = nil, &Token{}
	if _, err := ts.GetRequestMetadata(context.Background()); err == nil {
		t.Fatal("an empty token was accepted")
	}
	if _, err := (TokenSource{}).GetRequestMetadata(context.Background()); err == nil {
		t.Fatal("a TokenSource without provider gave metadata")
	}
	if !ts.RequireTransportSecurity() {
		t.Fatal("TokenSource does not require transport security")
	}
}
