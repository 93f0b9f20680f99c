package offer

import (
	"errors"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gemella/gemella/services/platform/apperr"
)

var now = time.Date(2024, 6, 3, 9, 0, 0, 0, time.UTC)

func toscana() Terms {
	return Terms{OrganizationID: "regione-toscana", PracticeID: "tos-ca", ModelCodes: []string{"A", "B"}, Capacity: 2, Languages: []string{"it", "en"}, Conditions: "Visite di studio a Firenze"}
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

func TestNewOpensTheOffer(t *testing.T) {
	o, err := New("o1", toscana(), "Tos.Ca.", "anonymous", now)
	if err != nil {
		t.Fatal(err)
	}
	if o.Status != Open || o.PracticeTitle != "Tos.Ca." {
		t.Fatalf("offer = %+v", o)
	}
	if ch := o.Changes(); len(ch) != 1 || ch[0].Type != EventOpened {
		t.Fatalf("events = %+v", ch)
	}
	if !o.Offers("A") || o.Offers("C") {
		t.Fatal("offers only the models it names")
	}
	o.ModelCodes = nil
	if !o.Offers("E") {
		t.Fatal("an offer naming no model offers every model")
	}
}

func TestValidationNamesEveryBadField(t *testing.T) {
	terms := Terms{OrganizationID: "", PracticeID: "bad id", ModelCodes: []string{"a", "B", "B"}, Capacity: 0, Languages: []string{"it", "it", "English"}, Conditions: strings.Repeat("x", 4001)}
	_, err := New("o1", terms, "", "anonymous", now)
	want := []string{"capacity", "conditions", "languages[1]", "languages[2]", "model_codes[0]", "model_codes[2]", "organization_id", "practice_id"}
	if got := violatedFields(err); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("violations = %v\nwant         %v", got, want)
	}
	terms = toscana()
	terms.Capacity = MaxCapacity + 1
	if got := violatedFields(terms.Validate()); strings.Join(got, ",") != "capacity" {
		t.Fatalf("capacity above the maximum: %v", got)
	}
}

func TestClose(t *testing.T) {
	o, _ := New("o1", toscana(), "Tos.Ca.", "anonymous", now)
	o.Changes()
	if err := o.Close("anonymous", strings.Repeat("x", 1001), now); apperr.KindOf(err) != apperr.KindInvalidArgument || o.Status != Open {
		t.Fatalf("long reason: %v, %s", err, o.Status)
	}
	if err := o.Close("anonymous", "capacità esaurita", now); err != nil || o.Status != Closed {
		t.Fatalf("close: %v, %s", err, o.Status)
	}
	if ch := o.Changes(); len(ch) != 1 || ch[0].Type != EventClosed || ch[0].Reason != "capacità esaurita" {
		t.Fatalf("events = %+v", ch)
	}
	if err := o.Close("anonymous", "", now); apperr.KindOf(err) != apperr.KindFailedPrecondition {
		t.Fatalf("closing a closed offer: %v", err)
	}
}

func TestFilter(t *testing.T) {
	o, _ := New("o1", toscana(), "Tos.Ca.", "anonymous", now)
	if !(Filter{Status: Open, OrganizationID: "regione-toscana", PracticeID: "tos-ca"}).Matches(o) || (Filter{Status: Closed}).Matches(o) || (Filter{PracticeID: "x"}).Matches(o) {
		t.Fatal("filter")
	}
}
