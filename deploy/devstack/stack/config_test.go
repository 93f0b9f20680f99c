package stack

import (
	"context"
	"net"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

func TestConfigHonoursEveryAddressVariable(t *testing.T) {
	t.Setenv("GEMELLA_HTTP_ADDR", "127.0.0.1:18080")
	t.Setenv("GEMELLA_CATALOG_ADDR", "127.0.0.1:19091")
	t.Setenv("GEMELLA_TWINNING_ADDR", "127.0.0.1:19092")
	t.Setenv("GEMELLA_DISCUSSION_ADDR", "127.0.0.1:19093")
	t.Setenv("GEMELLA_NOTIFICATION_ADDR", "127.0.0.1:19094")
	t.Setenv("GEMELLA_DEVSTACK_SMTP_ADDR", "127.0.0.1:12525")
	t.Setenv("GEMELLA_DEVSTACK_MAILBOX_ADDR", "127.0.0.1:18025")
	t.Setenv("GEMELLA_NATS_PORT", "14222")
	t.Setenv("GEMELLA_DEVSTACK_MONGO_ADDR", "127.0.0.1:37017")
	cfg, err := LoadConfig()
	if err != nil {
		t.Fatal(err)
	}
	got := cfg.Options("/data")
	want := Options{DataDir: "/data", HTTPAddr: "127.0.0.1:18080", CatalogAddr: "127.0.0.1:19091", TwinningAddr: "127.0.0.1:19092",
		DiscussionAddr: "127.0.0.1:19093", NotificationAddr: "127.0.0.1:19094", SMTPAddr: "127.0.0.1:12525", MailboxAddr: "127.0.0.1:18025",
		NATSPort: 14222, MongoAddr: "127.0.0.1:37017"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("options = %+v\nwant      %+v", got, want)
	}
}

func TestConfigDefaultsAndFreePorts(t *testing.T) {
	if got, want := (Config{}).Options("d"), DefaultOptions("d"); !reflect.DeepEqual(got, want) || got.HTTPAddr != DefaultHTTPAddr || got.NATSPort != DefaultNATSPort {
		t.Fatalf("no variable set: %+v, want the well-known ports %+v", got, want)
	}
	zero := 0
	for name, tc := range map[string]struct {
		cfg  Config
		want Options
	}{
		"every port free": {Config{FreePorts: true},
			Options{DataDir: "d", HTTPAddr: freeAddr, CatalogAddr: freeAddr, TwinningAddr: freeAddr, DiscussionAddr: freeAddr, NotificationAddr: freeAddr, SMTPAddr: freeAddr, MailboxAddr: freeAddr, NATSPort: 0}},
		"free, but the gateway where asked": {Config{FreePorts: true, HTTPAddr: "127.0.0.1:8181"},
			Options{DataDir: "d", HTTPAddr: "127.0.0.1:8181", CatalogAddr: freeAddr, TwinningAddr: freeAddr, DiscussionAddr: freeAddr, NotificationAddr: freeAddr, SMTPAddr: freeAddr, MailboxAddr: freeAddr, NATSPort: 0}},
		"NATS on a free port only": {Config{NATSPort: &zero},
			Options{DataDir: "d", HTTPAddr: DefaultHTTPAddr, CatalogAddr: DefaultCatalogAddr, TwinningAddr: DefaultTwinningAddr, DiscussionAddr: DefaultDiscussionAddr,
				NotificationAddr: DefaultNotificationAddr, SMTPAddr: DefaultSMTPAddr, MailboxAddr: DefaultMailboxAddr, NATSPort: 0}},
	} {
		if got := tc.cfg.Options("d"); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: %+v\nwant %+v", name, got, tc.want)
		}
	}
}

func TestConfigReportsEveryBadVariable(t *testing.T) {
	t.Setenv("GEMELLA_CATALOG_ADDR", "9091")
	t.Setenv("GEMELLA_NATS_PORT", "70000")
	t.Setenv("GEMELLA_DEVSTACK_FREE_PORTS", "perhaps")
	_, err := LoadConfig()
	if err == nil {
		t.Fatal("bad variables accepted")
	}
	// The parser names the field of a value it cannot read, not the variable.
	for _, want := range []string{"GEMELLA_CATALOG_ADDR", "GEMELLA_NATS_PORT", "FreePorts"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not name %s:\n%v", want, err)
		}
	}
}

// Two devstacks run side by side on free ports, each with its own data:
// both answer, on addresses of their own.
func TestTwoStacksSideBySideOnFreePorts(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two stacks")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	var stacks []*Stack
	for range 2 {
		opts := Config{FreePorts: true}.Options(t.TempDir())
		opts.Logger = testLogger()
		st, err := Start(ctx, opts)
		if err != nil {
			t.Fatalf("start a stack on free ports: %v", err)
		}
		t.Cleanup(func() {
			if err := st.Stop(); err != nil {
				t.Errorf("stop: %v", err)
			}
		})
		stacks = append(stacks, st)
	}
	a, b := stacks[0].URLs(), stacks[1].URLs()
	for _, pair := range [][2]string{{a.Gateway, b.Gateway}, {a.Catalog, b.Catalog}, {a.Twinning, b.Twinning}, {a.Discussion, b.Discussion}, {a.NATS, b.NATS}, {a.Mongo, b.Mongo}} {
		if pair[0] == pair[1] {
			t.Errorf("both stacks on %s", pair[0])
		}
	}
	for i, u := range []URLs{a, b} {
		// Start has waited for every service's gRPC health; the gateway
		// and NATS answer too.
		for _, path := range []string{"/readyz", "/v1/practices"} {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u.Gateway+path, nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("stack %d: GET %s: %v", i, path, err)
			}
			_ = resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("stack %d: GET %s: %s", i, path, resp.Status)
			}
		}
		nc, err := nats.Connect(u.NATS, nats.Timeout(5*time.Second))
		if err != nil {
			t.Fatalf("stack %d: NATS at %s: %v", i, u.NATS, err)
		}
		nc.Close()
	}
	t.Logf("stack 1: %s\nstack 2: %s", a, b)
}

// The gateway's free port is held from the moment it is chosen: nobody
// else can bind it before the gateway takes the listener over.
func TestReservePortHoldsTheFreePort(t *testing.T) {
	addr, ln, err := reservePort("127.0.0.1:0")
	if err != nil || ln == nil {
		t.Fatalf("reservePort: %v, listener %v", err, ln)
	}
	defer ln.Close()
	if other, err := net.Listen("tcp", addr); err == nil {
		other.Close()
		t.Fatalf("%s could be bound by another while reserved", addr)
	}
	if got, ln, err := reservePort("127.0.0.1:8181"); err != nil || ln != nil || got != "127.0.0.1:8181" {
		t.Errorf("a given port: %q, %v, %v; want it unchanged and nothing bound", got, ln, err)
	}
}
