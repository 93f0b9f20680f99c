package matching

import (
	"strings"
	"testing"

	"github.com/gemella/gemella/services/practice-catalog/internal/domain/practice"
)

func TestCloseTo(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want Closeness
	}{
		{"102047", "102047", SameTerritory},
		{"102047", "ITF6", SameRegion},  // Vibo Valentia lies in Calabria
		{"048017", "ITI17", SameRegion}, // Firenze and the province of Pisa, both Toscana
		{"048017", "09", SameRegion},    // Firenze and ISTAT region 09
		{"100", "ITI1", SameRegion},     // Prato
		{"ITI1", "ITI3", SameCountry},   // Toscana and Marche
		{"102047", "IT", SameCountry},   // a municipality and the whole country
		{"021", "022", SameCountry},     // Bolzano and Trento are two NUTS 2 regions
		{"ITF6", "ES51", Far},           // Calabria and Catalonia
		{"", "ITF6", Far},
		{"1234", "ITI1", SameCountry}, // an unknown ISTAT length still says Italy
	} {
		if got := CloseTo(c.a, c.b); got != c.want {
			t.Errorf("CloseTo(%q, %q) = %q, want %q", c.a, c.b, got, c.want)
		}
	}
}

func TestScoreExplainsItself(t *testing.T) {
	w := DefaultWeights()
	seeker := Seeker{Themes: []string{"Politiche sociali", "lavoro"}, Sectors: []string{"meccanica"}, TerritoryCode: "102047"}
	base := Candidate{Text: 0.5, MatchedTerms: []string{"servizi"}, Themes: []string{"lavoro", "politiche sociali"}, TerritoryCode: "ITI1"}
	score, r := Score(w, seeker, base)
	if strings.Join(r.SharedThemes, ",") != "Politiche sociali,lavoro" || len(r.SharedSectors) != 0 || r.Closeness != SameCountry {
		t.Fatalf("reasons = %+v", r)
	}
	want := w.Text*0.5 + w.Themes*1 + w.Territory*0.25
	if d := score - want; d > 1e-9 || d < -1e-9 {
		t.Fatalf("score = %v, want %v", score, want)
	}

	adopted, dropped, offered := base, base, base
	adopted.Adoption = practice.Adoption{Adopted: 3}
	dropped.Adoption = practice.Adoption{Dropped: 2}
	offered.OpenOfferID = "offer-1"
	sa, ra := Score(w, seeker, adopted)
	sd, rd := Score(w, seeker, dropped)
	so, ro := Score(w, seeker, offered)
	if !(sa > score && sd < score && so > score) {
		t.Fatalf("adopted %v, dropped %v, offered %v, plain %v", sa, sd, so, score)
	}
	if ra.PriorAdoptions != 3 || rd.PriorDrops != 2 || ro.OpenOfferID != "offer-1" {
		t.Fatalf("reasons: %+v %+v %+v", ra, rd, ro)
	}
	if Relevant(Reasons{Closeness: SameTerritory, OpenOfferID: "o"}, 0) {
		t.Fatal("closeness and an offer alone make no suggestion")
	}
}

func TestWeightsValidate(t *testing.T) {
	if err := DefaultWeights().Validate("P_"); err != nil {
		t.Fatal(err)
	}
	err := Weights{Text: -1, Themes: 11, MinScore: 2, Candidates: 0}.Validate("P_")
	for _, name := range []string{"P_TEXT", "P_THEMES", "P_MIN_SCORE", "P_CANDIDATES"} {
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s not reported: %v", name, err)
		}
	}
	if err := (Weights{Candidates: 10}).Validate("P_"); err == nil || !strings.Contains(err.Error(), "at least one weight") {
		t.Errorf("all-zero weights: %v", err)
	}
}
