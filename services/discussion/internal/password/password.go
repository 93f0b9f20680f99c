// Package password hashes and checks passwords with argon2id
// (golang.org/x/crypto/argon2), storing the parameters with each hash in
// the PHC string form:
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt, base64>$<hash, base64>
//
// so that stronger parameters can be adopted later: a hash made with
// weaker ones is verified with its own and replaced at the next log-in.
package password

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Params are the argon2id cost parameters.
type Params struct {
	// MemoryKiB is the memory one hash uses, in KiB.
	MemoryKiB   uint32
	Iterations  uint32
	Parallelism uint8
}

// Recommended is the OWASP Password Storage Cheat Sheet's first argon2id
// configuration: 19 MiB, two passes, one lane.
var Recommended = Params{MemoryKiB: 19 * 1024, Iterations: 2, Parallelism: 1}

// owaspMinimumMemoryKiB lists OWASP's equivalent argon2id configurations
// (one lane): the memory each number of passes needs at least.
var owaspMinimumMemoryKiB = map[uint32]uint32{1: 46 * 1024, 2: 19 * 1024, 3: 12 * 1024, 4: 9 * 1024, 5: 7 * 1024}

// Sizes of what is stored.
const (
	saltBytes = 16
	keyBytes  = 32
)

// Bounds on parameters read from a stored hash, so that a corrupt record
// cannot make one log-in take gigabytes or minutes.
const (
	maxMemoryKiB   = 1 << 20
	maxIterations  = 64
	maxParallelism = 32
)

// Validate refuses parameters below the OWASP recommendation.
func (p Params) Validate() error {
	var errs []error
	if p.Iterations < 1 {
		errs = append(errs, errors.New("iterations must be at least 1"))
	}
	if p.Parallelism < 1 {
		errs = append(errs, errors.New("parallelism must be at least 1"))
	}
	if p.MemoryKiB > maxMemoryKiB || p.Iterations > maxIterations || p.Parallelism > maxParallelism {
		errs = append(errs, fmt.Errorf("at most %d KiB, %d iterations, %d lanes", maxMemoryKiB, maxIterations, maxParallelism))
	}
	if p.Iterations >= 1 {
		need := owaspMinimumMemoryKiB[min(p.Iterations, 5)]
		if p.MemoryKiB < need {
			errs = append(errs, fmt.Errorf("%d KiB with %d iterations is below the OWASP minimum for argon2id (%d KiB with %d iterations; e.g. m=19456,t=2,p=1)", p.MemoryKiB, p.Iterations, need, p.Iterations))
		}
	}
	return errors.Join(errs...)
}

func (p Params) String() string {
	return fmt.Sprintf("argon2id m=%d KiB (%.1f MiB), t=%d, p=%d", p.MemoryKiB, float64(p.MemoryKiB)/1024, p.Iterations, p.Parallelism)
}

// Hasher hashes and verifies passwords. At most maxConcurrent hashes run at
// once: each takes MemoryKiB of memory, and a burst of log-ins must not take
// all of it. The others wait their turn (or for their context to end).
type Hasher struct {
	params Params
	slots  chan struct{}
	// dummy is a hash of a random password, for VerifyNothing.
	dummy string
}

// New makes a hasher with params; maxConcurrent < 1 means 1. It hashes
// once, to have the hash VerifyNothing checks against.
func New(params Params, maxConcurrent int) (*Hasher, error) {
	if err := params.Validate(); err != nil {
		return nil, fmt.Errorf("password hashing parameters: %w", err)
	}
	h := &Hasher{params: params, slots: make(chan struct{}, max(maxConcurrent, 1))}
	random := make([]byte, 32)
	if _, err := rand.Read(random); err != nil {
		return nil, fmt.Errorf("password hasher: %w", err)
	}
	dummy, err := h.Hash(context.Background(), base64.RawStdEncoding.EncodeToString(random))
	if err != nil {
		return nil, err
	}
	h.dummy = dummy
	return h, nil
}

// Params are the parameters of new hashes.
func (h *Hasher) Params() Params { return h.params }

func (h *Hasher) acquire(ctx context.Context) (release func(), err error) {
	select {
	case h.slots <- struct{}{}:
		return func() { <-h.slots }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("wait to hash a password: %w", ctx.Err())
	}
}

// Hash returns the PHC string of a new hash of password with a fresh salt.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	salt := make([]byte, saltBytes)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	release, err := h.acquire(ctx)
	if err != nil {
		return "", err
	}
	defer release()
	key := argon2.IDKey([]byte(password), salt, h.params.Iterations, h.params.MemoryKiB, h.params.Parallelism, keyBytes)
	return encode(h.params, salt, key), nil
}

// Verify reports whether password matches the PHC string encoded, and
// whether encoded was made with other parameters than the current ones (so
// the caller should store a new hash). The comparison takes constant time.
func (h *Hasher) Verify(ctx context.Context, password, encoded string) (match, rehash bool, err error) {
	params, salt, want, err := decode(encoded)
	if err != nil {
		return false, false, err
	}
	release, err := h.acquire(ctx)
	if err != nil {
		return false, false, err
	}
	defer release()
	got := argon2.IDKey([]byte(password), salt, params.Iterations, params.MemoryKiB, params.Parallelism, uint32(len(want)))
	if subtle.ConstantTimeCompare(got, want) != 1 {
		return false, false, nil
	}
	return true, params != h.params || len(salt) != saltBytes || len(want) != keyBytes, nil
}

// VerifyNothing spends what a Verify against a current hash spends, for a
// log-in whose e-mail nobody registered: both answers take the same time.
func (h *Hasher) VerifyNothing(ctx context.Context, password string) error {
	_, _, err := h.Verify(ctx, password, h.dummy)
	return err
}

func encode(p Params, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.MemoryKiB, p.Iterations, p.Parallelism,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// ErrMalformed is returned for a stored hash that is not an argon2id PHC
// string this package can check.
var ErrMalformed = errors.New("stored password hash is not an argon2id PHC string")

func decode(encoded string) (Params, []byte, []byte, error) {
	parts := strings.Split(encoded, "$")
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, hash
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return Params{}, nil, nil, ErrMalformed
	}
	var p Params
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, _ := strings.Cut(kv, "=")
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return Params{}, nil, nil, ErrMalformed
		}
		switch k {
		case "m":
			p.MemoryKiB = uint32(n)
		case "t":
			p.Iterations = uint32(n)
		case "p":
			if n > 255 {
				return Params{}, nil, nil, ErrMalformed
			}
			p.Parallelism = uint8(n)
		default:
			return Params{}, nil, nil, ErrMalformed
		}
	}
	if p.MemoryKiB < 8*uint32(p.Parallelism) || p.MemoryKiB > maxMemoryKiB || p.Iterations < 1 || p.Iterations > maxIterations || p.Parallelism < 1 || p.Parallelism > maxParallelism {
		return Params{}, nil, nil, fmt.Errorf("%w: parameters out of bounds", ErrMalformed)
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil || len(salt) < 8 {
		return Params{}, nil, nil, ErrMalformed
	}
	key, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil || len(key) < 16 || len(key) > 64 {
		return Params{}, nil, nil, ErrMalformed
	}
	return p, salt, key, nil
}
