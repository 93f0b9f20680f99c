package search

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

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
	start := time.Now()
	if err := x.reset(); err != nil {
		return err
	}
	orgs, err := x.loadOrganizations(ctx, src.Organizations)
	if err != nil {
		return err
	}
	practices, err := loadPages(ctx, x, func(after *paging.Cursor) ([]*practice.Practice, *paging.Cursor, error) {
		items, err := src.Practices.List(ctx, practice.Filter{Status: practice.Published}, after, rebuildPage)
		return items, nextCursor(items, func(p *practice.Practice) (string, string) { return p.SortKey(), p.ID }), err
	}, unchecked(x.practiceEntry))
	if err != nil {
		return err
	}
	needs, err := loadPages(ctx, x, func(after *paging.Cursor) ([]*need.Need, *paging.Cursor, error) {
		items, err := src.Needs.List(ctx, need.Filter{Status: need.Open}, after, rebuildPage)
		return items, nextCursor(items, func(n *need.Need) (string, string) { return n.SortKey(), n.ID }), err
	}, unchecked(x.needEntry))
	if err != nil {
		return err
	}
	idx := x.index()
	b := idx.NewBatch()
	b.SetInternal(keySequence, encodeUint(st.Sequence))
	b.SetInternal(keyStream, []byte(st.Stream))
	if err := idx.Batch(b); err != nil {
		return fmt.Errorf("search index: record state: %w", err)
	}
	x.fresh = false
	x.logger.Info("search index rebuilt", "organisations", orgs, "practices", practices, "needs", needs,
		"from_sequence", st.Sequence, "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// reset empties the index unless it is empty already.
func (x *Index) reset() error {
	if x.fresh {
		return nil
	}
	m, err := newMapping(x.synonymSeqs)
	if err != nil {
		return err
	}
	x.writeMu.Lock()
	defer x.writeMu.Unlock()
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.idx != nil {
		_ = x.idx.Close()
	}
	if x.dir != "" {
		if err := os.RemoveAll(x.dir); err != nil {
			return fmt.Errorf("remove search index %s: %w", x.dir, err)
		}
	}
	x.idx, err = x.newIndex(x.dir, m)
	return err
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

// unchecked marks the entries of a rebuild: the index was emptied first.
func unchecked[T any](toEntry func(T) (entry, error)) func(T) (entry, error) {
	return func(v T) (entry, error) {
		e, err := toEntry(v)
		e.unchecked = true
		return e, err
	}
}

// loadPages writes every page a repository returns, in batches of about
// rebuildBatch documents.
func loadPages[T any](ctx context.Context, x *Index, page func(after *paging.Cursor) ([]T, *paging.Cursor, error), toEntry func(T) (entry, error)) (int, error) {
	var after *paging.Cursor
	n := 0
	var entries []entry
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
			entries = append(entries, e)
		}
		n += len(items)
		if len(entries) >= rebuildBatch || next == nil {
			if err := x.write(0, entries...); err != nil {
				return n, err
			}
			entries = entries[:0]
		}
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

// Follower keeps an index current from the catalog's stream.
type Follower struct {
	Index  *Index
	JS     jetstream.JetStream
	Stream string
	Source Source
	// ReconcileEvery is how often practices are compared with the
	// repository (see Reconcile); 0 never.
	ReconcileEvery time.Duration
	Logger         *slog.Logger

	// rebuild is the stream state a rebuild Prepare asked for starts from.
	rebuild *State
}

func (f *Follower) logger() *slog.Logger {
	if f.Logger == nil {
		return slog.Default()
	}
	return f.Logger
}

// Prepare decides, at start, how the index is brought up to date: it is
// kept when the stream still has every event it has not applied, and Run
// replays them; otherwise (a new index, missing or unreadable on disk, or
// in memory; another stream; events gone from the stream) it is to be
// rebuilt from the repositories, which Run does in the background while
// the index reports not ready. Prepare itself only asks the stream where
// it is, so the service starts at once either way.
func (f *Follower) Prepare(ctx context.Context) error {
	stream, err := f.JS.Stream(ctx, f.Stream)
	if err != nil {
		return fmt.Errorf("search index: stream %s: %w", f.Stream, err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		return fmt.Errorf("search index: stream %s: %w", f.Stream, err)
	}
	current := State{Sequence: info.State.LastSeq, Stream: info.Created.UTC().Format(time.RFC3339Nano)}
	recorded, err := f.Index.State()
	if err != nil {
		return err
	}
	reason := rebuildReason(f.Index.fresh, recorded, current, info.State.FirstSeq)
	if reason == "" {
		f.logger().Info("search index kept", "sequence", recorded.Sequence, "stream_last", current.Sequence)
		f.Index.setReady(true)
		return nil
	}
	f.logger().Info("search index to rebuild in the background", "reason", reason)
	f.rebuild = &current
	f.Index.setReady(false)
	return nil
}

// Rebuilding tells whether Prepare left a rebuild for Run to do.
func (f *Follower) Rebuilding() bool { return f.rebuild != nil }

// rebuildInBackground rebuilds the index, retrying until it succeeds or
// ctx ends, then reports it ready and compacts it.
func (f *Follower) rebuildInBackground(ctx context.Context) bool {
	wait := 250 * time.Millisecond
	for {
		err := f.Index.Rebuild(ctx, f.Source, *f.rebuild)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return false
		}
		f.logger().Warn("search index: rebuild failed; retrying", "err", err, "retry_in", wait)
		select {
		case <-ctx.Done():
			return false
		case <-time.After(wait):
		}
		wait = min(2*wait, 30*time.Second)
	}
	f.rebuild = nil
	f.Index.setReady(true)
	return true
}

// rebuildReason says why the index cannot be brought up to date by
// replaying the stream, or "" when it can (psearch.RebuildReason).
func rebuildReason(fresh bool, recorded, current State, firstSeq uint64) string {
	return psearch.RebuildReason(fresh, recorded, current, firstSeq)
}

// Run rebuilds the index first when Prepare said so, then applies the
// stream's events from the recorded sequence on, and reconciles on its
// timer, until ctx ends. It outlives NATS outages: an interrupted consumer
// starts again from the recorded sequence.
func (f *Follower) Run(ctx context.Context) error {
	if f.rebuild != nil {
		if !f.rebuildInBackground(ctx) {
			return nil
		}
		// One segment answers fastest; the follower goes on meanwhile.
		done := make(chan struct{})
		defer func() { <-done }()
		go func() {
			defer close(done)
			if err := f.Index.Compact(ctx); err != nil && ctx.Err() == nil {
				f.logger().Warn("search index: compact after the rebuild", "err", err)
			}
		}()
	}
	if f.ReconcileEvery > 0 {
		done := make(chan struct{})
		defer func() { <-done }()
		go func() { defer close(done); f.reconcile(ctx) }()
	}
	wait := 250 * time.Millisecond
	for ctx.Err() == nil {
		err := f.followOnce(ctx)
		if ctx.Err() != nil {
			break
		}
		f.logger().Warn("search index: following the stream interrupted; retrying", "err", err, "retry_in", wait)
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
		wait = min(2*wait, 5*time.Second)
	}
	return nil
}

func (f *Follower) reconcile(ctx context.Context) {
	t := time.NewTicker(f.ReconcileEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			d, err := f.Index.Reconcile(ctx, f.Source)
			switch {
			case err != nil && ctx.Err() == nil:
				f.logger().Warn("search index: reconcile", "err", err, "drift", d)
			case d.Repaired() > 0:
				f.logger().Warn("search index: drift repaired", "drift", d)
			}
		}
	}
}

// followOnce reads the stream with an ordered consumer from the recorded
// sequence: nothing to acknowledge, nothing left on the server when the
// replica goes away, and no name to share between replicas.
func (f *Follower) followOnce(ctx context.Context) error {
	st, err := f.Index.State()
	if err != nil {
		return err
	}
	setup, cancel := context.WithTimeout(ctx, 10*time.Second)
	cons, err := f.JS.OrderedConsumer(setup, f.Stream, jetstream.OrderedConsumerConfig{
		FilterSubjects: followedSubjects,
		DeliverPolicy:  jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:    st.Sequence + 1,
	})
	cancel()
	if err != nil {
		return fmt.Errorf("ordered consumer: %w", err)
	}
	it, err := cons.Messages()
	if err != nil {
		return fmt.Errorf("ordered consumer: %w", err)
	}
	defer it.Stop()
	// Next does not take a context: stopping the iterator ends it.
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-ctx.Done():
			it.Stop()
		case <-done:
		}
	}()
	for {
		msg, err := it.Next()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		meta, err := msg.Metadata()
		if err != nil {
			continue
		}
		var env eventsv1.Envelope
		if err := proto.Unmarshal(msg.Data(), &env); err != nil {
			if err := f.Index.skip(&env, meta.Sequence.Stream, err); err != nil {
				return err
			}
			continue
		}
		if err := f.Index.ApplyEvent(ctx, f.Source, &env, meta.Sequence.Stream); err != nil {
			return fmt.Errorf("event %s at %d: %w", env.GetEventId(), meta.Sequence.Stream, err)
		}
	}
}
