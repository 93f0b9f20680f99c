package need

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gemella/gemella/services/platform/apperr"
)

var now = time.Date(2024, 6, 3, 9, 0, 0, 0, time.UTC)

func vibo() Details {
	return Details{
		OrganizationID: "comune-vibo", Title: "Servizi sociali e per il lavoro integrati",
		Problem: "Il Comune cerca un modello per integrare servizi sociali e servizi per il lavoro.",
		Themes:  []string{"politiche sociali", "lavoro"}, Territory: Territory{Code: "102047", Name: "Vibo Valentia"},
		DesiredStart: "2025-01-15",
	}
}

func violatedFields(err error) []string {
	var e *apperr.Error
	var out []string
	if errors.As(err, &e) {
		for _, v := range e.Violations {
			out = append(out, v.Field)
		}
	}
	sort.Strings(out)
	return out
}

func TestNewOpensTheNeedInItalianByDefault(t *testing.T) {
	n, err := New("n1", vibo(), "anonymous", now)
	if err != nil {
		t.Fatal(err)
	}
	if n.Status != Open || n.Language != "it" || n.CreatedAt != now {
		t.Fatalf("new need: %+v", n)
	}
	if ch := n.Changes(); len(ch) != 1 || ch[0].Type != EventOpened || ch[0].Actor != "anonymous" {
		t.Fatalf("events = %+v", ch)
	}
}

func TestValidationNamesEveryBadField(t *testing.T) {
	d := Details{
		OrganizationID: "not an id!", Title: " ", Problem: strings.Repeat("x", 10001),
		Themes: []string{"lavoro", "Lavoro"}, Sectors: []string{""}, Territory: Territory{Code: "calabria"},
		DesiredStart: "next spring", Language: "ITA",
	}
	_, err := New("n1", d, "anonymous", now)
	if apperr.KindOf(err) != apperr.KindInvalidArgument {
		t.Fatalf("err = %v", err)
	}
	want := []string{"desired_start", "language", "organization_id", "problem", "sectors[0]", "territory.code", "territory.name", "themes[1]", "title"}
	if got := violatedFields(err); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("violations = %v\nwant         %v", got, want)
	}
	if got := violatedFields(Details{}.Validate()); strings.Join(got, ",") != "language,organization_id,problem,title" {
		t.Fatalf("empty need: %v", got)
	}
}

func TestLife(t *testing.T) {
	cases := []struct {
		name  string
		steps func(n *Need) error
		want  Status
		kind  apperr.Kind
	}{
		{"open can be edited", func(n *Need) error { d := n.Details; d.Title = "Nuovo titolo"; return n.Edit(d, now) }, Open, apperr.KindUnknown},
		{"open is matched by a twinning", func(n *Need) error { _, err := n.Match("tw-1", "system", now); return err }, Matched, apperr.KindUnknown},
		{"matched cannot be edited", func(n *Need) error {
			_, _ = n.Match("tw-1", "system", now)
			return n.Edit(n.Details, now)
		}, Matched, apperr.KindFailedPrecondition},
		{"matched can be closed", func(n *Need) error {
			_, _ = n.Match("tw-1", "system", now)
			return n.Close("anonymous", "trovato", now)
		}, Closed, apperr.KindUnknown},
		{"closed cannot be closed again", func(n *Need) error {
			_ = n.Close("anonymous", "", now)
			return n.Close("anonymous", "", now)
		}, Closed, apperr.KindFailedPrecondition},
		{"closed cannot be matched", func(n *Need) error {
			_ = n.Close("anonymous", "", now)
			_, err := n.Match("tw-1", "system", now)
			return err
		}, Closed, apperr.KindFailedPrecondition},
		{"another twinning cannot take a matched need", func(n *Need) error {
			_, _ = n.Match("tw-1", "system", now)
			_, err := n.Match("tw-2", "system", now)
			return err
		}, Matched, apperr.KindFailedPrecondition},
		{"the requester cannot change", func(n *Need) error {
			d := n.Details
			d.OrganizationID = "someone-else"
			return n.Edit(d, now)
		}, Open, apperr.KindInvalidArgument},
		{"a long close reason is refused", func(n *Need) error { return n.Close("anonymous", strings.Repeat("x", 1001), now) }, Open, apperr.KindInvalidArgument},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n, err := New("n1", vibo(), "anonymous", now)
			if err != nil {
				t.Fatal(err)
			}
			err = c.steps(n)
			if apperr.KindOf(err) != c.kind || (c.kind == apperr.KindUnknown && err != nil) {
				t.Fatalf("err = %v, want kind %s", err, c.kind)
			}
			if n.Status != c.want {
				t.Fatalf("status = %s, want %s", n.Status, c.want)
			}
		})
	}
}

func TestMatchIsIdempotent(t *testing.T) {
	n, _ := New("n1", vibo(), "anonymous", now)
	n.Changes()
	changed, err := n.Match("tw-1", "system", now)
	if err != nil || !changed {
		t.Fatalf("first match: %v %v", changed, err)
	}
	changed, err = n.Match("tw-1", "system", now.Add(time.Hour))
	if err != nil || changed {
		t.Fatalf("the same twinning again: %v %v", changed, err)
	}
	if ch := n.Changes(); len(ch) != 1 || ch[0].Type != EventMatched || n.MatchedTwinningID != "tw-1" {
		t.Fatalf("events = %+v, twinning %q", ch, n.MatchedTwinningID)
	}
}

func TestEtag(t *testing.T) {
	n, _ := New("n1", vibo(), "anonymous", now)
	n.Version = 3
	if n.Etag() != `"3"` || n.CheckEtag(`"3"`) != nil || n.CheckEtag("") != nil {
		t.Fatal("current etag refused")
	}
	if apperr.KindOf(n.CheckEtag(`"2"`)) != apperr.KindAborted {
		t.Fatal("stale etag accepted")
	}
}

func TestFilter(t *testing.T) {
	n, _ := New("n1", vibo(), "anonymous", now)
	for _, c := range []struct {
		f    Filter
		want bool
	}{
		{Filter{}, true},
		{Filter{Status: Open, Theme: "lavoro", TerritoryCode: "102047", OrganizationID: "comune-vibo"}, true},
		{Filter{Status: Closed}, false},
		{Filter{Sector: "meccanica"}, false},
		{Filter{Theme: "Lavoro"}, false},
	} {
		if got := c.f.Matches(n); got != c.want {
			t.Errorf("%+v matches = %v", c.f, got)
		}
	}
}

// A cancelled or deleted twinning releases the need it matched: open
// again, never matched again by that twinning; releasing what another
// twinning matched, or a closed need, changes nothing.
func TestReleaseOpensTheNeedForGood(t *testing.T) {
	n, _ := New("n1", vibo(), "anonymous", now)
	if n.Release("tw-1", "system", now) {
		t.Fatal("an open need released")
	}
	if _, err := n.Match("tw-1", "system", now); err != nil {
		t.Fatal(err)
	}
	if n.Release("tw-2", "system", now) || n.Status != Matched {
		t.Fatalf("released by another twinning: %s", n.Status)
	}
	if !n.Release("tw-1", "system", now) || n.Status != Open || n.MatchedTwinningID != "" {
		t.Fatalf("after release: %s %q", n.Status, n.MatchedTwinningID)
	}
	if changes := n.Changes(); changes[len(changes)-1].Type != EventReopened {
		t.Fatalf("changes %v", changes)
	}
	if changed, err := n.Match("tw-1", "system", now); changed || err != nil || n.Status != Open {
		t.Fatalf("the released twinning matches again: %v %v %s", changed, err, n.Status)
	}
	if changed, err := n.Match("tw-2", "system", now); !changed || err != nil || n.MatchedTwinningID != "tw-2" {
		t.Fatalf("a new twinning: %v %v %q", changed, err, n.MatchedTwinningID)
	}
	for i := range 30 {
		n.Status, n.MatchedTwinningID = Matched, fmt.Sprintf("tw-x%d", i)
		n.Release(n.MatchedTwinningID, "system", now)
	}
	if len(n.Released) != maxReleased || n.Released[len(n.Released)-1] != "tw-x29" {
		t.Fatalf("released %d, last %q", len(n.Released), n.Released[len(n.Released)-1])
	}
}
