package organization

import (
	"errors"
	"testing"
	"time"

	"github.com/gemella/gemella/services/platform/apperr"
)

func TestNewValidatesEveryField(t *testing.T) {
	_, err := New("o1", Details{Website: "ftp://x", Territory: Territory{Code: "??"}, NetworkIDs: []string{"bad id!"}}, "t", time.Now())
	var e *apperr.Error
	if !errors.As(err, &e) || e.Kind != apperr.KindInvalidArgument {
		t.Fatalf("want InvalidArgument, got %v", err)
	}
	fields := map[string]bool{}
	for _, v := range e.Violations {
		fields[v.Field] = true
	}
	for _, f := range []string{"name", "kind", "website", "territory.code", "territory.name", "network_ids[0]"} {
		if !fields[f] {
			t.Errorf("no violation for %s: %v", f, e.Violations)
		}
	}
}

func TestKinds(t *testing.T) {
	for _, k := range Kinds {
		got, ok := ParseKind(k.String())
		if !ok || got != k {
			t.Errorf("ParseKind(%q) = %v %v", k, got, ok)
		}
	}
	if _, ok := ParseKind("castle"); ok {
		t.Error("an unknown kind was accepted")
	}
}

func TestUpdateRecordsAnEvent(t *testing.T) {
	o, err := New("o1", Details{Name: "Regione Toscana", Kind: Region}, "t", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if c := o.Changes(); len(c) != 1 || c[0].Type != Created {
		t.Fatalf("create events = %v", c)
	}
	if err := o.Update(Details{Name: "Regione Toscana", Kind: Region, ParentID: "o1"}, "t", time.Now()); err == nil {
		t.Fatal("an organisation cannot be its own parent")
	}
	if err := o.Update(Details{Name: "Regione Toscana", Kind: Region, Website: "https://www.regione.toscana.it"}, "t", time.Now()); err != nil {
		t.Fatal(err)
	}
	if c := o.Changes(); len(c) != 1 || c[0].Type != Updated {
		t.Fatalf("update events = %v", c)
	}
}
