package search

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/numeric"

	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/paging"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/need"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/organization"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/practice"
)

// Drift is how the index differed from the repositories when a reconcile
// compared them, each difference repaired.
type Drift struct {
	// Checked is how many practices and needs were compared.
	Checked int `json:"checked"`
	// Stale documents were indexed at an older version than the
	// repository's: an event not applied (or one no event says, such as
	// adoption figures).
	Stale int `json:"stale"`
	// Missing are published practices and open needs the index lacked.
	Missing int `json:"missing"`
	// Extra are documents of practices or needs no longer shown
	// (archived, matched, closed, gone), removed from the index.
	Extra int `json:"extra"`
	// Organizations are organisations whose kind the index did not have
	// at their current version; their practices' owner kinds follow.
	Organizations int `json:"organizations"`
	Took          time.Duration
}

// Repaired is how many differences were found, and repaired.
func (d Drift) Repaired() int { return d.Stale + d.Missing + d.Extra + d.Organizations }

func (d Drift) String() string {
	return fmt.Sprintf("checked %d: %d stale, %d missing, %d extra, %d organisations (%s)", d.Checked, d.Stale, d.Missing, d.Extra, d.Organizations, d.Took.Round(time.Millisecond))
}

// indexed is what the index holds of one practice or need.
type indexed struct {
	version int64
	// shown is false for a tombstone: the index knows the aggregate was
	// removed at version.
	shown bool
}

// Reconcile compares the index with the repositories, practice by
// practice and need by need, and repairs what differs: a document older
// than its aggregate is indexed again, a published practice or open need
// the index lacks is added, a document whose aggregate is no longer shown
// (or no longer exists) is removed, and organisations are brought to their
// current kind. Events say nearly everything; this catches what they did
// not (an event lost or skipped, an index restored from an old copy).
//
// Reconcile may run while events are applied: every repair is a write
// checked by version, as events are, and what looks like the index being
// ahead of the repository is read again before anything is decided.
func (x *Index) Reconcile(ctx context.Context, src Source) (Drift, error) {
	start := time.Now()
	var d Drift
	defer func() { d.Took = time.Since(start) }()
	if err := x.reconcileOrganizations(ctx, src.Organizations, &d); err != nil {
		return d, err
	}
	docs, err := x.indexedDocs()
	if err != nil {
		return d, err
	}
	seen := map[string]bool{}
	err = eachPage(ctx, func(after *paging.Cursor) ([]*practice.Practice, *paging.Cursor, error) {
		items, err := src.Practices.List(ctx, practice.Filter{}, after, rebuildPage)
		return items, nextCursor(items, func(p *practice.Practice) (string, string) { return p.SortKey(), p.ID }), err
	}, func(p *practice.Practice) error {
		id := practiceDocID(p.ID)
		seen[id] = true
		return x.reconcileOne(&d, id, docs[id], p.Version, p.Status == practice.Published, func() (entry, error) { return x.practiceEntry(p) },
			func() (int64, bool, entry, error) {
				fresh, err := src.Practices.Get(ctx, p.ID)
				if err != nil {
					return 0, false, entry{}, err
				}
				e, err := x.practiceEntry(fresh)
				return fresh.Version, fresh.Status == practice.Published, e, err
			})
	})
	if err != nil {
		return d, err
	}
	err = eachPage(ctx, func(after *paging.Cursor) ([]*need.Need, *paging.Cursor, error) {
		items, err := src.Needs.List(ctx, need.Filter{}, after, rebuildPage)
		return items, nextCursor(items, func(n *need.Need) (string, string) { return n.SortKey(), n.ID }), err
	}, func(n *need.Need) error {
		id := needDocID(n.ID)
		seen[id] = true
		return x.reconcileOne(&d, id, docs[id], n.Version, n.Status == need.Open, func() (entry, error) { return x.needEntry(n) },
			func() (int64, bool, entry, error) {
				fresh, err := src.Needs.Get(ctx, n.ID)
				if err != nil {
					return 0, false, entry{}, err
				}
				e, err := x.needEntry(fresh)
				return fresh.Version, fresh.Status == need.Open, e, err
			})
	})
	if err != nil {
		return d, err
	}
	// Shown in the index, not met in the repositories: created since the
	// listing began, or gone. Asked one by one.
	for id, doc := range docs {
		if seen[id] || !doc.shown {
			continue
		}
		if err := ctx.Err(); err != nil {
			return d, err
		}
		var err error
		switch {
		case strings.HasPrefix(id, practiceDocID("")):
			err = x.reconcileUnseen(&d, id, doc, func() (int64, bool, entry, error) {
				p, err := src.Practices.Get(ctx, strings.TrimPrefix(id, practiceDocID("")))
				if err != nil {
					return 0, false, entry{}, err
				}
				e, err := x.practiceEntry(p)
				return p.Version, p.Status == practice.Published, e, err
			})
		case strings.HasPrefix(id, needDocID("")):
			err = x.reconcileUnseen(&d, id, doc, func() (int64, bool, entry, error) {
				n, err := src.Needs.Get(ctx, strings.TrimPrefix(id, needDocID("")))
				if err != nil {
					return 0, false, entry{}, err
				}
				e, err := x.needEntry(n)
				return n.Version, n.Status == need.Open, e, err
			})
		}
		if err != nil {
			return d, err
		}
	}
	return d, nil
}

// reconcileOne compares one aggregate, as listed, with its document.
// reread reads the aggregate again, for when the index looks ahead.
func (x *Index) reconcileOne(d *Drift, id string, doc indexed, version int64, shown bool, toEntry func() (entry, error),
	reread func() (int64, bool, entry, error)) error {
	d.Checked++
	switch {
	case doc.version == version && doc.shown == shown, !shown && !doc.shown:
		return nil // the same, or shown by neither
	case doc.version > version:
		// The listing is older than the index: read it again.
		v, s, e, err := reread()
		if apperr.KindOf(err) == apperr.KindNotFound {
			return x.removeGone(d, id, doc)
		}
		if err != nil {
			return fmt.Errorf("search index: reconcile: %w", err)
		}
		if v == doc.version && s == doc.shown {
			return nil
		}
		version, shown = v, s
		if version <= doc.version {
			// Same version, another state: the index is wrong; the
			// repository says how it is.
			e.Force = true
		}
		return x.repair(d, doc, shown, e)
	}
	e, err := toEntry()
	if err != nil {
		return err
	}
	return x.repair(d, doc, shown, e)
}

// reconcileUnseen checks a document whose aggregate the listing did not
// return.
func (x *Index) reconcileUnseen(d *Drift, id string, doc indexed, reread func() (int64, bool, entry, error)) error {
	d.Checked++
	v, shown, e, err := reread()
	if apperr.KindOf(err) == apperr.KindNotFound {
		return x.removeGone(d, id, doc)
	}
	if err != nil {
		return fmt.Errorf("search index: reconcile: %w", err)
	}
	if v == doc.version && shown == doc.shown {
		return nil
	}
	if v <= doc.version {
		e.Force = true
	}
	return x.repair(d, doc, shown, e)
}

// repair writes e and counts what it repaired.
func (x *Index) repair(d *Drift, doc indexed, shown bool, e entry) error {
	switch {
	case shown && (doc.version == 0 || !doc.shown):
		d.Missing++
	case shown:
		d.Stale++
	case doc.shown:
		d.Extra++
	default:
		// Removed, and known removed at an older version: only the
		// tombstone's version moves.
	}
	return x.write(0, e)
}

// removeGone removes the document of an aggregate that no longer exists.
func (x *Index) removeGone(d *Drift, id string, doc indexed) error {
	if !doc.shown {
		return nil
	}
	d.Extra++
	return x.write(0, entry{ID: id, Version: doc.version, Force: true})
}

// reconcileOrganizations brings the kinds the index knows to the
// repository's.
func (x *Index) reconcileOrganizations(ctx context.Context, repo organization.Repository, d *Drift) error {
	return eachPage(ctx, func(after *paging.Cursor) ([]*organization.Organization, *paging.Cursor, error) {
		items, err := repo.List(ctx, organization.Filter{}, after, rebuildPage)
		return items, nextCursor(items, func(o *organization.Organization) (string, string) { return o.SortKey(), o.ID }), err
	}, func(o *organization.Organization) error {
		known, kind, err := knownOrganization(x.Value, o.ID)
		if err != nil {
			return err
		}
		if known >= o.Version && kind == o.Kind.String() {
			return nil
		}
		d.Organizations++
		return x.ApplyOrganization(o, 0)
	})
}

// eachPage calls fn on every item the pages hold.
func eachPage[T any](ctx context.Context, page func(after *paging.Cursor) ([]T, *paging.Cursor, error), fn func(T) error) error {
	var after *paging.Cursor
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		items, next, err := page(after)
		if err != nil {
			return fmt.Errorf("search index: reconcile: %w", err)
		}
		for _, it := range items {
			if err := fn(it); err != nil {
				return err
			}
		}
		if next == nil {
			return nil
		}
		after = next
	}
}

// indexedDocs reads, from the stored fields, the version of every
// practice and need document and whether it is shown or a tombstone.
func (x *Index) indexedDocs() (map[string]indexed, error) {
	adv, err := x.index().Advanced()
	if err != nil {
		return nil, err
	}
	r, err := adv.Reader()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	snap, ok := r.(*scorch.IndexSnapshot)
	if !ok {
		return nil, fmt.Errorf("search index: reader is a %T, not a scorch snapshot", r)
	}
	out := map[string]indexed{}
	for _, ss := range snap.Segments() {
		deleted := deletedOf(ss)
		for doc := uint64(0); doc < ss.Segment().Count(); doc++ {
			if deleted.Contains(uint32(doc)) {
				continue
			}
			id, err := ss.DocID(doc)
			if err != nil {
				return nil, err
			}
			var d indexed
			err = ss.VisitDocument(doc, func(field string, _ byte, value []byte, _ []uint64) bool {
				switch field {
				case fieldSource:
					d.shown = true
				case fieldVersion:
					if v, err := numeric.PrefixCoded(value).Int64(); err == nil {
						d.version = int64(numeric.Int64ToFloat64(v))
					}
				}
				return true
			})
			if err != nil {
				return nil, err
			}
			out[string(id)] = d
		}
	}
	return out, nil
}
