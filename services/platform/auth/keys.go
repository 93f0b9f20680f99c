package auth

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// GenerateKey makes a new Ed25519 signing key.
func GenerateKey() (ed25519.PrivateKey, error) {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate ed25519 key: %w", err)
	}
	return key, nil
}

// ParsePrivateKey reads an Ed25519 private key written as PEM (PKCS#8,
// "PRIVATE KEY", what `openssl genpkey -algorithm ed25519` writes) or as
// base64 of the 32-byte seed, the 64-byte key or the PKCS#8 DER.
func ParsePrivateKey(text []byte) (ed25519.PrivateKey, error) {
	trimmed := strings.TrimSpace(string(text))
	if trimmed == "" {
		return nil, errors.New("parse ed25519 private key: empty")
	}
	var der []byte
	if strings.HasPrefix(trimmed, "-----BEGIN") {
		block, _ := pem.Decode([]byte(trimmed))
		if block == nil {
			return nil, errors.New("parse ed25519 private key: malformed PEM")
		}
		if block.Type != "PRIVATE KEY" {
			return nil, fmt.Errorf("parse ed25519 private key: PEM block is %q, want \"PRIVATE KEY\" (PKCS#8)", block.Type)
		}
		der = block.Bytes
	} else {
		raw, err := decodeBase64(trimmed)
		if err != nil {
			return nil, fmt.Errorf("parse ed25519 private key: neither PEM nor base64: %w", err)
		}
		switch len(raw) {
		case ed25519.SeedSize:
			return ed25519.NewKeyFromSeed(raw), nil
		case ed25519.PrivateKeySize:
			key := ed25519.NewKeyFromSeed(raw[:ed25519.SeedSize])
			if !key.Equal(ed25519.PrivateKey(raw)) {
				return nil, errors.New("parse ed25519 private key: the public half does not match the seed")
			}
			return key, nil
		}
		der = raw
	}
	parsed, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("parse ed25519 private key: %w", err)
	}
	key, ok := parsed.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("parse ed25519 private key: the key is a %T, not Ed25519", parsed)
	}
	return key, nil
}

// ParsePublicKey reads an Ed25519 public key written as PEM (PKIX,
// "PUBLIC KEY") or as base64 of its 32 bytes.
func ParsePublicKey(text []byte) (ed25519.PublicKey, error) {
	trimmed := strings.TrimSpace(string(text))
	if strings.HasPrefix(trimmed, "-----BEGIN") {
		block, _ := pem.Decode([]byte(trimmed))
		if block == nil || block.Type != "PUBLIC KEY" {
			return nil, errors.New("parse ed25519 public key: want a PEM \"PUBLIC KEY\" block")
		}
		parsed, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parse ed25519 public key: %w", err)
		}
		key, ok := parsed.(ed25519.PublicKey)
		if !ok {
			return nil, fmt.Errorf("parse ed25519 public key: the key is a %T, not Ed25519", parsed)
		}
		return key, nil
	}
	raw, err := decodeBase64(trimmed)
	if err != nil {
		return nil, fmt.Errorf("parse ed25519 public key: neither PEM nor base64: %w", err)
	}
	if len(raw) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("parse ed25519 public key: %d bytes, want %d", len(raw), ed25519.PublicKeySize)
	}
	return ed25519.PublicKey(raw), nil
}

// MarshalPrivateKeyPEM writes key as a PKCS#8 PEM block.
func MarshalPrivateKeyPEM(key ed25519.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("marshal ed25519 private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// MarshalPublicKeyPEM writes key as a PKIX PEM block, for the services that
// only verify tokens.
func MarshalPublicKeyPEM(key ed25519.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(key)
	if err != nil {
		return nil, fmt.Errorf("marshal ed25519 public key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// KeyID names a public key: its RFC 7638 JWK thumbprint, so that the same
// key always has the same id and a JWKS document can be published later.
func KeyID(key ed25519.PublicKey) string {
	jwk := `{"crv":"Ed25519","kty":"OKP","x":"` + base64.RawURLEncoding.EncodeToString(key) + `"}`
	sum := sha256.Sum256([]byte(jwk))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// LoadKeyFile reads the private key stored at path.
func LoadKeyFile(path string) (ed25519.PrivateKey, error) {
	text, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read token signing key: %w", err)
	}
	key, err := ParsePrivateKey(text)
	if err != nil {
		return nil, fmt.Errorf("token signing key %s: %w", path, err)
	}
	return key, nil
}

// LoadOrCreateKeyFile reads the private key at path, or generates one and
// stores it there (PEM, mode 0600, its folder created 0700) when the file does
// not exist. The dev launcher uses it to keep one key in its data folder, so
// sessions survive a restart. The new file appears complete or not at all:
// it is written aside and linked into place, and if another process linked
// its own first, that one is used.
func LoadOrCreateKeyFile(path string) (ed25519.PrivateKey, error) {
	key, err := LoadKeyFile(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return key, err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create folder of the token signing key: %w", err)
	}
	key, err = GenerateKey()
	if err != nil {
		return nil, err
	}
	text, err := MarshalPrivateKeyPEM(key)
	if err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(dir, ".signing-key-*")
	if err != nil {
		return nil, fmt.Errorf("write token signing key: %w", err)
	}
	defer func() { _ = os.Remove(tmp.Name()) }()
	if err := tmp.Chmod(0o600); err != nil {
		_ = tmp.Close()
		return nil, fmt.Errorf("write token signing key: %w", err)
	}
	if _, err := tmp.Write(text); err != nil {
		_ = tmp.Close()
		return nil, fmt.Errorf("write token signing key: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		_ = tmp.Close()
		return nil, fmt.Errorf("write token signing key: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("write token signing key: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return LoadKeyFile(path)
		}
		return nil, fmt.Errorf("store token signing key at %s: %w", path, err)
	}
	return key, nil
}

func decodeBase64(s string) ([]byte, error) {
	s = strings.Join(strings.Fields(s), "")
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, errors.New("not base64")
}
