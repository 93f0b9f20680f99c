package service_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"
)

// searchTwinnings polls the twinning search of the gateway, anonymously,
// until it finds want twinnings, for at most ten seconds: the index
// follows the stream.
func (s *stack) searchTwinnings(t *testing.T, query string, want int) map[string]any {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := s.doAs(t, "", "GET", "/v1/search/twinnings?"+query, nil)
		if r.status != 200 && r.status != 503 {
			t.Fatalf("search %s: %d %v", query, r.status, r.body)
		}
		if n, _ := r.body["total"].(float64); r.status == 200 && int(n) == want {
			return r.body
		}
		if time.Now().After(deadline) {
			t.Fatalf("search %s: %v, want %d hits", query, r.body, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestATwinningIsFoundByAModelsTitleOnceItIsPublic(t *testing.T) {
	s := start(t)
	created := s.ok(t, "POST", "/v1/twinnings?request_id=tosca-search", s.tosca())
	id := created["id"].(string)
	s.addTransfer(t, id, "B", "toscana", "calabria")

	// A draft is nobody's search result, not even its editors'.
	time.Sleep(500 * time.Millisecond)
	if r := s.do(t, "GET", "/v1/search/twinnings?q=libretto", nil); r.status != 200 || r.body["total"] != float64(0) {
		t.Fatalf("a draft is found: %d %v", r.status, r.body)
	}
	s.ok(t, "POST", "/v1/twinnings/"+id+":propose", `{}`)

	// By the title of a model it transfers, in Italian stems.
	hit := s.searchTwinnings(t, "q="+url.QueryEscape("libretti formativi"), 1)["hits"].([]any)[0].(map[string]any)
	if tw := hit["twinning"].(map[string]any); tw["id"] != id || tw["code"] != "TOSCA" {
		t.Fatalf("hit: %v", hit)
	}
	if hl := fmt.Sprint(hit["highlights"]); !strings.Contains(hl, "<mark>Libretto</mark> <mark>formativo</mark>") || !strings.Contains(hl, "models") {
		t.Fatalf("highlights: %s", hl)
	}
	// By a party's name (from the catalogue), the programme, an objective;
	// filtered by territory and by the practice's theme.
	s.searchTwinnings(t, "q=Vibo+Valentia", 1)
	s.searchTwinnings(t, "q=AGIRE", 1)
	s.searchTwinnings(t, "q=programmazione+regionale&territory_code=ITF6&theme=lavoro", 1)
	s.searchTwinnings(t, "q=libretto&territory_code=ITC1", 0)
	s.searchTwinnings(t, "q=libretto&theme=sanita", 0)

	// Edited: found by its new title within seconds (the edit's event, not
	// the reconcile ten minutes away), and no longer by the one before.
	s.searchTwinnings(t, "q=botteghe", 0)
	s.ok(t, "PATCH", "/v1/twinnings/"+id, map[string]any{"title": "Tos.Ca. – Botteghe artigiane in rete"})
	hit = s.searchTwinnings(t, "q=botteghe+artigiane", 1)["hits"].([]any)[0].(map[string]any)
	if tw := hit["twinning"].(map[string]any); tw["id"] != id || !strings.Contains(fmt.Sprint(hit["highlights"]), "<mark>Botteghe</mark>") {
		t.Fatalf("hit after the edit: %v", hit)
	}
	s.ok(t, "PATCH", "/v1/twinnings/"+id, map[string]any{"title": "Tos.Ca. – Orti urbani condivisi"})
	s.searchTwinnings(t, "q=orti+urbani", 1)
	s.searchTwinnings(t, "q=botteghe", 0)

	// Cancelled: gone.
	s.ok(t, "POST", "/v1/twinnings/"+id+":cancel", `{"reason":"prova"}`)
	s.searchTwinnings(t, "q=libretto", 0)
	if r := s.doAs(t, "", "GET", "/v1/search/twinnings?q="+strings.Repeat("a", 501), nil); r.status != 400 || !strings.Contains(r.violations(), "q:") {
		t.Fatalf("a query too long: %d %v", r.status, r.body)
	}
}
