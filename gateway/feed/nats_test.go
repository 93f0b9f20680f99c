package feed

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	discussionv1 "github.com/gemella/gemella/proto/gemella/discussion/v1"
	eventsv1 "github.com/gemella/gemella/proto/gemella/events/v1"
	"github.com/gemella/gemella/services/platform/config"
	"github.com/gemella/gemella/services/platform/events"
)

// natsWithPassword runs a NATS server with JetStream that lets in only
// the user gemella with password secret.
func natsWithPassword(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("runs a NATS server")
	}
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(),
		Username: "gemella", Password: "secret", NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	t.Cleanup(ns.Shutdown)
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats not ready")
	}
	return ns.ClientURL()
}

// The live feed connects with the credentials the services use
// (GEMELLA_NATS_USER and _PASSWORD here): without them the server refuses
// the hub, with them the hub streams the services' events.
func TestTheFeedConnectsWithTheServicesCredentials(t *testing.T) {
	url := natsWithPassword(t)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))

	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	_, err := NewHub(ctx, Config{NATSURL: url, Logger: quiet})
	cancel()
	if err == nil {
		t.Fatal("the hub started on a NATS server that requires a password, without one")
	}

	nc, err := nats.Connect(url, nats.UserInfo("gemella", "secret"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, _ := jetstream.New(nc)
	for name, subj := range map[string]string{"CATALOG": "catalog.>", "TWINNING": "twinning.>", "DISCUSSION": "discussion.>"} {
		if _, err := events.EnsureStream(t.Context(), js, events.StreamConfig{Name: name, Subjects: []string{subj}}); err != nil {
			t.Fatal(err)
		}
	}
	hub, err := NewHub(t.Context(), Config{NATSURL: url, Auth: NATSAuth{User: "gemella", Password: "secret"}, Logger: quiet})
	if err != nil {
		t.Fatalf("hub with the credentials: %v", err)
	}
	runCtx, stop := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { _ = hub.Run(runCtx); close(done) }()
	srv := httptest.NewServer(hub)
	t.Cleanup(func() { stop(); <-done; srv.Close() })

	c := connect(t, srv.URL, 0)
	w := &world{js: js}
	w.publish(t, "discussion.member.joined", "m1", &eventsv1.MemberJoined{Member: &discussionv1.Member{Id: "m1", DisplayName: "Giulia"}})
	if ev := c.next(t); ev.Type != "discussion.member.joined" {
		t.Fatalf("feed event %+v, want the member who joined", ev)
	}
}

// The feed's credentials and TLS are checked as the services' are, naming
// the variables.
func TestTheFeedsNATSSettingsAreValidated(t *testing.T) {
	for _, tt := range []struct {
		name string
		auth NATSAuth
		want string
	}{
		{"user without password", NATSAuth{User: "gemella"}, "GEMELLA_NATS_PASSWORD"},
		{"two kinds of credentials", NATSAuth{User: "gemella", Password: "p", NKeySeedFile: "/nonexistent/seed"}, "one kind of NATS credentials"},
		{"certificate without key", NATSAuth{TLS: config.ClientTLS{CertFile: "/nonexistent/cert.pem"}}, "GEMELLA_NATS_TLS_KEY_FILE"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.auth.NATS("nats://127.0.0.1:4222", 1).Validate("GEMELLA_")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("validate: %v, want an error naming %s", err, tt.want)
			}
		})
	}
	if err := (NATSAuth{}).NATS("nats://127.0.0.1:4222", 1).Validate("GEMELLA_"); err != nil {
		t.Fatalf("no credentials, no TLS: %v", err)
	}
	_, err := NewHub(t.Context(), Config{NATSURL: "nats://127.0.0.1:1", Auth: NATSAuth{NKeySeedFile: "/nonexistent/seed"}})
	if err == nil || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a hub with an unreadable nkey seed: %v, want the seed's error at once", err)
	}
}
