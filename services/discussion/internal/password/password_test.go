package password

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestHashAndVerify(t *testing.T) {
	h, err := New(Recommended, 2)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	encoded, err := h.Hash(ctx, "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(encoded, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("not a PHC string with the parameters: %s", encoded)
	}
	if again, _ := h.Hash(ctx, "correct horse battery staple"); again == encoded {
		t.Fatal("two hashes of one password are equal: the salt is not random")
	}
	if ok, rehash, err := h.Verify(ctx, "correct horse battery staple", encoded); !ok || rehash || err != nil {
		t.Fatalf("right password: %v %v %v", ok, rehash, err)
	}
	if ok, _, err := h.Verify(ctx, "Correct horse battery staple", encoded); ok || err != nil {
		t.Fatalf("wrong password: %v %v", ok, err)
	}
	if err := h.VerifyNothing(ctx, "whatever"); err != nil {
		t.Fatal(err)
	}
}

func TestStrongerParametersAskForARehash(t *testing.T) {
	ctx := context.Background()
	old, _ := New(Params{MemoryKiB: 12 * 1024, Iterations: 3, Parallelism: 1}, 1)
	encoded, _ := old.Hash(ctx, "una password lunga")
	current, _ := New(Recommended, 1)
	ok, rehash, err := current.Verify(ctx, "una password lunga", encoded)
	if !ok || !rehash || err != nil {
		t.Fatalf("old hash with new parameters: match %v rehash %v err %v", ok, rehash, err)
	}
}

func TestParametersBelowOWASPAreRefused(t *testing.T) {
	for _, p := range []Params{
		{MemoryKiB: 64 * 1024, Iterations: 0, Parallelism: 1},
		{MemoryKiB: 19 * 1024, Iterations: 1, Parallelism: 1},
		{MemoryKiB: 16 * 1024, Iterations: 2, Parallelism: 1},
		{MemoryKiB: 4096, Iterations: 10, Parallelism: 1},
		{MemoryKiB: 19 * 1024, Iterations: 2, Parallelism: 0},
	} {
		if err := p.Validate(); err == nil {
			t.Errorf("%v accepted", p)
		}
	}
	for _, p := range []Params{Recommended, {MemoryKiB: 46 * 1024, Iterations: 1, Parallelism: 1}, {MemoryKiB: 64 * 1024, Iterations: 3, Parallelism: 4}} {
		if err := p.Validate(); err != nil {
			t.Errorf("%v refused: %v", p, err)
		}
	}
}

func TestMalformedHashes(t *testing.T) {
	h, _ := New(Recommended, 1)
	for _, encoded := range []string{
		"", "plain", "$2a$10$abcdefghijklmnopqrstuv", "$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=4194304,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=19456,t=2,p=1$!!$aGFzaGhhc2hoYXNoaGFzaA",
	} {
		if _, _, err := h.Verify(context.Background(), "pw", encoded); !errors.Is(err, ErrMalformed) {
			t.Errorf("Verify(%q) = %v, want ErrMalformed", encoded, err)
		}
	}
}

func TestHashingWaitsForASlot(t *testing.T) {
	h, _ := New(Recommended, 1)
	release, _ := h.acquire(context.Background())
	defer release()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := h.Hash(ctx, "password lunga abbastanza"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("hash with every slot taken: %v", err)
	}
}
