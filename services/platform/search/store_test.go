package search

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func testDocs() []Document {
	return []Document{
		{ID: "tw:1", Kind: "twinning", Version: 3, Language: "it", Title: "Gemellaggio Tos.Ca.",
			Texts: []NamedText{{Field: "models", Text: "Valorizzare le competenze dei cittadini"}}, Territories: []string{"ITI1"}, Themes: []string{"Lavoro"}, Time: time.Unix(100, 0), Source: []byte("s1")},
		{ID: "post:1", Kind: "post", Version: 1, Language: "it", Title: "",
			Texts: []NamedText{{Field: "body", Text: "Gli asili nido del comune"}}, Time: time.Unix(200, 0)},
		{ID: "story:1", Kind: "story", Version: 1, Language: "en", Title: "Skills of citizens",
			Texts: []NamedText{{Field: "body", Text: "How the region recognised <b>skills</b>"}}, Territories: []string{"ITF6"}, Time: time.Unix(300, 0)},
	}
}

func TestStoreFindsHighlightsFiltersAndCountsKinds(t *testing.T) {
	s, err := OpenStore(StoreConfig{Schema: "test", Static: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var changes []Change
	for _, d := range testDocs() {
		changes = append(changes, Put(d))
	}
	if err := s.Apply(1, changes...); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	res, err := s.Search(ctx, Query{Text: "competenza"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Total != 1 || res.Hits[0].ID != "tw:1" || string(res.Hits[0].Source) != "s1" {
		t.Fatalf("competenza (stem of competenze): %+v", res)
	}
	if h := res.Hits[0].Highlights; len(h) != 1 || h[0].Field != "models" || !strings.Contains(h[0].Fragments[0], "<mark>competenze</mark>") {
		t.Fatalf("highlights: %+v", h)
	}
	// A synonym: "servizi per la prima infanzia" finds "asili nido".
	if res, err = s.Search(ctx, Query{Text: "servizi per la prima infanzia"}); err != nil || res.Total != 1 || res.Hits[0].ID != "post:1" {
		t.Fatalf("synonym: %+v %v", res, err)
	}
	if h := res.Hits[0].Highlights; len(h) != 1 || !strings.Contains(h[0].Fragments[0], "<mark>asili</mark> <mark>nido</mark>") {
		t.Fatalf("synonym highlights: %+v", h)
	}
	// English analysis; the stored text is escaped in highlights.
	res, err = s.Search(ctx, Query{Text: "skill"})
	if err != nil || res.Total != 1 || res.Hits[0].ID != "story:1" {
		t.Fatalf("skill: %+v %v", res, err)
	}
	for _, h := range res.Hits[0].Highlights {
		if strings.Contains(strings.Join(h.Fragments, ""), "<b>") {
			t.Fatalf("unescaped: %+v", h)
		}
	}
	// Facets by kind count before the kind filter.
	res, err = s.Search(ctx, Query{Kinds: []string{"story"}})
	if err != nil || res.Total != 1 || res.Facets["kind"]["twinning"] != 1 || res.Facets["kind"]["post"] != 1 {
		t.Fatalf("kinds: %+v %v", res, err)
	}
	if res, err = s.Search(ctx, Query{Territories: []string{"ITI1"}, Themes: []string{"lavoro"}}); err != nil || res.Total != 1 || res.Hits[0].ID != "tw:1" {
		t.Fatalf("territory and theme: %+v %v", res, err)
	}
	// An older version changes nothing; a removal takes the document out.
	old := testDocs()[0]
	old.Version, old.Title = 2, "Vecchio titolo"
	if err := s.Apply(2, Put(old), Remove("post:1", 2)); err != nil {
		t.Fatal(err)
	}
	if res, _ = s.Search(ctx, Query{Text: "vecchio"}); res.Total != 0 {
		t.Fatalf("an older version was indexed: %+v", res)
	}
	if res, _ = s.Search(ctx, Query{Text: "asili"}); res.Total != 0 {
		t.Fatalf("a removed document is found: %+v", res)
	}
	if res, _ = s.Search(ctx, Query{}); res.Total != 2 {
		t.Fatalf("all: %+v", res)
	}
	if st, _ := s.State(); st.Sequence != 2 {
		t.Fatalf("sequence %d", st.Sequence)
	}
}

func TestStoreReopensFromDiskAndReconciles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "idx")
	s, err := OpenStore(StoreConfig{Dir: dir, Schema: "test"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	all := func(ctx context.Context, yield func(Document) error) error {
		for _, d := range testDocs() {
			if err := yield(d); err != nil {
				return err
			}
		}
		return nil
	}
	if _, err := s.load(ctx, all, State{Sequence: 7, Stream: "x"}); err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
	if s, err = OpenStore(StoreConfig{Dir: dir, Schema: "test"}); err != nil {
		t.Fatal(err)
	}
	if st, _ := s.State(); s.fresh || st.Sequence != 7 || st.Stream != "x" {
		t.Fatalf("reopened: fresh %v, %+v", s.fresh, st)
	}
	if err := s.Apply(8, Remove("tw:1", 4)); err != nil {
		t.Fatal(err)
	}
	d, err := s.Reconcile(ctx, func(ctx context.Context, yield func(Document) error) error {
		docs := testDocs()
		docs[0].Version = 5
		return yield(docs[0]) // post:1 and story:1 are no longer shown
	})
	if err != nil || d.Missing != 1 || d.Extra != 2 {
		t.Fatalf("drift %+v %v", d, err)
	}
	if res, _ := s.Search(ctx, Query{}); res.Total != 1 || res.Hits[0].ID != "tw:1" {
		t.Fatalf("after reconcile: %+v", res)
	}
	_ = s.Close()
	// Another schema is rebuilt.
	if s, err = OpenStore(StoreConfig{Dir: dir, Schema: "other"}); err != nil || !s.fresh {
		t.Fatalf("another schema: fresh %v, %v", s.fresh, err)
	}
	_ = s.Close()
}
