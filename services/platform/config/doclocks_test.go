package config

import (
	"strings"
	"testing"
)

// The old boolean values keep their meaning, so that deploy files and the
// topology test (MONGO_DOC_LOCKS=true: leases) need no change.
func TestDocLocksModes(t *testing.T) {
	for value, want := range map[string]DocLockMode{
		"": DocLocksOff, "off": DocLocksOff, "false": DocLocksOff,
		"process": DocLocksProcess, "Process": DocLocksProcess,
		"lease": DocLocksLease, "true": DocLocksLease,
	} {
		t.Run(value, func(t *testing.T) {
			t.Setenv("GEMELLA_X_GRPC_ADDR", "127.0.0.1:9999")
			t.Setenv("GEMELLA_X_MONGO_DATABASE", "x")
			t.Setenv("GEMELLA_X_MONGO_DOC_LOCKS", value)
			var cfg sample
			if err := Load(&cfg); err != nil {
				t.Fatal(err)
			}
			if cfg.Mongo.DocLocks != want {
				t.Fatalf("MONGO_DOC_LOCKS=%q read as %q, want %q", value, cfg.Mongo.DocLocks, want)
			}
			if cfg.Mongo.DocLocks.On() != (want != DocLocksOff) || cfg.Mongo.DocLocks.Leases() != (want == DocLocksLease) {
				t.Fatalf("%q: On %v, Leases %v", want, cfg.Mongo.DocLocks.On(), cfg.Mongo.DocLocks.Leases())
			}
		})
	}
}

func TestDocLocksRefusesOtherValues(t *testing.T) {
	t.Setenv("GEMELLA_X_GRPC_ADDR", "127.0.0.1:9999")
	t.Setenv("GEMELLA_X_MONGO_DATABASE", "x")
	t.Setenv("GEMELLA_X_MONGO_DOC_LOCKS", "sometimes")
	var cfg sample
	err := Load(&cfg)
	if err == nil || !strings.Contains(err.Error(), "MONGO_DOC_LOCKS") || !strings.Contains(err.Error(), "off, process, lease") {
		t.Fatalf("want an error naming MONGO_DOC_LOCKS and its values, got %v", err)
	}
	if err := (Mongo{URI: "mongodb://x:1", Database: "x", Timeout: 1, DocLocks: "maybe"}).Validate("P_"); err == nil || !strings.Contains(err.Error(), "P_MONGO_DOC_LOCKS") {
		t.Fatalf("Validate: want an error naming P_MONGO_DOC_LOCKS, got %v", err)
	}
}
