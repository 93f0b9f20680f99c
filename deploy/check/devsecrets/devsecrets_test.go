package devsecrets_test

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"

	"github.com/gemella/gemella/deploy/check/devsecrets"
)

func TestWriteMakesCertificatesForTheNamesDialled(t *testing.T) {
	dials := map[devsecrets.Layout]map[string]string{
		devsecrets.Kubernetes: {
			"practice-catalog": "practice-catalog-headless.gemella.svc.cluster.local",
			"twinning":         "twinning-headless.gemella.svc.cluster.local",
			"discussion":       "discussion-headless.gemella.svc.cluster.local",
			"nats":             "nats-2.nats-headless.gemella.svc.cluster.local",
			"mongo":            "mongo-1.mongo.gemella.svc.cluster.local",
		},
		devsecrets.Compose: {"practice-catalog": "catalog", "twinning": "twinning", "discussion": "discussion", "nats": "nats3", "mongo": "mongo2"},
	}
	for layout, names := range dials {
		dir := t.TempDir()
		if err := devsecrets.Write(dir, layout); err != nil {
			t.Fatal(err)
		}
		for _, f := range devsecrets.Files(layout) {
			if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
				t.Errorf("layout %d: %s not written", layout, f)
			}
		}
		roots := x509.NewCertPool()
		caPEM, err := os.ReadFile(filepath.Join(dir, "ca.crt"))
		if err != nil || !roots.AppendCertsFromPEM(caPEM) {
			t.Fatalf("ca.crt: %v", err)
		}
		for component, host := range names {
			pair, err := tls.LoadX509KeyPair(filepath.Join(dir, component+".crt"), filepath.Join(dir, component+".key"))
			if err != nil {
				t.Fatal(err)
			}
			leaf, err := x509.ParseCertificate(pair.Certificate[0])
			if err != nil {
				t.Fatal(err)
			}
			for _, usage := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
				if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: host, KeyUsages: []x509.ExtKeyUsage{usage}}); err != nil {
					t.Errorf("layout %d: %s's certificate for %s (usage %v): %v", layout, component, host, usage, err)
				}
			}
		}
	}
}

func TestWriteKeepsExistingFiles(t *testing.T) {
	dir := t.TempDir()
	if err := devsecrets.Write(dir, devsecrets.Kubernetes); err != nil {
		t.Fatal(err)
	}
	before := map[string][]byte{}
	for _, f := range devsecrets.Files(devsecrets.Kubernetes) {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		before[f] = b
	}
	if err := os.Remove(filepath.Join(dir, "twinning.crt")); err != nil {
		t.Fatal(err)
	}
	if err := devsecrets.Write(dir, devsecrets.Kubernetes); err != nil {
		t.Fatal(err)
	}
	for f, b := range before {
		after, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		changed := !bytes.Equal(b, after)
		if f == "twinning.crt" || f == "twinning.key" {
			if !changed {
				t.Errorf("%s was not made again", f)
			}
		} else if changed {
			t.Errorf("%s was replaced", f)
		}
	}
}
