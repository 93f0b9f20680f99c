package auth_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/gemella/gemella/services/platform/auth"
	"github.com/gemella/gemella/services/platform/embedded"
)

func TestVerifierRefusesRevokedSessions(t *testing.T) {
	key, _ := auth.GenerateKey()
	issuer, _ := auth.NewIssuer(key, time.Hour)
	token, _, err := issuer.Issue(auth.Caller{MemberID: "m1", SessionID: "s-1", SessionStartedAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	other, _, _ := issuer.Issue(auth.Caller{MemberID: "m1", SessionID: "s-2", SessionStartedAt: time.Now()})
	revoked := auth.NewRevocations()
	v, _ := auth.NewVerifier(issuer.PublicKey())
	v = v.WithRevocations(revoked)
	if _, err := v.Verify(token); err != nil {
		t.Fatalf("before the revocation: %v", err)
	}
	revoked.Add("s-1", time.Now().Add(time.Hour))
	if _, err := v.Verify(token); !errors.Is(err, auth.ErrSessionEnded) || !errors.Is(err, auth.ErrInvalidToken) {
		t.Fatalf("after the revocation: %v", err)
	}
	if _, err := v.Verify(other); err != nil {
		t.Errorf("another session is refused: %v", err)
	}
	// An entry whose time has passed refuses nothing (the token expired).
	revoked.Add("s-2", time.Now().Add(-time.Second))
	if _, err := v.Verify(other); err != nil {
		t.Errorf("an expired revocation still refuses: %v", err)
	}
}

// Revocations put in the bucket reach a watcher, those put before it
// started included, session ids of any characters too.
func TestRevocationsTravelThroughTheBucket(t *testing.T) {
	ns := embedded.NATSForTest(t)
	nc, err := nats.Connect(ns.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	kv, err := auth.OpenRevocations(ctx, js, 1)
	if err != nil {
		t.Fatal(err)
	}
	until := time.Now().Add(time.Hour)
	if err := auth.Revoke(ctx, kv, "before-watch", until); err != nil {
		t.Fatal(err)
	}
	list := auth.NewRevocations()
	watchCtx, stopWatch := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- auth.WatchRevocations(watchCtx, kv, list) }()
	for _, id := range []string{"after-watch", "odd id/with spaces.and dots"} {
		if err := auth.Revoke(ctx, kv, id, until); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range []string{"before-watch", "after-watch", "odd id/with spaces.and dots"} {
		for !list.Revoked(id) {
			select {
			case <-ctx.Done():
				t.Fatalf("%q never reached the watcher", id)
			case <-time.After(5 * time.Millisecond):
			}
		}
	}
	if list.Revoked("never") {
		t.Error("an unknown session is revoked")
	}
	stopWatch()
	if err := <-done; err != nil {
		t.Errorf("watch: %v", err)
	}
}
