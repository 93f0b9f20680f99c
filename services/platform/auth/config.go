package auth

import (
	"crypto/ed25519"
	"errors"
	"fmt"
)

// KeyConfig says where the token signing key comes from: the key itself
// (PEM or base64, see ParsePrivateKey) or a file holding it. Exactly one is
// set. With prefix "GEMELLA_" the variables are GEMELLA_AUTH_PRIVATE_KEY and
// GEMELLA_AUTH_KEY_FILE.
type KeyConfig struct {
	KeyFile    string `env:"AUTH_KEY_FILE"`
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
