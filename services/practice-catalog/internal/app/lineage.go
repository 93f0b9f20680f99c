package app

import (
	"context"
	"errors"

	"github.com/gemella/gemella/services/platform/auth"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/practice"
)

// checkLineage checks the adaptations a practice declares (self is its
// id, empty for a new one): they must name practices and models the
// caller can see, not the practice itself, and form no cycle.
// stored are the adaptations it declared before this write, not checked
// again (their parent may have been deleted since).
func checkLineage(ctx context.Context, d Deps, self string, adapts, stored []practice.Adaptation) error {
	if len(adapts) == 0 {
		return nil
	}
	caller := auth.CallerFrom(ctx)
	return practice.CheckChangedLineage(ctx, self, adapts, stored, d.Practices.Get, func(p *practice.Practice) bool { return canSeePractice(caller, p) })
}

// GetPracticeLineageHandler returns where a practice comes from and where
// it went.
type GetPracticeLineageHandler struct{ d Deps }

// Handle walks the practice's ancestors and descendants, showing only the
// practices the caller in ctx may see.
func (h GetPracticeLineageHandler) Handle(ctx context.Context, idOrSlug string) (practice.Lineage, error) {
	p, err := GetPracticeHandler(h).Handle(ctx, idOrSlug)
	if err != nil {
		return practice.Lineage{}, err
	}
	find := h.d.Lineage
	if find == nil {
		find, _ = h.d.Practices.(practice.LineageFinder)
	}
	if find == nil {
		// Both repositories implement it (adapters assert so) and the
		// service wires it: only a test's own fake could lack it.
		return practice.Lineage{}, errors.New("practice repository has no ListAdapting")
	}
	caller := auth.CallerFrom(ctx)
	return practice.WalkLineage(ctx, p, h.d.Practices.Get, find, func(p *practice.Practice) bool { return canSeePractice(caller, p) })
}
