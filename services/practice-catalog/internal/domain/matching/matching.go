// Package matching ranks practices for a need, and needs for an offer: a
// weighted sum of text similarity, shared themes and sectors, territorial
// closeness, evidence of adoption elsewhere and an open offer. Every
// suggestion carries the reasons it was made, so a civil servant can judge it.
package matching

import (
	"fmt"
	"math"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"

	"github.com/gemella/gemella/services/practice-catalog/internal/domain/practice"
)

// Weights are the ranking's knobs. They live in configuration
// (GEMELLA_CATALOG_MATCH_*), so that coordinators can tune the ranking
// without a release; the defaults reach the precision the labelled test
// set asks for.
type Weights struct {
	// Text weighs how well the words of one side match the other's text,
	// relative to the best candidate.
	Text float64 `env:"TEXT" envDefault:"0.45"`
	// Themes weighs the share of the need's themes the practice has.
	Themes float64 `env:"THEMES" envDefault:"0.25"`
	// Sectors weighs the share of the need's sectors (supply chains) the practice has.
	Sectors float64 `env:"SECTORS" envDefault:"0.15"`
	// Territory weighs closeness: same territory, same region, same country.
	Territory float64 `env:"TERRITORY" envDefault:"0.04"`
	// Adoption weighs earlier transfers: adopted ones raise, dropped ones lower.
	Adoption float64 `env:"ADOPTION" envDefault:"0.08"`
	// Offer weighs an open offer of support on the practice.
	Offer float64 `env:"OFFER" envDefault:"0.06"`
	// MinScore drops suggestions that score below it.
	MinScore float64 `env:"MIN_SCORE" envDefault:"0.08"`
	// Candidates is how many texts the index returns for ranking.
	Candidates int `env:"CANDIDATES" envDefault:"60"`
}

// DefaultWeights are the weights without configuration; they repeat the
// envDefault tags, which config.Defaults reads.
func DefaultWeights() Weights {
	return Weights{Text: 0.45, Themes: 0.25, Sectors: 0.15, Territory: 0.04, Adoption: 0.08, Offer: 0.06, MinScore: 0.08, Candidates: 60}
}

// Validate reports every problem at once; prefix names the variables.
func (w Weights) Validate(prefix string) error {
	var problems []string
	total := 0.0
	for _, f := range []struct {
		name string
		v    float64
	}{{"TEXT", w.Text}, {"THEMES", w.Themes}, {"SECTORS", w.Sectors}, {"TERRITORY", w.Territory}, {"ADOPTION", w.Adoption}, {"OFFER", w.Offer}} {
		if math.IsNaN(f.v) || f.v < 0 || f.v > 10 {
			problems = append(problems, fmt.Sprintf("%s%s: must be between 0 and 10, got %v", prefix, f.name, f.v))
			continue
		}
		total += f.v
	}
	if total == 0 && len(problems) == 0 {
		problems = append(problems, prefix+"*: at least one weight must be above 0")
	}
	if math.IsNaN(w.MinScore) || w.MinScore < 0 || w.MinScore > 1 {
		problems = append(problems, fmt.Sprintf("%sMIN_SCORE: must be between 0 and 1, got %v", prefix, w.MinScore))
	}
	if w.Candidates < 1 || w.Candidates > 500 {
		problems = append(problems, fmt.Sprintf("%sCANDIDATES: must be between 1 and 500, got %d", prefix, w.Candidates))
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s", strings.Join(problems, "; "))
	}
	return nil
}

// Seeker is the side that looks for help: the need.
type Seeker struct {
	Themes        []string
	Sectors       []string
	TerritoryCode string
}

// Candidate is one practice the index found, with what ranking needs.
type Candidate struct {
	// Text is the text score relative to the best candidate, 0 to 1.
	Text float64
	// MatchedTerms are the seeker's words found in the candidate.
	MatchedTerms  []string
	Themes        []string
	Sectors       []string
	TerritoryCode string
	Adoption      practice.Adoption
	// OpenOfferID is an open offer of support on the practice, if any.
	OpenOfferID string
}

// Reasons say why a candidate was suggested.
type Reasons struct {
	MatchedTerms          []string
	SharedThemes          []string
	SharedSectors         []string
	Closeness             Closeness
	PriorAdoptions        int
	PriorPartialAdoptions int
	PriorDrops            int
	OpenOfferID           string
}

// Score ranks one candidate for the seeker.
func Score(w Weights, s Seeker, c Candidate) (float64, Reasons) {
	r := Reasons{
		MatchedTerms:          c.MatchedTerms,
		SharedThemes:          Shared(s.Themes, c.Themes),
		SharedSectors:         Shared(s.Sectors, c.Sectors),
		Closeness:             CloseTo(s.TerritoryCode, c.TerritoryCode),
		PriorAdoptions:        c.Adoption.Adopted,
		PriorPartialAdoptions: c.Adoption.PartiallyAdopted,
		PriorDrops:            c.Adoption.Dropped,
		OpenOfferID:           c.OpenOfferID,
	}
	score := w.Text * clamp(c.Text, 0, 1)
	score += w.Themes * share(len(r.SharedThemes), len(s.Themes))
	score += w.Sectors * share(len(r.SharedSectors), len(s.Sectors))
	score += w.Territory * r.Closeness.weight()
	score += w.Adoption * AdoptionEvidence(c.Adoption)
	if c.OpenOfferID != "" {
		score += w.Offer
	}
	return score, r
}

// Relevant reports whether a candidate has anything in common with the
// seeker beyond what every candidate gets (closeness, adoption, offer):
// those rank candidates, they do not make one.
func Relevant(r Reasons, text float64) bool {
	return text > 0 || len(r.SharedThemes) > 0 || len(r.SharedSectors) > 0
}

// AdoptionEvidence is between -1 and 1: how far earlier transfers of the
// practice speak for it. Adopted counts fully, partially adopted half,
// dropped against; the +1 keeps one transfer from weighing like ten.
func AdoptionEvidence(a practice.Adoption) float64 {
	outcomes := a.Adopted + a.PartiallyAdopted + a.Dropped
	if outcomes == 0 {
		return 0
	}
	return (float64(a.Adopted) + 0.5*float64(a.PartiallyAdopted) - float64(a.Dropped)) / float64(outcomes+1)
}

func share(n, of int) float64 {
	if of == 0 {
		return 0
	}
	return float64(n) / float64(of)
}

func clamp(v, lo, hi float64) float64 {
	if math.IsNaN(v) {
		return lo
	}
	return math.Max(lo, math.Min(hi, v))
}

// Shared returns the labels of a that b has too, in a's order and
// spelling, comparing without case and accents.
func Shared(a, b []string) []string {
	have := make(map[string]bool, len(b))
	for _, x := range b {
		have[FoldLabel(x)] = true
	}
	var out []string
	for _, x := range a {
		if have[FoldLabel(x)] {
			out = append(out, x)
		}
	}
	return out
}

// FoldLabel is a label as compared: trimmed, lower case, without accents.
func FoldLabel(s string) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(strings.ToLower(strings.TrimSpace(s))) {
		if !unicode.Is(unicode.Mn, r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}
