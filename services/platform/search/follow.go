package search

import (
	"context"
	"fmt"
	"log/slog"
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
	// All rebuilds and reconciles the index.
	All All
	// ReconcileEvery is how often the index is compared with All; 0 never.
	ReconcileEvery time.Duration
	Logger         *slog.Logger

	rebuild *State
}

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
		return nil
	}
	f.logger().Info("search index to rebuild in the background", "reason", reason)
	f.rebuild = &current
	f.Store.setReady(false)
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
		wait := 250 * time.Millisecond
		for {
			start := time.Now()
			n, err := f.Store.load(ctx, f.All, *f.rebuild)
			if err == nil {
				f.logger().Info("search index rebuilt", "documents", n, "from_sequence", f.rebuild.Sequence, "took", time.Since(start).Round(time.Millisecond))
				break
			}
			if ctx.Err() != nil {
				return nil
			}
			f.logger().Warn("search index: rebuild failed; retrying", "err", err, "retry_in", wait)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(wait):
			}
			wait = min(2*wait, 30*time.Second)
		}
		f.rebuild = nil
		f.Store.setReady(true)
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
			d, err := f.Store.Reconcile(ctx, f.All)
			switch {
			case err != nil && ctx.Err() == nil:
				f.logger().Warn("search index: reconcile", "err", err)
			case d.Repaired() > 0:
				f.logger().Warn("search index: drift repaired", "stale", d.Stale, "missing", d.Missing, "extra", d.Extra)
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
		seq := meta.Sequence.Stream
		var env eventsv1.Envelope
		if err := proto.Unmarshal(msg.Data(), &env); err != nil {
			f.logger().Warn("search index: unreadable event skipped", "sequence", seq, "err", err)
			if err := f.Store.Apply(seq); err != nil {
				return err
			}
			continue
		}
		changes, err := f.changes(ctx, &env)
		if err != nil {
			return fmt.Errorf("event %s at %d: %w", env.GetEventId(), seq, err)
		}
		if err := f.Store.Apply(seq, changes...); err != nil {
			return fmt.Errorf("event %s at %d: %w", env.GetEventId(), seq, err)
		}
	}
}

// changes asks the service, within a deadline, what an event changes.
func (f *Follower) changes(ctx context.Context, env *eventsv1.Envelope) ([]Change, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return f.Changes(ctx, env)
}
