// Package devsecrets writes throw-away keys, certificates and passwords
// for trying the Compose and Kubernetes deployments: one private
// certificate authority and a certificate per component, the Ed25519 key
// that signs session tokens, the portal's CSRF key, and passwords. Files
// that exist are kept, so running it again changes nothing and an
// operator's own files win. For production, put your own files under the
// same names (or let a certificate manager write the Secrets).
package devsecrets

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"time"
)

// Layout says which deployment the files are for.
type Layout int

const (
	// Compose: deploy/compose/secrets, names as compose.yaml's secrets.
	Compose Layout = iota
	// Kubernetes: deploy/k8s/secrets, names as kustomization.yaml's generators.
	Kubernetes
)

// Component is one process that gets a certificate, with the names it is
// reached by.
type Component struct {
	Name  string
	Hosts []string
}

// Components lists who gets a certificate in each layout, with the
// names other processes dial them by.
func Components(l Layout) []Component {
	if l == Compose {
		return []Component{
			{"practice-catalog", []string{"catalog", "localhost"}},
			{"twinning", []string{"twinning", "localhost"}},
			{"discussion", []string{"discussion", "localhost"}},
			{"notification", []string{"notification", "localhost"}},
			{"gateway", []string{"gateway", "localhost"}},
			{"nats", []string{"nats1", "nats2", "nats3", "localhost"}},
			{"mongo", []string{"mongo1", "mongo2", "mongo3", "localhost"}},
		}
	}
	const ns = "gemella.svc.cluster.local"
	headless := func(svc string) []string {
		return []string{svc + "-headless." + ns, "*." + svc + "-headless." + ns, svc + "-headless"}
	}
	return []Component{
		{"practice-catalog", headless("practice-catalog")},
		{"twinning", headless("twinning")},
		{"discussion", headless("discussion")},
		{"notification", headless("notification")},
		{"gateway", []string{"gateway." + ns, "gateway"}},
		{"nats", append(headless("nats"), "nats-0.nats-headless."+ns, "nats-1.nats-headless."+ns, "nats-2.nats-headless."+ns)},
		{"mongo", []string{"mongo-0.mongo." + ns, "mongo-1.mongo." + ns, "mongo-2.mongo." + ns, "*.mongo." + ns, "localhost"}},
	}
}

// Passwords lists the password files of a layout.
func Passwords(l Layout) []string {
	if l == Compose {
		return nil
	}
	return []string{
		"mongo-root-password", "mongo-practice-catalog-password", "mongo-twinning-password", "mongo-discussion-password", "mongo-notification-password",
		"nats-practice-catalog-password", "nats-twinning-password", "nats-discussion-password", "nats-notification-password", "nats-gateway-password",
	}
}

// Files lists every file Write makes for a layout, by name.
func Files(l Layout) []string {
	files := []string{"ca.crt", "ca.key", "session.pem", "session.pub.pem", "csrf-key", "unsubscribe-key"}
	for _, c := range Components(l) {
		files = append(files, c.Name+".crt", c.Name+".key")
		if c.Name == "mongo" && l == Compose {
			files = append(files, "mongo.pem")
		}
	}
	files = append(files, Passwords(l)...)
	if l == Kubernetes {
		files = append(files, "mongo-keyfile")
	}
	return files
}

// Write makes the files of layout l in dir that are missing.
func Write(dir string, l Layout) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	// Compose bind-mounts these files into containers whose users
	// (mongodb, nonroot) are not the host's: they must be readable.
	mode := fs.FileMode(0o600)
	if l == Compose {
		mode = 0o644
	}
	w := writer{dir: dir, mode: mode}
	ca, caKey, err := w.authority()
	if err != nil {
		return err
	}
	for _, c := range Components(l) {
		if err := w.certificate(c, ca, caKey, l == Compose && c.Name == "mongo"); err != nil {
			return err
		}
	}
	if err := w.sessionKey(); err != nil {
		return err
	}
	if err := w.missing("csrf-key", func() ([]byte, error) { return randomHex(32) }); err != nil {
		return err
	}
	if err := w.missing("unsubscribe-key", func() ([]byte, error) { return randomHex(32) }); err != nil {
		return err
	}
	for _, p := range Passwords(l) {
		if err := w.missing(p, func() ([]byte, error) { return randomHex(24) }); err != nil {
			return err
		}
	}
	if l == Kubernetes {
		// MongoDB's key file: base64, 6 to 1024 characters.
		if err := w.missing("mongo-keyfile", func() ([]byte, error) {
			b := make([]byte, 256)
			if _, err := rand.Read(b); err != nil {
				return nil, err
			}
			return []byte(base64.StdEncoding.EncodeToString(b)), nil
		}); err != nil {
			return err
		}
	}
	return nil
}

type writer struct {
	dir  string
	mode fs.FileMode
}

func (w writer) path(name string) string { return filepath.Join(w.dir, name) }

func (w writer) exists(name string) bool {
	_, err := os.Stat(w.path(name))
	return err == nil
}

func (w writer) missing(name string, make func() ([]byte, error)) error {
	if w.exists(name) {
		return nil
	}
	b, err := make()
	if err != nil {
		return fmt.Errorf("make %s: %w", name, err)
	}
	return os.WriteFile(w.path(name), b, w.mode)
}

func (w writer) authority() (*x509.Certificate, *ecdsa.PrivateKey, error) {
	if w.exists("ca.crt") && w.exists("ca.key") {
		return readPair(w.path("ca.crt"), w.path("ca.key"))
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "Gemella private CA (throw-away)"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().AddDate(2, 0, 0),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	if err := w.writePEM("ca.crt", "CERTIFICATE", der, 0o644); err != nil {
		return nil, nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	// The authority's key stays with whoever runs this, never in a container.
	if err := w.writePEM("ca.key", "PRIVATE KEY", keyDER, 0o600); err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	return cert, key, err
}

// certificate issues c a certificate for serving and for calling others
// (serverAuth and clientAuth); combined also writes certificate and key in
// one file, as mongod wants them.
func (w writer) certificate(c Component, ca *x509.Certificate, caKey *ecdsa.PrivateKey, combined bool) error {
	if w.exists(c.Name+".crt") && w.exists(c.Name+".key") && (!combined || w.exists(c.Name+".pem")) {
		return nil
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: c.Name},
		DNSNames:     c.Hosts,
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().AddDate(1, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return fmt.Errorf("certificate for %s: %w", c.Name, err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	if err := w.writePEM(c.Name+".crt", "CERTIFICATE", der, 0o644); err != nil {
		return err
	}
	if err := w.writePEM(c.Name+".key", "PRIVATE KEY", keyDER, w.mode); err != nil {
		return err
	}
	if combined {
		both := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})...)
		return os.WriteFile(w.path(c.Name+".pem"), both, w.mode)
	}
	return nil
}

func (w writer) sessionKey() error {
	if w.exists("session.pem") && w.exists("session.pub.pem") {
		return nil
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	privDER, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return err
	}
	pubDER, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return err
	}
	if err := w.writePEM("session.pem", "PRIVATE KEY", privDER, w.mode); err != nil {
		return err
	}
	return w.writePEM("session.pub.pem", "PUBLIC KEY", pubDER, 0o644)
}

func (w writer) writePEM(name, typ string, der []byte, mode fs.FileMode) error {
	return os.WriteFile(w.path(name), pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), mode)
}

func readPair(certFile, keyFile string) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, nil, err
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, nil, err
	}
	cb, _ := pem.Decode(certPEM)
	kb, _ := pem.Decode(keyPEM)
	if cb == nil || kb == nil {
		return nil, nil, fmt.Errorf("%s or %s: no PEM block", certFile, keyFile)
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, nil, err
	}
	k, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
	if err != nil {
		return nil, nil, err
	}
	ec, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return nil, nil, errors.New(keyFile + ": the authority's key must be ECDSA")
	}
	return cert, ec, nil
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return n
}

func randomHex(n int) ([]byte, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	return []byte(hex.EncodeToString(b)), nil
}
