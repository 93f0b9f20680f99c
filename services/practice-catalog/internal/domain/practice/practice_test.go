package practice

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gemella/gemella/services/platform/apperr"
)

var now = time.Date(2024, 5, 1, 9, 0, 0, 0, time.UTC)

func complete() Content {
	return Content{
		Title: "Tos.Ca. – Valorizzare le competenze dei cittadini", Summary: "s", Description: "d", Problem: "p", Results: "r",
		OwnerOrganizationIDs: []string{"toscana", "firenze"}, Themes: []string{"skills certification"}, Languages: []string{"it"},
		Models: []Model{{Code: "A", Title: "Modello A"}, {Code: "D", Title: "Modello D", OwnerOrganizationID: "firenze"}},
	}
}

func violations(err error) map[string]string {
	var e *apperr.Error
	out := map[string]string{}
	if errors.As(err, &e) {
		for _, v := range e.Violations {
			out[v.Field] = v.Rule
		}
	}
	return out
}

func TestNewDerivesSlugAndModelOwners(t *testing.T) {
	p, err := New("p1", complete(), now)
	if err != nil {
		t.Fatal(err)
	}
	if p.Slug != "tos-ca-valorizzare-le-competenze-dei-cittadini" {
		t.Fatalf("slug = %q", p.Slug)
	}
	if p.Models[0].OwnerOrganizationID != "toscana" || p.Models[1].OwnerOrganizationID != "firenze" {
		t.Fatalf("model owners = %+v", p.Models)
	}
	if p.Status != Draft || len(p.PeekChanges()) != 0 {
		t.Fatalf("a new practice is a draft without events: %s %v", p.Status, p.PeekChanges())
	}
}

func TestSlugify(t *testing.T) {
	for in, want := range map[string]string{
		"Tos.Ca. – Valorizzare le competenze": "tos-ca-valorizzare-le-competenze",
		"Politiche attive: l'età è più":       "politiche-attive-l-eta-e-piu",
		"  --  ":                              "",
		"PTP Meccanica 2014":                  "ptp-meccanica-2014",
	} {
		if got := Slugify(in); got != want {
			t.Errorf("Slugify(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestValidationReportsEveryField(t *testing.T) {
	c := Content{
		Slug: "Not A Slug", StartDate: "2024-13-01", Languages: []string{"ITA"},
		Contact:              Contact{Email: "not-an-email"},
		Attachments:          []Link{{Title: "x", URL: "javascript:alert(1)"}},
		Territory:            Territory{Code: "toscana!"},
		Themes:               []string{"labour", "Labour"},
		OwnerOrganizationIDs: []string{"o1"},
		Models:               []Model{{Code: "a", Title: ""}, {Code: "B", Title: "b", OwnerOrganizationID: "someone-else"}, {Code: "B", Title: "dup"}},
	}
	_, err := New("p", c, now)
	if apperr.KindOf(err) != apperr.KindInvalidArgument {
		t.Fatalf("want InvalidArgument, got %v", err)
	}
	got := violations(err)
	for _, field := range []string{"title", "slug", "start_date", "languages[0]", "contact.email", "attachments[0].url", "territory.code", "territory.name", "themes[1]", "models[0].code", "models[0].title", "models[1].owner_organization_id", "models[2].code"} {
		if _, ok := got[field]; !ok {
			t.Errorf("no violation for %s; got %v", field, got)
		}
	}
	if _, err := New("p", Content{Title: "x"}, now); violations(err)["owner_organization_ids"] == "" {
		t.Errorf("owners are required: %v", err)
	}
}

func TestLifecycle(t *testing.T) {
	type step struct {
		move  func(p *Practice) error
		want  Status
		fails apperr.Kind
	}
	submit := func(p *Practice) error { return p.Submit("ed", now) }
	publish := func(p *Practice) error { return p.Publish("coord", now) }
	archive := func(p *Practice) error { return p.Archive("coord", "superseded", now) }
	revise := func(p *Practice) error {
		c := p.Content
		c.Summary = "new summary"
		return p.Revise(c, "ed", "clearer summary", now)
	}
	edit := func(p *Practice) error { c := p.Content; c.Title = "Retitled"; return p.Edit(c, now) }
	cases := map[string][]step{
		"the happy path":     {{submit, Submitted, 0}, {publish, Published, 0}, {revise, Published, 0}, {archive, Archived, 0}},
		"publish a draft":    {{publish, Draft, apperr.KindFailedPrecondition}},
		"archive a draft":    {{archive, Draft, apperr.KindFailedPrecondition}},
		"revise a draft":     {{revise, Draft, apperr.KindFailedPrecondition}},
		"edit back to draft": {{submit, Submitted, 0}, {edit, Draft, 0}},
		"edit published":     {{submit, Submitted, 0}, {publish, Published, 0}, {edit, Published, apperr.KindFailedPrecondition}},
		"archived is final":  {{submit, Submitted, 0}, {publish, Published, 0}, {archive, Archived, 0}, {revise, Archived, apperr.KindFailedPrecondition}, {publish, Archived, apperr.KindFailedPrecondition}},
	}
	for name, steps := range cases {
		t.Run(name, func(t *testing.T) {
			p, err := New("p1", complete(), now)
			if err != nil {
				t.Fatal(err)
			}
			for i, s := range steps {
				err := s.move(p)
				if apperr.KindOf(err) != s.fails || (s.fails == 0 && err != nil) {
					t.Fatalf("step %d: err = %v, want kind %v", i, err, s.fails)
				}
				if p.Status != s.want {
					t.Fatalf("step %d: status = %s, want %s", i, p.Status, s.want)
				}
			}
		})
	}
}

func TestIllegalMoveNamesTheState(t *testing.T) {
	p, _ := New("p1", complete(), now)
	err := p.Publish("coord", now)
	if err == nil || !strings.Contains(err.Error(), "is draft") || !strings.Contains(err.Error(), "submit") {
		t.Fatalf("message should name the current state and the allowed moves: %v", err)
	}
}

func TestSubmitNeedsACompletePractice(t *testing.T) {
	c := complete()
	c.Summary, c.Models = "", nil
	p, err := New("p1", c, now)
	if err != nil {
		t.Fatal(err)
	}
	got := violations(p.Submit("ed", now))
	if got["summary"] == "" || got["models"] == "" {
		t.Fatalf("violations = %v", got)
	}
	if p.Status != Draft || len(p.PeekChanges()) != 0 {
		t.Fatal("a refused submit changed the practice")
	}
}

func TestReviseKeepsHistoryAndAdoption(t *testing.T) {
	p, _ := New("p1", complete(), now)
	_ = p.Submit("ed", now)
	_ = p.Publish("coord", now)
	p.Models[0].Adoption.Adopted = 2
	before := p.Content.Summary
	c := p.Content
	c.Summary = "revised"
	c.Models = []Model{{Code: "A", Title: "Modello A rivisto"}}
	if err := p.Revise(c, "ed", "new wording", now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if p.Revision != 2 || len(p.History) != 1 || p.History[0].Number != 1 || p.History[0].Content.Summary != before {
		t.Fatalf("history = %+v, revision %d", p.History, p.Revision)
	}
	if p.Models[0].Adoption.Adopted != 2 {
		t.Fatal("revision lost the adoption figures of a kept model")
	}
	changes := p.Changes()
	if len(changes) != 3 || changes[2].Type != EventRevised || changes[2].PreviousRevision != 1 {
		t.Fatalf("changes = %+v", changes)
	}
	if len(p.Changes()) != 0 {
		t.Fatal("Changes must forget what it returned")
	}
}

func TestEtag(t *testing.T) {
	p, _ := New("p1", complete(), now)
	p.Version = 3
	if err := p.CheckEtag(p.Etag()); err != nil {
		t.Fatal(err)
	}
	if err := p.CheckEtag(`W/"3"`); err != nil {
		t.Fatal(err)
	}
	if err := p.CheckEtag(`"2"`); apperr.KindOf(err) != apperr.KindAborted {
		t.Fatalf("stale etag: %v", err)
	}
	if err := p.CheckEtag(""); err != nil {
		t.Fatal("no etag means no check")
	}
}

// Languages are bounded and each named once (a trial stored 150,000).
func TestLanguagesAreFewAndDistinct(t *testing.T) {
	many := make([]string, 30)
	for i := range many {
		many[i] = "it"
	}
	_, err := New("p", Content{Title: "x", OwnerOrganizationIDs: []string{"o1"}, Languages: many}, now)
	got := violations(err)
	if got["languages"] == "" || got["languages[1]"] != "is a duplicate" {
		t.Fatalf("30 copies of it: %v", got)
	}
	if _, err := New("p", Content{Title: "x", OwnerOrganizationIDs: []string{"o1"}, Languages: []string{"it", "en", "fr"}}, now); err != nil {
		t.Fatalf("three languages: %v", err)
	}
}
