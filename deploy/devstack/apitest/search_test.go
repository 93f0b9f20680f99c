package apitest

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gemella/gemella/deploy/devstack/stack"
)

// siteSearch is GET /v1/search as the test reads it.
type siteSearch struct {
	Kinds []struct {
		Kind   string `json:"kind"`
		Status string `json:"status"`
		Total  int    `json:"total"`
		Hits   []struct {
			Title      string `json:"title"`
			Link       string `json:"link"`
			Highlights []struct {
				Fragments []string `json:"fragments"`
			} `json:"highlights"`
		} `json:"hits"`
	} `json:"kinds"`
	Counts      map[string]int `json:"counts"`
	Unavailable []string       `json:"unavailable"`
}

// After `make run`, `curl -s 'localhost:8080/v1/search?q=competenze'`
// answers the Tos.Ca. practice, twinning and general discussion, each in
// its kind, the words marked: here on the whole devstack with its demo
// data, the services' indexes built from their own stores and streams.
func TestSearchEverythingFindsTheTosCaPracticeTwinningAndDiscussion(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole devstack")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	st, err := stack.Start(ctx, stack.Options{
		DataDir: t.TempDir(), HTTPAddr: "127.0.0.1:0", CatalogAddr: "127.0.0.1:0", TwinningAddr: "127.0.0.1:0",
		DiscussionAddr: "127.0.0.1:0", Logger: slog.New(slog.DiscardHandler), LoadDemo: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Stop() })
	get := func(path string) (int, []byte) {
		t.Helper()
		resp, err := http.Get(st.GatewayURL() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, body
	}

	var r siteSearch
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, body := get("/v1/search?q=competenze")
		if code != http.StatusOK {
			t.Fatalf("GET /v1/search?q=competenze: %d %s", code, body)
		}
		r = siteSearch{}
		if err := json.Unmarshal(body, &r); err != nil {
			t.Fatal(err)
		}
		// The indexes are built in the background at the first start.
		if r.Counts["practice"] > 0 && r.Counts["twinning"] > 0 && r.Counts["thread"] > 0 && len(r.Unavailable) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the demo data is not found: %s", body)
		}
		time.Sleep(200 * time.Millisecond)
	}
	want := map[string]string{"practice": "Tos.Ca.", "twinning": "Tos.Ca.", "thread": "Discussione generale relativa al gemellaggio Tos.Ca."}
	var order []string
	for _, k := range r.Kinds {
		order = append(order, k.Kind)
		title, ok := want[k.Kind]
		if !ok {
			continue
		}
		if k.Status != "ok" || k.Total != len(k.Hits) && len(k.Hits) < 5 || len(k.Hits) == 0 {
			t.Errorf("%s: %+v", k.Kind, k)
			continue
		}
		hit := k.Hits[0]
		marked := false
		for _, h := range hit.Highlights {
			marked = marked || strings.Contains(strings.Join(h.Fragments, " "), "<mark>")
		}
		if !strings.Contains(hit.Title, title) || !marked || !strings.HasPrefix(hit.Link, "/") {
			t.Errorf("%s: first hit %+v, want %q with <mark>ed words", k.Kind, hit, title)
		}
	}
	if strings.Join(order, ",") != "practice,twinning,thread,post,story,need,organization" {
		t.Errorf("kinds in the order %v", order)
	}

	// The per-kind searches beside it, and the filters.
	for path, want := range map[string]string{
		"/v1/search/twinnings?q=competenze": "Tos.Ca.", "/v1/search/threads?q=competenze": "Tos.Ca.",
		"/v1/search/organizations?q=toscana": "Regione Toscana", "/v1/search?q=calabria&kind=organization": "Regione Calabria",
	} {
		if code, body := get(path); code != http.StatusOK || !strings.Contains(string(body), want) {
			t.Errorf("GET %s: %d %s, want %q", path, code, body, want)
		}
	}
	if code, body := get("/v1/search?q=competenze&kind=twinning&territory=ITF6"); code != http.StatusOK ||
		!strings.Contains(string(body), `"twinning":1`) || !strings.Contains(string(body), `"practice":0`) {
		t.Errorf("filtered by kind and territory: %d %s", code, body)
	}
	for _, bad := range []string{"?kind=galassia", "?colour=blue", "?q=" + strings.Repeat("a", 501)} {
		if code, body := get("/v1/search" + bad); code != http.StatusBadRequest {
			t.Errorf("GET /v1/search%s: %d %s", bad, code, body)
		}
	}
}
