package auth

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
)

// KeyConfig says where the token signing key comes from: the key itself
// (PEM or base64, see ParsePrivateKey) or a file holding it. Exactly one is
// set. With prefix "GEMELLA_" the variables are GEMELLA_AUTH_PRIVATE_KEY and
// GEMELLA_AUTH_KEY_FILE.
type KeyConfig struct {
	// KeyFile is the path of a file holding the Ed25519 private key that
	// signs session tokens (PEM or base64); set this or the key itself.
	KeyFile string `env:"AUTH_KEY_FILE"`
	// PrivateKey is the Ed25519 private key that signs session tokens
	// (PEM or base64); set this or a file holding it.
	PrivateKey string `env:"AUTH_PRIVATE_KEY"`
}

// Validate checks that exactly one source is set and that the key loads, so
// that a service with a bad key fails at start.
func (c KeyConfig) Validate(prefix string) error {
	switch {
	case c.KeyFile == "" && c.PrivateKey == "":
		return fmt.Errorf("%sAUTH_PRIVATE_KEY or %sAUTH_KEY_FILE: one is required (an Ed25519 private key, PEM or base64, to sign session tokens)", prefix, prefix)
	case c.KeyFile != "" && c.PrivateKey != "":
		return fmt.Errorf("%sAUTH_PRIVATE_KEY and %sAUTH_KEY_FILE: set one, not both", prefix, prefix)
	}
	if _, err := c.SigningKey(); err != nil {
		name := prefix + "AUTH_PRIVATE_KEY"
		if c.KeyFile != "" {
			name = prefix + "AUTH_KEY_FILE"
		}
		// The key's text never goes into an error message.
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// SigningKey loads the private key.
func (c KeyConfig) SigningKey() (ed25519.PrivateKey, error) {
	if c.PrivateKey != "" {
		key, err := ParsePrivateKey([]byte(c.PrivateKey))
		if err != nil {
			return nil, errors.New("not an Ed25519 private key in PEM (PKCS#8) or base64")
		}
		return key, nil
	}
	if c.KeyFile == "" {
		return nil, errors.New("no token signing key configured")
	}
	return LoadKeyFile(c.KeyFile)
}

// VerifierConfig lists the public keys that verify session tokens. With
// prefix "GEMELLA_" the variable is GEMELLA_AUTH_PUBLIC_KEYS: comma-separated
// entries, each an Ed25519 public key written as PEM ("PUBLIC KEY", what
// `openssl pkey -pubout` writes) or as base64 of its 32 bytes, or the path
// of a file holding such a PEM block.
//
// Key rotation: the signing service (discussion) switches to a new private
// key while this list names the previous public key(s) next to the new one,
// so that tokens signed before the switch stay valid until they expire (the
// token lifetime, minutes); the old key is removed from the list after that.
type VerifierConfig struct {
	// PublicKeys are the Ed25519 public keys that verify session tokens,
	// comma-separated: PEM, base64, or a PEM file's path. During a key
	// rotation, the new key and the previous one(s).
	PublicKeys string `env:"AUTH_PUBLIC_KEYS"`
}

// Validate checks that every entry loads; with required, that there is at
// least one, so that a service that must verify tokens fails at start
// rather than treat every caller as anonymous.
func (c VerifierConfig) Validate(prefix string, required bool) error {
	name := prefix + "AUTH_PUBLIC_KEYS"
	keys, err := c.Keys()
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if required && len(keys) == 0 {
		return fmt.Errorf("%s: is required (the Ed25519 public key(s) that verify session tokens, PEM, base64 or a PEM file's path, comma-separated)", name)
	}
	return nil
}

// Keys parses the listed keys, in order; none when the list is empty.
func (c VerifierConfig) Keys() ([]ed25519.PublicKey, error) {
	var keys []ed25519.PublicKey
	var errs []error
	for i, entry := range strings.Split(c.PublicKeys, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		key, err := parsePublicKeyEntry(entry)
		if err != nil {
			// The entry's text is not repeated: it may be long, and it is
			// the operator's own configuration.
			errs = append(errs, fmt.Errorf("entry %d: %w", i+1, err))
			continue
		}
		keys = append(keys, key)
	}
	return keys, errors.Join(errs...)
}

// Verifier accepts tokens signed by the listed keys and by own (the
// signing service's current key, when it verifies its own tokens too).
func (c VerifierConfig) Verifier(own ...ed25519.PublicKey) (*Verifier, error) {
	keys, err := c.Keys()
	if err != nil {
		return nil, fmt.Errorf("token verifier: %w", err)
	}
	return NewVerifier(append(slices.Clone(own), keys...)...)
}

// parsePublicKeyEntry reads one entry: a key in PEM or base64, or the path
// of a file that holds one.
func parsePublicKeyEntry(entry string) (ed25519.PublicKey, error) {
	if !strings.HasPrefix(entry, "-----BEGIN") {
		if info, err := os.Stat(entry); err == nil && info.Mode().IsRegular() {
			text, err := os.ReadFile(entry)
			if err != nil {
				return nil, fmt.Errorf("read public key file: %w", err)
			}
			key, err := ParsePublicKey(text)
			if err != nil {
				return nil, fmt.Errorf("public key file %s: %w", entry, err)
			}
			return key, nil
		}
	}
	key, err := ParsePublicKey([]byte(entry))
	if err != nil {
		return nil, fmt.Errorf("neither an Ed25519 public key (PEM or base64) nor a readable file: %w", err)
	}
	return key, nil
}
