package app

import (
	"context"
	"sort"
	"strings"

	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/validate"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/matching"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/need"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/offer"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/practice"
)

// Sizes of a list of matches.
const (
	defaultMatches = 10
	maxMatches     = 50
	// maxOffersMatched bounds the offers of one organisation that
	// ListMatchingNeeds looks at: one index query each.
	maxOffersMatched = 50
)

func matchesSize(requested int32) (int, error) {
	switch {
	case requested < 0:
		return 0, apperr.Invalid("page_size", "must not be negative")
	case requested == 0:
		return defaultMatches, nil
	case requested > maxMatches:
		return maxMatches, nil
	}
	return int(requested), nil
}

// PracticeMatch is a practice suggested for a need, and why.
type PracticeMatch struct {
	Practice *practice.Practice
	Score    float64
	Reasons  matching.Reasons
}

// ListNeedMatches asks for the practices that fit a need.
type ListNeedMatches struct {
	NeedID   string
	PageSize int32
}

// ListNeedMatchesHandler ranks published practices for a need: the index
// finds candidates by text, themes and sectors in one query; one query of
// the offers adds the open ones; the domain scores each.
type ListNeedMatchesHandler struct{ d Deps }

// Handle returns the best matches first; a practice of the requesting
// organisation is never suggested to it.
func (h ListNeedMatchesHandler) Handle(ctx context.Context, q ListNeedMatches) ([]PracticeMatch, error) {
	size, err := matchesSize(q.PageSize)
	if err != nil {
		return nil, err
	}
	if q.NeedID == "" {
		return nil, apperr.Invalid("id", "is required")
	}
	if h.d.Search == nil {
		return nil, errNoSearch
	}
	n, err := h.d.Needs.Get(ctx, q.NeedID)
	if err != nil {
		return nil, err
	}
	candidates, err := h.d.Search.MatchPractices(ctx, MatchQuery{
		Text: n.Title + "\n" + n.Problem, Language: n.Language, Themes: n.Themes, Sectors: n.Sectors,
		ExcludeOrganizationID: n.OrganizationID, Limit: h.d.Matching.Candidates,
	})
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(candidates))
	for i, c := range candidates {
		ids[i] = c.Practice.ID
	}
	offers, err := h.d.Offers.OpenForPractices(ctx, ids)
	if err != nil {
		return nil, err
	}
	offerOf := openOfferByPractice(offers, n.Language)

	best := 0.0
	for _, c := range candidates {
		best = max(best, c.TextScore)
	}
	seeker := matching.Seeker{Themes: n.Themes, Sectors: n.Sectors, TerritoryCode: n.Territory.Code}
	var out []PracticeMatch
	for _, c := range candidates {
		text := relative(c.TextScore, best)
		p := c.Practice
		score, reasons := matching.Score(h.d.Matching, seeker, matching.Candidate{
			Text: text, MatchedTerms: c.MatchedTerms, Themes: p.Themes, Sectors: p.Sectors,
			TerritoryCode: p.Territory.Code, Adoption: p.Adoption, OpenOfferID: offerOf[p.ID],
		})
		if !matching.Relevant(reasons, text) || score < h.d.Matching.MinScore {
			continue
		}
		out = append(out, PracticeMatch{Practice: p, Score: score, Reasons: reasons})
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Score != out[j].Score {
			return out[i].Score > out[j].Score
		}
		return out[i].Practice.ID < out[j].Practice.ID
	})
	if len(out) > size {
		out = out[:size]
	}
	return out, nil
}

// relative scales a text score by the best of its list: text similarity
// counts as how close a candidate comes to the best one.
func relative(score, best float64) float64 {
	if best <= 0 || score <= 0 {
		return 0
	}
	return score / best
}

// openOfferByPractice picks one open offer per practice, preferring one in
// the seeker's language, then the newest.
func openOfferByPractice(offers []*offer.Offer, language string) map[string]string {
	sort.SliceStable(offers, func(i, j int) bool { return offers[i].SortKey() > offers[j].SortKey() })
	out := map[string]string{}
	speaks := map[string]bool{}
	for _, o := range offers {
		inLanguage := len(o.Languages) == 0
		for _, l := range o.Languages {
			inLanguage = inLanguage || l == language
		}
		if _, taken := out[o.PracticeID]; taken && (speaks[o.PracticeID] || !inLanguage) {
			continue
		}
		out[o.PracticeID] = o.ID
		speaks[o.PracticeID] = inLanguage
	}
	return out
}

// NeedMatch is an open need that fits one of an organisation's offers.
type NeedMatch struct {
	Need    *need.Need
	Score   float64
	OfferID string
	Reasons matching.Reasons
}

// ListMatchingNeeds asks for the open needs that fit an organisation's
// open offers.
type ListMatchingNeeds struct {
	OrganizationID string
	PageSize       int32
}

// ListMatchingNeedsHandler ranks open needs for the offers of an
// organisation, with the same scoring as ListNeedMatches seen from the
// other side: each need is the seeker, the offered practice the candidate.
type ListMatchingNeedsHandler struct{ d Deps }

// Handle returns the best matches first, each need once, with the offer it
// fits best; the organisation's own needs are left out.
func (h ListMatchingNeedsHandler) Handle(ctx context.Context, q ListMatchingNeeds) ([]NeedMatch, error) {
	size, err := matchesSize(q.PageSize)
	if err != nil {
		return nil, err
	}
	var v apperr.Violations
	validate.ID(&v, "organization_id", q.OrganizationID)
	if err := v.Err(); err != nil {
		return nil, err
	}
	if h.d.Search == nil {
		return nil, errNoSearch
	}
	if _, err := h.d.Organizations.Get(ctx, q.OrganizationID); err != nil {
		return nil, err
	}
	offers, err := h.d.Offers.List(ctx, offer.Filter{OrganizationID: q.OrganizationID, Status: offer.Open}, nil, maxOffersMatched)
	if err != nil {
		return nil, err
	}
	best := map[string]NeedMatch{}
	for _, o := range offers {
		p, ok, err := h.d.Search.Practice(ctx, o.PracticeID)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue // archived since it was offered
		}
		candidates, err := h.d.Search.MatchNeeds(ctx, MatchQuery{
			Text: practiceText(p), Language: firstLanguage(p.Languages), Themes: p.Themes, Sectors: p.Sectors,
			ExcludeOrganizationID: q.OrganizationID, Limit: h.d.Matching.Candidates,
		})
		if err != nil {
			return nil, err
		}
		top := 0.0
		for _, c := range candidates {
			top = max(top, c.TextScore)
		}
		for _, c := range candidates {
			n := c.Need
			text := relative(c.TextScore, top)
			score, reasons := matching.Score(h.d.Matching,
				matching.Seeker{Themes: n.Themes, Sectors: n.Sectors, TerritoryCode: n.Territory.Code},
				matching.Candidate{
					Text: text, MatchedTerms: c.MatchedTerms, Themes: p.Themes, Sectors: p.Sectors,
					TerritoryCode: p.Territory.Code, Adoption: p.Adoption, OpenOfferID: o.ID,
				})
			if !matching.Relevant(reasons, text) || score < h.d.Matching.MinScore {
				continue
			}
			if prev, seen := best[n.ID]; !seen || score > prev.Score {
				best[n.ID] = NeedMatch{Need: n, Score: score, OfferID: o.ID, Reasons: reasons}
			}
		}
	}
	out := make([]NeedMatch, 0, len(best))
	for _, m := range best {
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Score != out[j].Score {
			return out[i].Score > out[j].Score
		}
		return out[i].Need.ID < out[j].Need.ID
	})
	if len(out) > size {
		out = out[:size]
	}
	return out, nil
}

// practiceText is what of a practice is matched against needs: what it is
// and the problem it solves, not the long description.
func practiceText(p *practice.Practice) string {
	parts := []string{p.Title, p.Summary, p.Problem}
	for _, m := range p.Models {
		parts = append(parts, m.Title)
	}
	return strings.Join(parts, "\n")
}

func firstLanguage(languages []string) string {
	if len(languages) == 0 {
		return ""
	}
	return languages[0]
}
