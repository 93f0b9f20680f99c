package search

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	eventsv1 "github.com/gemella/gemella/proto/gemella/events/v1"
	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/paging"
	psearch "github.com/gemella/gemella/services/platform/search"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/need"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/organization"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/practice"
)

// Source is where the index is rebuilt from: the repositories, the truth.
type Source struct {
	Organizations organization.Repository
	Practices     practice.Repository
	Needs         need.Repository
}

// rebuildPage is how many aggregates one repository query reads during
// a rebuild or a reconcile, rebuildBatch how many documents one index
// batch carries: each batch is a segment to merge later, so fewer and
// larger ones index faster.
const (
	rebuildPage  = 200
	rebuildBatch = 2000
)

// Rebuild replaces what the index holds with what the repositories hold,
// then records from where the stream is to be followed: every event after
// st.Sequence is applied on top, and an event older than a document's
// version changes nothing, so writes that race with the rebuild are safe.
func (x *Index) Rebuild(ctx context.Context, src Source, st State) error {
	var orgs, practices, needs int
	_, err := x.Store.Rebuild(ctx, st, func(ctx context.Context, l *psearch.Loader) error {
		var err error
		if orgs, err = x.loadOrganizations(ctx, src.Organizations); err != nil {
			return err
		}
		practices, err = loadPages(ctx, l, func(after *paging.Cursor) ([]*practice.Practice, *paging.Cursor, error) {
			items, err := src.Practices.List(ctx, practice.Filter{Status: practice.Published}, after, rebuildPage)
			return items, nextCursor(items, func(p *practice.Practice) (string, string) { return p.SortKey(), p.ID }), err
		}, x.practiceEntry)
		if err != nil {
			return err
		}
		needs, err = loadPages(ctx, l, func(after *paging.Cursor) ([]*need.Need, *paging.Cursor, error) {
			items, err := src.Needs.List(ctx, need.Filter{Status: need.Open}, after, rebuildPage)
			return items, nextCursor(items, func(n *need.Need) (string, string) { return n.SortKey(), n.ID }), err
		}, x.needEntry)
		return err
	})
	if err != nil {
		return err
	}
	x.logger.Info("search index loaded", "organisations", orgs, "practices", practices, "needs", needs)
	return nil
}

func (x *Index) loadOrganizations(ctx context.Context, repo organization.Repository) (int, error) {
	var after *paging.Cursor
	n := 0
	for {
		items, err := repo.List(ctx, organization.Filter{}, after, rebuildPage)
		if err != nil {
			return n, fmt.Errorf("search index: load organisations: %w", err)
		}
		if err := x.ApplyOrganizations(items); err != nil {
			return n, fmt.Errorf("search index: organisations: %w", err)
		}
		n += len(items)
		if after = nextCursor(items, func(o *organization.Organization) (string, string) { return o.SortKey(), o.ID }); after == nil {
			return n, nil
		}
	}
}

// loadPages loads every page a repository returns into a rebuild.
func loadPages[T any](ctx context.Context, l *psearch.Loader, page func(after *paging.Cursor) ([]T, *paging.Cursor, error), toEntry func(T) (entry, error)) (int, error) {
	var after *paging.Cursor
	n := 0
	for {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		items, next, err := page(after)
		if err != nil {
			return n, fmt.Errorf("search index: load: %w", err)
		}
		for _, it := range items {
			e, err := toEntry(it)
			if err != nil {
				return n, err
			}
			if err := l.Write(e); err != nil {
				return n, err
			}
		}
		n += len(items)
		if next == nil {
			return n, nil
		}
		after = next
	}
}

// nextCursor is the cursor after a full page, nil after the last one.
func nextCursor[T any](items []T, key func(T) (string, string)) *paging.Cursor {
	if len(items) < rebuildPage {
		return nil
	}
	k, id := key(items[len(items)-1])
	return &paging.Cursor{Key: k, ID: id}
}

// ApplyEvent applies one event of the catalog stream at sequence seq.
// Events of no interest, and those that cannot be read (they would stop
// the index for good), only move the recorded sequence. The events are
// thin references: what one names is read from src as it is now, which
// is at least as new as the event (a resource gone is skipped); the store
// being away fails the event, which is read again.
func (x *Index) ApplyEvent(ctx context.Context, src Source, env *eventsv1.Envelope, seq uint64) error {
	id := env.GetAggregateId()
	switch t := env.GetType(); {
	case strings.HasPrefix(t, "catalog.practice."):
		if t != string(practice.EventPublished) && t != string(practice.EventRevised) && t != string(practice.EventArchived) && t != string(practice.EventSubmitted) {
			return x.skip(env, seq, nil)
		}
		p, err := current(ctx, src.Practices, id)
		if err != nil || p == nil {
			return x.skipOr(env, seq, err)
		}
		return x.ApplyPractice(p, seq)
	case t == "catalog.adoption.changed":
		// A transfer changed the practice's figures (the most adopted
		// order, the figures of a hit).
		var ac eventsv1.AdoptionChanged
		if err := env.GetPayload().UnmarshalTo(&ac); err != nil || ac.GetPracticeId() == "" {
			return x.skip(env, seq, err)
		}
		p, err := current(ctx, src.Practices, ac.GetPracticeId())
		if err != nil || p == nil {
			return x.skipOr(env, seq, err)
		}
		return x.ApplyPractice(p, seq)
	case strings.HasPrefix(t, "catalog.need."):
		n, err := current(ctx, src.Needs, id)
		if err != nil || n == nil {
			return x.skipOr(env, seq, err)
		}
		return x.ApplyNeed(n, seq)
	case strings.HasPrefix(t, "catalog.organisation."):
		o, err := current(ctx, src.Organizations, id)
		if err != nil || o == nil {
			return x.skipOr(env, seq, err)
		}
		return x.ApplyOrganization(o, seq)
	}
	return x.skip(env, seq, nil)
}

var errNoRepository = errors.New("no repository to read what the event names")

// current reads what an event names from its repository; nil, without
// error, when it is gone.
func current[A any, R interface {
	Get(context.Context, string) (*A, error)
}](ctx context.Context, repo R, id string) (*A, error) {
	if any(repo) == nil {
		return nil, errNoRepository
	}
	a, err := repo.Get(ctx, id)
	if k := apperr.KindOf(err); k == apperr.KindNotFound || k == apperr.KindInvalidArgument {
		return nil, nil
	}
	return a, err
}

// skipOr skips an event whose resource cannot be had (no repository), and
// fails on a store error so that the event is read again.
func (x *Index) skipOr(env *eventsv1.Envelope, seq uint64, err error) error {
	if err != nil && !errors.Is(err, errNoRepository) {
		return fmt.Errorf("read what event %s names: %w", env.GetEventId(), err)
	}
	return x.skip(env, seq, err)
}

func (x *Index) skip(env *eventsv1.Envelope, seq uint64, err error) error {
	if err != nil {
		x.logger.Warn("search index: unreadable event skipped", "event_id", env.GetEventId(), "type", env.GetType(), "sequence", seq, "err", err)
	}
	return x.write(seq)
}

// Subjects the index follows.
var followedSubjects = []string{"catalog.practice.>", "catalog.adoption.>", "catalog.need.>", "catalog.organisation.>"}

// Follower keeps an index current from the catalog's stream: the
// platform's follower (services/platform/search), with the catalog's
// events, rebuild and reconcile.
type Follower struct {
	Index  *Index
	JS     jetstream.JetStream
	Stream string
	Source Source
	// ReconcileEvery is how often practices are compared with the
	// repository (see Reconcile); 0 never.
	ReconcileEvery time.Duration
	Logger         *slog.Logger

	once sync.Once
	f    *psearch.Follower
}

func (f *Follower) platform() *psearch.Follower {
	f.once.Do(func() {
		f.f = &psearch.Follower{
			Store: f.Index.Store, Stream: f.Stream, Subjects: followedSubjects,
			Apply: func(ctx context.Context, env *eventsv1.Envelope, seq uint64) error {
				return f.Index.ApplyEvent(ctx, f.Source, env, seq)
			},
			Rebuild:             func(ctx context.Context, st State) error { return f.Index.Rebuild(ctx, f.Source, st) },
			Reconcile:           func(ctx context.Context) (psearch.Repairs, error) { return f.Index.Reconcile(ctx, f.Source) },
			ReconcileEvery:      f.ReconcileEvery,
			CompactAfterRebuild: true,
			Logger:              f.Logger,
		}
	})
	return f.f
}

// Prepare decides, at start, how the index is brought up to date: it is
// kept when the stream still has every event it has not applied, and Run
// replays them; otherwise it is to be rebuilt from the repositories, which
// Run does in the background while the index reports not ready.
func (f *Follower) Prepare(ctx context.Context) error {
	p := f.platform()
	p.JS = f.JS
	return p.Prepare(ctx)
}

// Rebuilding tells whether Prepare left a rebuild for Run to do.
func (f *Follower) Rebuilding() bool { return f.platform().Rebuilding() }

// Ready is the catalog's readiness check of its index: an error until
// Prepare has run and while the index is being rebuilt.
func (f *Follower) Ready(ctx context.Context) error { return f.platform().Ready(ctx) }

// rebuildReason says why the index cannot be brought up to date by
// replaying the stream, or "" when it can (psearch.RebuildReason).
func rebuildReason(fresh bool, recorded, current State, firstSeq uint64) string {
	return psearch.RebuildReason(fresh, recorded, current, firstSeq)
}

// Run rebuilds the index first when Prepare said so (and then compacts
// it), then applies the stream's events from the recorded sequence on,
// and reconciles on its timer, until ctx ends.
func (f *Follower) Run(ctx context.Context) error { return f.platform().Run(ctx) }
