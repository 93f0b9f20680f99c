package search

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	eventsv1 "github.com/gemella/gemella/proto/gemella/events/v1"
)

// All lists every document a service shows now, for a rebuild or a
// reconcile: it calls yield once per document, from its own store.
type All func(ctx context.Context, yield func(Document) error) error

// Follower keeps a Store current from its service's stream. Events are
// thin: Changes reads, from the service's own store, what an event's
// aggregate is now, and says what to index or remove.
type Follower struct {
	Store    *Store
	JS       jetstream.JetStream
	Stream   string
	Subjects []string
	// Changes are the writes one event calls for; none for an event of
	// no interest. An error stops the follower, which starts again from
	// the last sequence applied.
	Changes func(ctx context.Context, env *eventsv1.Envelope) ([]Change, error)
	// Apply, when set, is used instead of Changes by an index of the
	// service's own shape: it applies the event, at stream sequence seq,
	// and records seq in the same write (Store.Write, Store.Update).
	Apply func(ctx context.Context, env *eventsv1.Envelope, seq uint64) error
	// All rebuilds and reconciles the index.
	All All
	// Rebuild and Reconcile, when set, are used instead of rebuilding
	// from All (Store.Rebuild) and reconciling with it (Store.Reconcile).
	Rebuild   func(ctx context.Context, st State) error
	Reconcile func(ctx context.Context) (Repairs, error)
	// ReconcileEvery is how often the index is compared with All; 0 never.
	ReconcileEvery time.Duration
	// CompactAfterRebuild merges a disk index into one segment after a
	// rebuild (Store.Compact), while the follower goes on.
	CompactAfterRebuild bool
	Logger              *slog.Logger

	// rebuild is the stream state a rebuild Prepare asked for starts from;
	// rebuilding tells, to anyone, that Run has not done it yet.
	rebuild    *State
	rebuilding atomic.Bool
	prepared   atomic.Bool
}

// Repairs is what a reconcile found and repaired (Drift).
type Repairs interface {
	Repaired() int
}

// Ready is the readiness check of a service whose index f keeps current
// (servicekit.Worker.Ready): ErrNotReady until Prepare has decided how
// the index is brought up to date and while it is rebuilt, nil once the
// index holds everything but the events being replayed.
func (f *Follower) Ready(context.Context) error {
	if !f.prepared.Load() || !f.Store.Ready() {
		return ErrNotReady
	}
	return nil
}

// Rebuilding tells whether Prepare left a rebuild that Run has not done yet.
func (f *Follower) Rebuilding() bool { return f.rebuilding.Load() }

func (f *Follower) logger() *slog.Logger {
	if f.Logger == nil {
		return slog.Default()
	}
	return f.Logger
}

// Prepare decides, at start, how the index is brought up to date: kept
// when the stream still has every event it has not applied (Run replays
// them), rebuilt from the service's store otherwise, which Run does in
// the background while the index reports not ready.
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
	recorded, err := f.Store.State()
	if err != nil {
		return err
	}
	reason := RebuildReason(f.Store.fresh, recorded, current, info.State.FirstSeq)
	if reason == "" {
		f.logger().Info("search index kept", "sequence", recorded.Sequence, "stream_last", current.Sequence)
		f.Store.setReady(true)
		f.prepared.Store(true)
		return nil
	}
	f.logger().Info("search index to rebuild in the background", "reason", reason)
	f.rebuild = &current
	f.rebuilding.Store(true)
	f.Store.setReady(false)
	f.prepared.Store(true)
	return nil
}

// RebuildReason says why an index that recorded st cannot be brought up
// to date by replaying a stream now at current, whose first sequence is
// firstSeq, or "" when it can.
func RebuildReason(fresh bool, recorded, current State, firstSeq uint64) string {
	switch {
	case fresh:
		return "new index"
	case recorded.Stream != current.Stream:
		return "the stream is not the one the index followed"
	case recorded.Sequence > current.Sequence:
		return "the index is ahead of the stream"
	case recorded.Sequence+1 < firstSeq:
		return "events the index has not applied are no longer on the stream"
	}
	return ""
}

// Run rebuilds the index first when Prepare said so, then applies the
// stream's events from the recorded sequence on, and reconciles on its
// timer, until ctx ends.
func (f *Follower) Run(ctx context.Context) error {
	if f.rebuild != nil {
		if !f.rebuildInBackground(ctx) {
			return nil
		}
		if f.CompactAfterRebuild {
			// One segment answers fastest; the follower goes on meanwhile.
			done := make(chan struct{})
			defer func() { <-done }()
			go func() {
				defer close(done)
				if err := f.Store.Compact(ctx); err != nil && ctx.Err() == nil {
					f.logger().Warn("search index: compact after the rebuild", "err", err)
				}
			}()
		}
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

// rebuildInBackground rebuilds the index, retrying until it succeeds or
// ctx ends, then reports it ready.
func (f *Follower) rebuildInBackground(ctx context.Context) bool {
	wait := 250 * time.Millisecond
	for {
		start := time.Now()
		err := f.rebuildOnce(ctx, *f.rebuild)
		if err == nil {
			f.logger().Info("search index rebuilt", "from_sequence", f.rebuild.Sequence, "took", time.Since(start).Round(time.Millisecond))
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
	f.rebuilding.Store(false)
	f.Store.setReady(true)
	return true
}

func (f *Follower) rebuildOnce(ctx context.Context, st State) error {
	if f.Rebuild != nil {
		return f.Rebuild(ctx, st)
	}
	n, err := f.Store.load(ctx, f.All, st)
	if err == nil {
		f.logger().Info("search index loaded", "documents", n)
	}
	return err
}

func (f *Follower) reconcileOnce(ctx context.Context) (Repairs, error) {
	if f.Reconcile != nil {
		return f.Reconcile(ctx)
	}
	return f.Store.Reconcile(ctx, f.All)
}

func (f *Follower) reconcile(ctx context.Context) {
	t := time.NewTicker(f.ReconcileEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			d, err := f.reconcileOnce(ctx)
			switch {
			case err != nil && ctx.Err() == nil:
				f.logger().Warn("search index: reconcile", "err", err, "drift", d)
			case err == nil && d != nil && d.Repaired() > 0:
				f.logger().Warn("search index: drift repaired", "drift", d)
			}
		}
	}
}

// followOnce reads the stream with an ordered consumer from the recorded
// sequence: nothing to acknowledge, nothing left on the server when the
// replica goes away, no name to share between replicas.
func (f *Follower) followOnce(ctx context.Context) error {
	st, err := f.Store.State()
	if err != nil {
		return err
	}
	setup, cancel := context.WithTimeout(ctx, 10*time.Second)
	cons, err := f.JS.OrderedConsumer(setup, f.Stream, jetstream.OrderedConsumerConfig{
		FilterSubjects: f.Subjects,
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
		if err := f.handle(ctx, msg.Data(), meta.Sequence.Stream); err != nil {
			return err
		}
	}
}

// handle applies one event of the stream, at sequence seq. One that
// cannot be read (it would stop the index for good) only moves the
// recorded sequence.
func (f *Follower) handle(ctx context.Context, data []byte, seq uint64) error {
	var env eventsv1.Envelope
	if err := proto.Unmarshal(data, &env); err != nil {
		f.logger().Warn("search index: unreadable event skipped", "sequence", seq, "err", err)
		return f.Store.Apply(seq)
	}
	if err := f.apply(ctx, &env, seq); err != nil {
		return fmt.Errorf("event %s at %d: %w", env.GetEventId(), seq, err)
	}
	return nil
}

// apply has the service apply an event, within a deadline.
func (f *Follower) apply(ctx context.Context, env *eventsv1.Envelope, seq uint64) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if f.Apply != nil {
		return f.Apply(ctx, env, seq)
	}
	changes, err := f.Changes(ctx, env)
	if err != nil {
		return err
	}
	return f.Store.Apply(seq, changes...)
}
