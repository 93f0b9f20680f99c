package outbox

import (
	"github.com/gemella/gemella/services/platform/doclock"

	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/gemella/gemella/services/platform/events"
)

const (
	defaultSweepInterval  = 2 * time.Second
	defaultBatchSize      = 100
	defaultPublishTimeout = 5 * time.Second
	defaultQueryTimeout   = 10 * time.Second
)

// RelayConfig tunes a Relay; zero values take the defaults.
type RelayConfig struct {
	// SweepInterval is how often the relay looks for pending events when
	// nobody calls Notify; default 2s. It bounds the delay after a crash or
	// a NATS outage.
	SweepInterval time.Duration
	// BatchSize is how many documents one query of one collection reads;
	// default 100.
	BatchSize int
	// PublishTimeout bounds the wait for one event's stream ack; default 5s.
	PublishTimeout time.Duration
	// QueryTimeout bounds each database call; default 10s.
	QueryTimeout time.Duration
	// Logger; nil means slog.Default().
	Logger *slog.Logger
	// Locks, shared with the repositories that write the same documents,
	// make the clear atomic on the embedded FerretDB (see doclock); nil
	// takes no lock, which is right for MongoDB.
	Locks *doclock.Locks
}

func (c RelayConfig) withDefaults() RelayConfig {
	if c.SweepInterval <= 0 {
		c.SweepInterval = defaultSweepInterval
	}
	if c.BatchSize <= 0 {
		c.BatchSize = defaultBatchSize
	}
	if c.PublishTimeout <= 0 {
		c.PublishTimeout = defaultPublishTimeout
	}
	if c.QueryTimeout <= 0 {
		c.QueryTimeout = defaultQueryTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Stats counts what a Relay has done since it was made.
type Stats struct {
	// Published counts records the stream acknowledged, re-publishes
	// (dropped by the duplicate window) included.
	Published uint64
	// Failures counts passes that stopped early, mostly because NATS or the
	// database was unavailable; their records stay pending.
	Failures uint64
	// Conflicts counts documents left pending because an aggregate write
	// changed their version between read and clear.
	Conflicts uint64
	// Dropped counts records discarded for having no id or subject.
	Dropped uint64
}

// Relay moves pending events from aggregate documents to JetStream. One
// Relay serves all the outbox collections of a service; run one per process.
type Relay struct {
	cfg   RelayConfig
	pub   events.Publisher
	colls []*mongo.Collection
	log   *slog.Logger
	wake  chan struct{}

	passMu sync.Mutex // one pass at a time, whether from Run or RelayOnce

	published, failures, conflicts, dropped atomic.Uint64
}

// NewRelay makes a relay that publishes through pub the pending events of
// the documents in collections.
func NewRelay(cfg RelayConfig, pub events.Publisher, collections ...*mongo.Collection) *Relay {
	cfg = cfg.withDefaults()
	return &Relay{
		cfg:   cfg,
		pub:   pub,
		colls: collections,
		log:   cfg.Logger.With(slog.String("component", "outbox-relay")),
		wake:  make(chan struct{}, 1),
	}
}

// Notify wakes the relay after a write that left pending events. It never
// blocks, and notifications that arrive while one is waiting merge into it.
func (r *Relay) Notify() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Stats returns the relay's counters.
func (r *Relay) Stats() Stats {
	return Stats{
		Published: r.published.Load(),
		Failures:  r.failures.Load(),
		Conflicts: r.conflicts.Load(),
		Dropped:   r.dropped.Load(),
	}
}

// Run relays on every Notify and every SweepInterval until ctx is done, then
// returns nil. A failed pass keeps its records for the next one; Run logs a
// warning when relaying starts failing and a notice when it recovers, not
// every failed attempt.
func (r *Relay) Run(ctx context.Context) error {
	if err := r.check(); err != nil {
		return err
	}
	ticker := time.NewTicker(r.cfg.SweepInterval)
	defer ticker.Stop()

	var failedPasses int
	for {
		err := r.drain(ctx)
		if ctx.Err() != nil {
			return nil
		}
		switch {
		case err != nil && failedPasses == 0:
			r.log.Warn("relaying events failed; pending events are kept and retried", slog.Any("error", err), slog.Duration("retry_in", r.cfg.SweepInterval))
			failedPasses++
		case err != nil:
			r.log.Debug("relaying events failed again", slog.Any("error", err))
			failedPasses++
		case failedPasses > 0:
			r.log.Info("relaying events recovered", slog.Int("failed_passes", failedPasses))
			failedPasses = 0
		}

		select {
		case <-ctx.Done():
			return nil
		case <-r.wake:
		case <-ticker.C:
		}
	}
}

// drain runs passes while they find full batches and make progress.
func (r *Relay) drain(ctx context.Context) error {
	for {
		_, more, err := r.pass(ctx)
		if err != nil || !more || ctx.Err() != nil {
			return err
		}
	}
}

// RelayOnce runs one pass over every collection: it reads up to BatchSize
// documents with pending events from each and publishes and clears them. It
// returns how many records were published, and stops at the first error.
func (r *Relay) RelayOnce(ctx context.Context) (published int, err error) {
	if err := r.check(); err != nil {
		return 0, err
	}
	published, _, err = r.pass(ctx)
	return published, err
}

func (r *Relay) check() error {
	var errs []error
	if r.pub == nil {
		errs = append(errs, errors.New("publisher is required"))
	}
	if len(r.colls) == 0 {
		errs = append(errs, errors.New("at least one collection is required"))
	}
	for i, c := range r.colls {
		if c == nil {
			errs = append(errs, fmt.Errorf("collection %d is nil", i))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("outbox relay: %w", err)
	}
	return nil
}

// pass relays one batch of every collection. more reports that some
// collection filled its batch and cleared documents, so another pass has
// work right away.
func (r *Relay) pass(ctx context.Context) (published int, more bool, err error) {
	r.passMu.Lock()
	defer r.passMu.Unlock()
	for _, coll := range r.colls {
		n, full, err := r.relayCollection(ctx, coll)
		published += n
		more = more || full
		if err != nil {
			if ctx.Err() == nil { // a pass cut short by shutdown did not fail
				r.failures.Add(1)
			}
			return published, more, fmt.Errorf("relay %s.%s: %w", coll.Database().Name(), coll.Name(), err)
		}
	}
	return published, more, nil
}

// pendingDoc is the part of an aggregate document the relay reads. _id and
// version stay raw so that the clear matches them exactly, whatever their
// BSON types.
type pendingDoc struct {
	ID      bson.RawValue `bson:"_id"`
	Version bson.RawValue `bson:"version"`
	Pending []Record      `bson:"pending_events"`
}

func (r *Relay) relayCollection(ctx context.Context, coll *mongo.Collection) (published int, fullAndCleared bool, err error) {
	docs, err := r.findPending(ctx, coll)
	if err != nil {
		return 0, false, err
	}
	cleared := 0
	for _, doc := range docs {
		for _, rec := range doc.Pending {
			if rec.ID == "" || rec.Subject == "" {
				r.dropped.Add(1)
				r.log.Error("dropping outbox record without id or subject",
					slog.String("collection", coll.Name()), slog.Any("doc_id", doc.ID), slog.String("event_id", rec.ID), slog.String("subject", rec.Subject))
				continue
			}
			pubCtx, cancel := context.WithTimeout(ctx, r.cfg.PublishTimeout)
			err := r.pub.Publish(pubCtx, rec.Subject, rec.ID, rec.Data)
			cancel()
			if err != nil {
				// Most likely NATS is down: the rest would fail the same way.
				return published, false, fmt.Errorf("document %v: %w", doc.ID, err)
			}
			published++
			r.published.Add(1)
		}
		ok, err := r.clear(ctx, coll, doc)
		if err != nil {
			return published, false, err
		}
		if ok {
			cleared++
		}
	}
	return published, len(docs) == r.cfg.BatchSize && cleared > 0, nil
}

func (r *Relay) findPending(ctx context.Context, coll *mongo.Collection) ([]pendingDoc, error) {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.QueryTimeout)
	defer cancel()
	cur, err := coll.Find(ctx,
		bson.D{{Key: Field + ".0", Value: bson.D{{Key: "$exists", Value: true}}}},
		options.Find().
			SetLimit(int64(r.cfg.BatchSize)).
			SetProjection(bson.D{{Key: "_id", Value: 1}, {Key: VersionField, Value: 1}, {Key: Field, Value: 1}}),
	)
	if err != nil {
		return nil, fmt.Errorf("find pending events: %w", err)
	}
	defer func() { _ = cur.Close(ctx) }() // runs before cancel

	var docs []pendingDoc
	for cur.Next(ctx) {
		var doc pendingDoc
		if err := cur.Decode(&doc); err != nil {
			// One malformed document must not hold up the others.
			r.log.Error("skipping undecodable outbox document", slog.String("collection", coll.Name()),
				slog.Any("doc_id", cur.Current.Lookup("_id")), slog.Any("error", err))
			continue
		}
		docs = append(docs, doc)
	}
	if err := cur.Err(); err != nil {
		return nil, fmt.Errorf("read pending events: %w", err)
	}
	return docs, nil
}

// clear empties the document's pending events if its version is still the
// one read. A changed version means an aggregate write kept these records
// and maybe added more; the next pass publishes them all again and the
// duplicate window drops the repeats. ($pull by event id would be exact,
// but FerretDB v1 matches such an update and changes nothing.)
func (r *Relay) clear(ctx context.Context, coll *mongo.Collection, doc pendingDoc) (bool, error) {
	filter := bson.D{{Key: "_id", Value: doc.ID}}
	if doc.Version.Type == 0 {
		filter = append(filter, bson.E{Key: VersionField, Value: bson.D{{Key: "$exists", Value: false}}})
	} else {
		filter = append(filter, bson.E{Key: VersionField, Value: doc.Version})
	}
	defer r.cfg.Locks.Lock(coll.Name(), lockKey(doc.ID))()
	ctx, cancel := context.WithTimeout(ctx, r.cfg.QueryTimeout)
	defer cancel()
	res, err := coll.UpdateOne(ctx, filter, bson.D{{Key: "$set", Value: bson.D{{Key: Field, Value: bson.A{}}}}})
	if err != nil {
		return false, fmt.Errorf("clear pending events of %v: %w", doc.ID, err)
	}
	if res.MatchedCount == 0 {
		r.conflicts.Add(1)
		r.log.Debug("document changed while relaying; its events are published again next pass",
			slog.String("collection", coll.Name()), slog.Any("doc_id", doc.ID))
		return false, nil
	}
	return true, nil
}

// lockKey is the document key the repositories lock: the string form of a
// string _id.
func lockKey(id bson.RawValue) string {
	if s, ok := id.StringValueOK(); ok {
		return s
	}
	return id.String()
}
