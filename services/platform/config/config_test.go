package config

import (
	"strings"
	"testing"
	"time"
)

type sample struct {
	GRPC  GRPCServer `envPrefix:"GEMELLA_X_"`
	Mongo Mongo      `envPrefix:"GEMELLA_X_"`
	NATS  NATS       `envPrefix:"GEMELLA_"`
}

func (s *sample) Validate() error {
	var p Problems
	p.Add(s.GRPC.Validate("GEMELLA_X_"))
	p.Add(s.Mongo.Validate("GEMELLA_X_"))
	p.Add(s.NATS.Validate("GEMELLA_"))
	return p.Err()
}

func TestLoadReportsEveryProblemAtOnce(t *testing.T) {
	t.Setenv("GEMELLA_X_GRPC_ADDR", "nohostport")
	t.Setenv("GEMELLA_X_GRPC_DEFAULT_DEADLINE", "soon") // unparsable
	t.Setenv("GEMELLA_X_MONGO_URI", "http://x")
	t.Setenv("GEMELLA_NATS_STREAM_REPLICAS", "9")
	var cfg sample
	err := Load(&cfg)
	if err == nil {
		t.Fatal("want an error")
	}
	for _, want := range []string{"GRPC_DEFAULT_DEADLINE", "GEMELLA_X_GRPC_ADDR", "GEMELLA_X_MONGO_URI", "GEMELLA_X_MONGO_DATABASE", "GEMELLA_NATS_STREAM_REPLICAS"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %s:\n%v", want, err)
		}
	}
}

func TestLoadDefaults(t *testing.T) {
	t.Setenv("GEMELLA_X_GRPC_ADDR", "127.0.0.1:9999")
	t.Setenv("GEMELLA_X_MONGO_DATABASE", "x")
	var cfg sample
	if err := Load(&cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.GRPC.DefaultDeadline != 10*time.Second || cfg.NATS.URL != "nats://127.0.0.1:4222" || cfg.Mongo.URI != "mongodb://127.0.0.1:27017" {
		t.Fatalf("defaults not applied: %+v", cfg)
	}
}

func TestDefaultsKeepPresetFields(t *testing.T) {
	t.Setenv("GEMELLA_NATS_URL", "nats://elsewhere:1")
	cfg := sample{GRPC: GRPCServer{Addr: "127.0.0.1:1"}}
	Defaults(&cfg)
	if cfg.GRPC.Addr != "127.0.0.1:1" || cfg.GRPC.DefaultDeadline != 10*time.Second || cfg.NATS.URL != "nats://127.0.0.1:4222" {
		t.Fatalf("defaults: %+v", cfg)
	}
}
