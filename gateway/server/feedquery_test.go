package server

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gemella/gemella/services/platform/embedded"
)

// The live feed is the gateway's own route, not a gRPC method: its query
// is checked as the other routes' are, a 400 naming the parameter in the
// gateway's one error body, before any stream opens; a good query opens
// the stream.
func TestTheFeedChecksItsQuery(t *testing.T) {
	cfg := DefaultConfig()
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.CatalogAddr, cfg.TwinningAddr, cfg.DiscussionAddr, cfg.NotificationAddr = BackendDisabled, BackendDisabled, BackendDisabled, BackendDisabled
	cfg.NATSURL = embedded.NATSForTest(t).URL()
	srv, err := New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done; _ = srv.Close() })
	base := "http://" + srv.Addr()

	for query, field := range map[string]string{
		"bogus=1":                     `"field":"bogus"`,
		"twinning_id=a&twinning_id=b": `"FIELD_DUPLICATE"`,
		"twinning_id=%FF":             `"FIELD_INVALID_UTF8"`,
		"practice_id=%zz":             `"field":"practice_id"`,
		"practice_id=a%01b":           `"FIELD_CONTROL_CHARACTER"`,
	} {
		r := do(t, "GET", base+"/v1/events?"+query, nil, nil)
		if r.status != http.StatusBadRequest || !strings.Contains(string(r.body), field) {
			t.Errorf("?%s: %d %s, want 400 with %s", query, r.status, r.body, field)
		}
	}
	reqCtx, stop := context.WithTimeout(context.Background(), 10*time.Second)
	defer stop()
	req, _ := http.NewRequestWithContext(reqCtx, "GET", base+"/v1/events?twinning_id=tw1&last_event_id=0", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("a good query: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}
