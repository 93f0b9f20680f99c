package search

import (
	"context"
	"time"
)

// Phases is where the time of searches goes, summed over those run with
// a context from WithPhases: what a benchmark prints beside its CPU
// profile. A search without it measures nothing.
type Phases struct {
	Searches int
	// Words is analysing the query: its words, typos, synonyms.
	Words time.Duration
	// Matches is computing the set of matches from the postings, with
	// the filters.
	Matches time.Duration
	// Facets is counting the facet values of the matches.
	Facets time.Duration
	// Ranking is scoring the matches (or ordering them by date) to keep
	// the page's.
	Ranking time.Duration
	// Page is reading and decoding the stored documents of the page.
	Page time.Duration
	// Highlights is marking the query's words in the page's texts.
	Highlights time.Duration
}

// Total is the sum of the phases.
func (p *Phases) Total() time.Duration {
	return p.Words + p.Matches + p.Facets + p.Ranking + p.Page + p.Highlights
}

type phasesKey struct{}

// WithPhases makes the searches run with the returned context add their
// phases to p. p is not safe for concurrent searches.
func WithPhases(ctx context.Context, p *Phases) context.Context {
	return context.WithValue(ctx, phasesKey{}, p)
}

func phasesOf(ctx context.Context) *Phases {
	p, _ := ctx.Value(phasesKey{}).(*Phases)
	return p
}

type phase int

const (
	phaseWords phase = iota
	phaseMatches
	phaseFacets
	phaseRanking
	phasePage
	phaseHighlights
)

// lap adds the time since *at to a phase and moves *at to now; nothing
// without phases.
func (p *Phases) lap(ph phase, at *time.Time) {
	if p == nil {
		return
	}
	now := time.Now()
	d := now.Sub(*at)
	*at = now
	switch ph {
	case phaseWords:
		p.Words += d
	case phaseMatches:
		p.Matches += d
	case phaseFacets:
		p.Facets += d
	case phaseRanking:
		p.Ranking += d
	case phasePage:
		p.Page += d
	case phaseHighlights:
		p.Highlights += d
	}
}

func (p *Phases) start() time.Time {
	if p == nil {
		return time.Time{}
	}
	p.Searches++
	return time.Now()
}
