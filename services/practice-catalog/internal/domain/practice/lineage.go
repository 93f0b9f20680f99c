package practice

import (
	"context"
	"slices"
	"sort"

	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/validate"
)

// Adaptation says that a practice adapts a model of another practice,
// possibly learnt through a twinning: the link from a receiving
// administration's own version back to where it comes from.
type Adaptation struct {
	PracticeID string
	ModelCode  string
	// TwinningID is the twinning the model was transferred through; empty
	// when it was adopted without one.
	TwinningID string
}

// MaxAdaptations bounds the models one practice may declare it adapts.
const MaxAdaptations = 20

// MaxLineageDepth bounds how many generations a lineage walk follows, up
// or down: far more than any real chain, and a bound on the reads.
const MaxLineageDepth = 12

// MaxLineagePractices bounds how many practices one lineage returns.
const MaxLineagePractices = 200

const adaptsField = "adapts"

// validateAdapts checks the shape of the declared adaptations; that they
// name existing practices and models, and form no cycle, is CheckLineage's.
func validateAdapts(v *apperr.Violations, adapts []Adaptation) {
	if len(adapts) > MaxAdaptations {
		v.Addf(adaptsField, "must have at most %d entries", MaxAdaptations)
	}
	seen := map[Adaptation]bool{}
	for i, a := range adapts {
		f := validate.Index(adaptsField, i)
		validate.ID(v, f+".practice_id", a.PracticeID)
		if !modelCode.MatchString(a.ModelCode) {
			v.Add(f+".model_code", "must be a capital letter followed by up to two capital letters or digits, e.g. A")
		}
		if a.TwinningID != "" {
			validate.ID(v, f+".twinning_id", a.TwinningID)
		}
		key := Adaptation{PracticeID: a.PracticeID, ModelCode: a.ModelCode}
		if seen[key] {
			v.Add(f, "is a duplicate")
		}
		seen[key] = true
	}
}

// Getter reads a practice by id, NotFound when there is none.
type Getter func(ctx context.Context, id string) (*Practice, error)

// CheckLineage refuses adaptations of self (the practice being written,
// empty for a new one) that name no existing practice, a model that
// practice does not have, the practice itself, or a practice that already
// descends from it: the lineage must stay a tree-like graph without
// cycles, so that walking it ends. visible says which practices the
// caller may name: one they cannot see is reported as not existing.
func CheckLineage(ctx context.Context, self string, adapts []Adaptation, get Getter, visible func(*Practice) bool) error {
	return CheckChangedLineage(ctx, self, adapts, nil, get, visible)
}

// CheckChangedLineage is CheckLineage for an edit: the adaptations the
// practice already declared (stored) are not checked again, so that a
// practice whose parent was deleted since (a draft, deleted by its
// editors) can still be edited; only what the edit adds must hold.
func CheckChangedLineage(ctx context.Context, self string, adapts, stored []Adaptation, get Getter, visible func(*Practice) bool) error {
	var v apperr.Violations
	for i, a := range adapts {
		if slices.Contains(stored, a) {
			continue
		}
		f := validate.Index(adaptsField, i)
		if self != "" && a.PracticeID == self {
			v.Add(f+".practice_id", "must not be the practice itself: a practice cannot adapt its own model")
			continue
		}
		parent, err := get(ctx, a.PracticeID)
		if apperr.KindOf(err) == apperr.KindNotFound || (err == nil && !visible(parent)) {
			v.Addf(f+".practice_id", "practice %q does not exist", a.PracticeID)
			continue
		}
		if err != nil {
			return err
		}
		if _, ok := parent.Model(a.ModelCode); !ok {
			v.Addf(f+".model_code", "practice %q has no model %s", a.PracticeID, a.ModelCode)
			continue
		}
		if self == "" {
			continue
		}
		cycle, err := descendsFrom(ctx, parent, self, get)
		if err != nil {
			return err
		}
		if cycle {
			v.Add(f+".practice_id", "would form a cycle: that practice already adapts this one, directly or through others")
		}
	}
	return v.Err()
}

// descendsFrom reports whether id is among start's ancestors: a practice
// start adapts, directly or through others.
func descendsFrom(ctx context.Context, start *Practice, id string, get Getter) (bool, error) {
	seen := map[string]bool{start.ID: true}
	frontier := []*Practice{start}
	for depth := 0; depth < MaxLineageDepth*4 && len(frontier) > 0; depth++ {
		var next []*Practice
		for _, p := range frontier {
			for _, a := range p.Adapts {
				if a.PracticeID == id {
					return true, nil
				}
				if seen[a.PracticeID] {
					continue
				}
				seen[a.PracticeID] = true
				up, err := get(ctx, a.PracticeID)
				if apperr.KindOf(err) == apperr.KindNotFound {
					continue
				}
				if err != nil {
					return false, err
				}
				next = append(next, up)
			}
		}
		frontier = next
	}
	return false, nil
}

// LineageFinder finds the practices that adapt a model of any of ids: the
// next generation down. A repository that stores practices implements it.
type LineageFinder interface {
	ListAdapting(ctx context.Context, ids []string) ([]*Practice, error)
}

// LineageNode is a practice in a lineage and how far it is from the
// practice asked about: generation 1 is what it adapts directly (an
// ancestor) or what adapts it directly (a descendant).
type LineageNode struct {
	Practice   *Practice
	Generation int
}

// Lineage is where a practice comes from and where it went.
type Lineage struct {
	Practice    *Practice
	Ancestors   []LineageNode
	Descendants []LineageNode
	// DescendantAdoptions counts the transfers adopted or partially
	// adopted of the models of every descendant: the second (and later)
	// generation of adoptions.
	DescendantAdoptions int
	// Truncated says a bound (depth or size) cut the walk.
	Truncated bool
}

// WalkLineage collects the ancestors of p (following Adapts up) and its
// descendants (following ListAdapting down), each once, up to the
// bounds; visible filters what the caller may see, and a hidden practice
// is left out together with what is reached only through it.
func WalkLineage(ctx context.Context, p *Practice, get Getter, find LineageFinder, visible func(*Practice) bool) (Lineage, error) {
	l := Lineage{Practice: p}
	seen := map[string]bool{p.ID: true}
	count := 1

	frontier := []*Practice{p}
	for gen := 1; gen <= MaxLineageDepth && len(frontier) > 0; gen++ {
		var next []*Practice
		for _, child := range frontier {
			for _, a := range child.Adapts {
				if seen[a.PracticeID] {
					continue
				}
				seen[a.PracticeID] = true
				up, err := get(ctx, a.PracticeID)
				if apperr.KindOf(err) == apperr.KindNotFound {
					continue
				}
				if err != nil {
					return Lineage{}, err
				}
				if !visible(up) {
					continue
				}
				if count >= MaxLineagePractices {
					l.Truncated = true
					continue
				}
				count++
				l.Ancestors = append(l.Ancestors, LineageNode{Practice: up, Generation: gen})
				next = append(next, up)
			}
		}
		frontier = next
		if gen == MaxLineageDepth && len(frontier) > 0 {
			l.Truncated = true
		}
	}

	ids := []string{p.ID}
	for gen := 1; gen <= MaxLineageDepth && len(ids) > 0; gen++ {
		found, err := find.ListAdapting(ctx, ids)
		if err != nil {
			return Lineage{}, err
		}
		sort.Slice(found, func(i, j int) bool { return found[i].SortKey() < found[j].SortKey() })
		ids = nil
		for _, down := range found {
			if seen[down.ID] || !visible(down) {
				continue
			}
			seen[down.ID] = true
			if count >= MaxLineagePractices {
				l.Truncated = true
				continue
			}
			count++
			l.Descendants = append(l.Descendants, LineageNode{Practice: down, Generation: gen})
			l.DescendantAdoptions += down.Adoption.Adopted + down.Adoption.PartiallyAdopted
			ids = append(ids, down.ID)
		}
		if gen == MaxLineageDepth && len(ids) > 0 {
			l.Truncated = true
		}
	}
	return l, nil
}
