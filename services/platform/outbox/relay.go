package outbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/gemella/gemella/services/platform/doclock"
	"github.com/gemella/gemella/services/platform/events"
	"github.com/gemella/gemella/services/platform/telemetry"
)

const (
	defaultSweepInterval  = 2 * time.Second
	defaultBatchSize      = 100
	defaultPublishTimeout = 5 * time.Second
	defaultQueryTimeout   = 10 * time.Second
	defaultMaxAttempts    = 5
	// defaultMaxReadAge keeps a batch's re-publishes well inside the
	// streams' default duplicate window of 2 minutes.
	defaultMaxReadAge = 30 * time.Second
	// forgetAttemptsAfter drops the failure count of a record nobody has
	// tried for this long (another replica cleared it, or it was deleted).
	forgetAttemptsAfter = 15 * time.Minute
)

// RelayConfig tunes a Relay; zero values take the defaults.
type RelayConfig struct {
	// Service names the service in metrics and logs, e.g. "catalog".
	Service string
	// SweepInterval is how often the relay looks for pending events when
	// nobody calls Notify; default 2s. It bounds the delay after a crash or
	// a NATS outage.
	SweepInterval time.Duration
	// BatchSize is how many documents one query of one collection reads,
	// oldest pending first; default 100.
	BatchSize int
	// PublishTimeout bounds the wait for one event's stream ack; default 5s.
	PublishTimeout time.Duration
	// QueryTimeout bounds each database call; default 10s.
	QueryTimeout time.Duration
	// MaxAttempts is how many refusals of a record by the broker (over the
	// maximum payload, rejected by the stream, no stream for its subject)
	// send it to the dead-letter stream; default 5. Refusals count at most
	// once per SweepInterval, and failures because NATS is unreachable do
	// not count at all.
	MaxAttempts int
	// MaxReadAge is how long a batch read from the database is used to
	// publish: past it, the relay reads the batch again. It keeps a
	// re-publish of a record that another replica already cleared inside
	// the streams' duplicate window; default 30s.
	MaxReadAge time.Duration
	// DeadLetters stores refused records on the dead-letter stream
	// (events.DeadLetterStream must exist); a jetstream.JetStream will do.
	// Nil uses the publisher if it implements DeadLetterPublisher; failing
	// that, a refused record is logged at error and stays pending.
	DeadLetters DeadLetterPublisher
	// LegacySweep also looks, on every pass, for documents that have pending
	// events but no pending_since, as left by repositories that still
	// replace whole documents. No index covers that query, so it scans each
	// collection: it is a bridge until every writer uses Insert and Update,
	// off by default.
	LegacySweep bool
	// Registerer, when set, gets the relay's metrics (see metrics.go).
	Registerer prometheus.Registerer
	// Logger; nil means slog.Default().
	Logger *slog.Logger
	// Locks, shared with the repositories that write the same documents,
	// make the clears atomic on the embedded FerretDB, which applies updates
	// without atomicity (see doclock); nil takes no lock, which is right for
	// MongoDB.
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
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = defaultMaxAttempts
	}
	if c.MaxReadAge <= 0 {
		c.MaxReadAge = defaultMaxReadAge
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
	// Failures counts passes that stopped early or skipped a collection,
	// because NATS or the database was unavailable; their records stay
	// pending.
	Failures uint64
	// Refused counts publish attempts of single records that the broker
	// refused; each record gets MaxAttempts of them.
	Refused uint64
	// DeadLettered counts records moved to the dead-letter stream and
	// removed from their documents.
	DeadLettered uint64
}

// Relay moves pending events from aggregate documents to JetStream. One
// Relay serves all the outbox collections of a service; run one per
// process. Relays of several replicas may run on one database at once.
type Relay struct {
	cfg     RelayConfig
	pub     events.Publisher
	dead    DeadLetterPublisher
	colls   []*mongo.Collection
	log     *slog.Logger
	wake    chan struct{}
	metrics *metrics
	initErr error

	passMu    sync.Mutex // one pass at a time, whether from Run or RelayOnce
	byName    map[string]*mongo.Collection
	attempts  map[string]*attempt
	lastCount map[string]time.Time // last backlog count, by collection

	// The documents this process's writers just gave events, by
	// collection, each with its pending records as the write left them
	// (NotifyPending) or nil to read them (NotifyDocument), and whether a
	// writer asked for a whole sweep (Notify) or more documents were named
	// than are kept.
	hintMu      sync.Mutex
	hints       map[string]map[string]handoff
	hinted      int
	sweepWanted bool

	published, failures, refused, deadLettered atomic.Uint64
}

// attempt is the refusal count of one record, kept by this relay only.
type attempt struct {
	n       int
	counted time.Time // when n last grew
	last    time.Time // last refusal
	// reported: the relay said it has nowhere to dead-letter the record.
	reported bool
}

// NewRelay makes a relay that publishes through pub the pending events of
// the documents in collections.
func NewRelay(cfg RelayConfig, pub events.Publisher, collections ...*mongo.Collection) *Relay {
	cfg = cfg.withDefaults()
	r := &Relay{
		cfg:       cfg,
		pub:       pub,
		dead:      cfg.DeadLetters,
		colls:     collections,
		log:       cfg.Logger.With(slog.String("component", "outbox-relay"), slog.String("service", cfg.Service)),
		wake:      make(chan struct{}, 1),
		attempts:  map[string]*attempt{},
		lastCount: map[string]time.Time{},
		byName:    map[string]*mongo.Collection{},
		hints:     map[string]map[string]handoff{},
	}
	for _, c := range collections {
		if c != nil {
			r.byName[c.Name()] = c
		}
	}
	if r.dead == nil {
		r.dead, _ = pub.(DeadLetterPublisher)
	}
	r.metrics, r.initErr = newMetrics(cfg.Registerer, cfg.Service)
	return r
}

// Notify wakes the relay after a write that left pending events, for a
// sweep of every collection. It never blocks, and notifications that
// arrive while one is waiting merge into it.
func (r *Relay) Notify() {
	r.hintMu.Lock()
	r.sweepWanted = true
	r.hintMu.Unlock()
	r.wake1()
}

// maxHints bounds the documents NotifyDocument remembers between two
// passes; past it the relay sweeps instead.
const maxHints = 10000

// NotifyDocument wakes the relay after a write that left pending events
// on one document: the relay reads that document by its _id and publishes
// its events, without sweeping the collections (on the embedded FerretDB
// a sweep reads the whole collection, as it uses an index only for
// filters on _id alone). The periodic sweep still finds whatever a
// crashed writer or another replica left. A collection the relay does not
// serve falls back to Notify. It never blocks.
func (r *Relay) NotifyDocument(collection, id string) {
	r.NotifyPending(collection, id, nil)
}

// NotifyPending is NotifyDocument from a writer that knows what the
// document's outbox holds after its write: pending, its pending_events
// array as stored, oldest first. The relay publishes those records and
// clears them without reading the document (one read less on every write
// with events). nil pending is NotifyDocument. Of two notices about one
// document before the relay gets to it, the later counts: its write saw
// everything the earlier one left that the relay had not cleared.
func (r *Relay) NotifyPending(collection, id string, pending []bson.Raw) {
	r.NotifyWritten(collection, id, pending, doclock.Stamp{})
}

// NotifyWritten is NotifyPending from a writer that also stamped its
// release of the document's lock (doclock.Locks.Held): when nobody held
// that lock since, the relay's clear knows the document's outbox holds
// exactly pending, and clears it without reading it first.
func (r *Relay) NotifyWritten(collection, id string, pending []bson.Raw, written doclock.Stamp) {
	if _, ok := r.byName[collection]; !ok {
		r.Notify()
		return
	}
	r.hintMu.Lock()
	if r.hinted >= maxHints {
		r.sweepWanted = true
	} else {
		ids := r.hints[collection]
		if ids == nil {
			ids = map[string]handoff{}
			r.hints[collection] = ids
		}
		if _, ok := ids[id]; !ok {
			r.hinted++
		}
		ids[id] = handoff{pending: pending, written: written}
	}
	r.hintMu.Unlock()
	r.wake1()
}

func (r *Relay) wake1() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// takeHints returns the documents named since the last call and whether
// a sweep is wanted, and forgets both.
func (r *Relay) takeHints() (map[string]map[string]handoff, bool) {
	r.hintMu.Lock()
	defer r.hintMu.Unlock()
	hints, sweep := r.hints, r.sweepWanted
	r.hints, r.hinted, r.sweepWanted = map[string]map[string]handoff{}, 0, false
	return hints, sweep
}

// Stats returns the relay's counters.
func (r *Relay) Stats() Stats {
	return Stats{
		Published:    r.published.Load(),
		Failures:     r.failures.Load(),
		Refused:      r.refused.Load(),
		DeadLettered: r.deadLettered.Load(),
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
	sweep := true // the first pass finds what was written before the relay ran
	for {
		hints, wanted := r.takeHints()
		var err error
		if sweep || wanted {
			// A sweep reads every pending document, the named ones too.
			err = r.drain(ctx)
		} else {
			err = r.relayNamed(ctx, hints)
		}
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

		// After a failure, the next pass is a sweep, whatever wakes it.
		sweep = err != nil
		select {
		case <-ctx.Done():
			return nil
		case <-r.wake:
		case <-ticker.C:
			sweep = true
		}
	}
}

// relayNamed publishes the pending events of the documents named by
// NotifyDocument, each read by its _id, and those NotifyPending handed
// over.
func (r *Relay) relayNamed(ctx context.Context, hints map[string]map[string]handoff) error {
	if len(hints) == 0 {
		return nil
	}
	r.passMu.Lock()
	defer r.passMu.Unlock()
	var errs []error
	for name, ids := range hints {
		coll := r.byName[name]
		for id, handed := range ids {
			doc, found, err := r.handedOrRead(ctx, coll, id, handed)
			if err == nil && found && len(doc.Pending) > 0 {
				_, err = r.relayDocument(ctx, coll, doc)
			}
			if err == nil {
				continue
			}
			if ctx.Err() != nil {
				return err
			}
			r.failures.Add(1)
			errs = append(errs, fmt.Errorf("relay %s.%s %s: %w", coll.Database().Name(), name, id, err))
			var down *errUnavailable
			if errors.As(err, &down) {
				return errors.Join(errs...) // the sweep that follows retries the rest
			}
		}
	}
	return errors.Join(errs...)
}

// handoff is what a writer told the relay of a document it wrote.
type handoff struct {
	// pending are its pending records as the write left them; nil: read them.
	pending []bson.Raw
	// written stamps the writer's release of the document's lock.
	written doclock.Stamp
}

// handedOrRead is the document's pending records as a writer handed them
// over, or, without them, as the store has them.
func (r *Relay) handedOrRead(ctx context.Context, coll *mongo.Collection, id string, handed handoff) (pendingDoc, bool, error) {
	if handed.pending == nil {
		return r.findByID(ctx, coll, id)
	}
	t, data, err := bson.MarshalValue(id)
	if err != nil {
		return pendingDoc{}, false, fmt.Errorf("document id %q: %w", id, err)
	}
	return pendingDoc{ID: bson.RawValue{Type: t, Value: data}, Pending: handed.pending, written: handed.written}, true, nil
}

// findByID reads the pending events of one document.
func (r *Relay) findByID(ctx context.Context, coll *mongo.Collection, id string) (pendingDoc, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.QueryTimeout)
	defer cancel()
	var doc pendingDoc
	err := coll.FindOne(ctx, bson.D{{Key: "_id", Value: id}},
		options.FindOne().SetProjection(bson.D{{Key: "_id", Value: 1}, {Key: Field, Value: 1}})).Decode(&doc)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return doc, false, nil
	}
	if err != nil {
		return doc, false, fmt.Errorf("read pending events of %s: %w", id, err)
	}
	return doc, true, nil
}

// drain runs passes while some collection fills its batch and the pass makes
// progress.
func (r *Relay) drain(ctx context.Context) error {
	for {
		res, err := r.pass(ctx)
		if err != nil || !res.more || ctx.Err() != nil {
			return err
		}
	}
}

// RelayOnce runs one pass over every collection: it reads up to BatchSize
// documents with pending events from each, oldest first, publishes their
// records and clears them. It returns how many records were published. A
// refused record does not fail the pass (it is retried, then dead-lettered);
// NATS being unreachable ends the pass with an error, and a database error
// skips its collection and is returned with the others'.
func (r *Relay) RelayOnce(ctx context.Context) (published int, err error) {
	if err := r.check(); err != nil {
		return 0, err
	}
	res, err := r.pass(ctx)
	return res.published, err
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
	if r.initErr != nil {
		errs = append(errs, r.initErr)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("outbox relay: %w", err)
	}
	return nil
}

// passResult is what one pass, or one collection of it, did.
type passResult struct {
	published int
	// more reports a full batch that made progress: there is work right
	// away for another pass.
	more bool
}

// errUnavailable marks a failure of NATS as a whole, not of one record: the
// pass stops, since every other publish would fail the same way.
type errUnavailable struct{ err error }

func (e *errUnavailable) Error() string { return e.err.Error() }
func (e *errUnavailable) Unwrap() error { return e.err }

func (r *Relay) pass(ctx context.Context) (passResult, error) {
	r.passMu.Lock()
	defer r.passMu.Unlock()
	r.forgetOldAttempts()

	var total passResult
	var errs []error
	for _, coll := range r.colls {
		res, err := r.relayCollection(ctx, coll)
		total.published += res.published
		total.more = total.more || res.more
		if err == nil {
			continue
		}
		if ctx.Err() != nil { // a pass cut short by shutdown did not fail
			return total, err
		}
		r.failures.Add(1)
		errs = append(errs, fmt.Errorf("relay %s.%s: %w", coll.Database().Name(), coll.Name(), err))
		var down *errUnavailable
		if errors.As(err, &down) {
			break
		}
		// A database error of one collection leaves the others to relay.
	}
	return total, errors.Join(errs...)
}

// pendingDoc is the part of an aggregate document the relay reads. _id
// stays raw so that the clear matches it exactly, whatever its BSON type,
// and so do the records, so that $pullAll removes exactly what was read.
type pendingDoc struct {
	ID      bson.RawValue `bson:"_id"`
	Pending []bson.Raw    `bson:"pending_events"`
	// written stamps the release of the document's lock by the writer
	// that handed Pending over; the zero Stamp for a document read.
	written doclock.Stamp
}

func (r *Relay) relayCollection(ctx context.Context, coll *mongo.Collection) (passResult, error) {
	docs, err := r.findPending(ctx, coll, pendingFilter(), true)
	if err != nil {
		return passResult{}, err
	}
	full := len(docs) == r.cfg.BatchSize
	if r.cfg.LegacySweep {
		legacy, err := r.findPending(ctx, coll, legacyFilter(), false)
		if err != nil {
			return passResult{}, err
		}
		docs = append(docs, legacy...)
	}
	readAt := time.Now()
	var res passResult
	progress, stillPending, processed := false, 0, 0
	for _, doc := range docs {
		if time.Since(readAt) > r.cfg.MaxReadAge {
			// Another replica may have published and cleared the rest since;
			// read them again rather than re-publish from an old copy.
			res.more = true
			break
		}
		out, err := r.relayDocument(ctx, coll, doc)
		res.published += out.published
		progress = progress || out.removed > 0
		if out.remaining > 0 {
			stillPending++
		}
		if err != nil {
			return res, err
		}
		processed++
	}
	res.more = res.more || (full && progress)
	r.updateBacklog(ctx, coll, full, stillPending+len(docs)-processed)
	return res, nil
}

// documentResult is what relaying one document did.
type documentResult struct {
	published int
	removed   int // records published or dead-lettered, and cleared
	remaining int // records left pending
}

// relayDocument publishes the records of one document in order and clears
// the ones done. A refused record that has tries left keeps itself and the
// records after it for the next pass, so that one aggregate's events reach
// the stream in the order they happened.
func (r *Relay) relayDocument(ctx context.Context, coll *mongo.Collection, doc pendingDoc) (documentResult, error) {
	var out documentResult
	var done []bson.Raw
	var doneIDs []string
	var stop error
	for _, raw := range doc.Pending {
		rec, reason := decodeRecord(raw)
		attempts, tooLarge := 0, false
		if reason == "" {
			err := r.publish(ctx, rec)
			if err == nil {
				out.published++
				r.published.Add(1)
				r.metrics.published(coll.Name())
				done = append(done, raw)
				doneIDs = append(doneIDs, rec.ID)
				continue
			}
			if unavailable(ctx, err) {
				r.metrics.failed(coll.Name(), "unavailable")
				stop = &errUnavailable{fmt.Errorf("publish %s of document %v: %w", rec.ID, doc.ID, err)}
				break
			}
			r.refused.Add(1)
			r.metrics.failed(coll.Name(), "refused")
			attempts, tooLarge = r.countAttempt(coll, rec.ID), isTooLarge(err)
			if attempts < r.cfg.MaxAttempts {
				r.log.Warn("broker refused an outbox record; it is tried again",
					slog.String("collection", coll.Name()), slog.Any("doc_id", doc.ID), slog.String("event_id", rec.ID),
					slog.String("subject", rec.Subject), slog.Int("size", len(rec.Data)),
					slog.Int("attempt", attempts), slog.Int("max_attempts", r.cfg.MaxAttempts), slog.Any("error", err))
				break
			}
			reason = fmt.Sprintf("refused %d times: %v", attempts, err)
			if tooLarge {
				reason = fmt.Sprintf("too large (%d bytes), refused %d times: %v", len(rec.Data), attempts, err)
			}
		}
		if err := r.deadLetter(ctx, coll, doc.ID, raw, rec, reason, attempts, tooLarge); err != nil {
			if errors.Is(err, errNoDeadLetters) {
				level := slog.LevelError
				if a := r.attempts[attemptKey(coll, rec.ID)]; a != nil {
					if a.reported {
						level = slog.LevelDebug
					}
					a.reported = true
				}
				r.log.Log(ctx, level, "outbox record cannot be published and there is no dead-letter publisher; it stays pending",
					slog.String("collection", coll.Name()), slog.Any("doc_id", doc.ID), slog.String("event_id", rec.ID),
					slog.String("subject", rec.Subject), slog.String("reason", reason))
			} else {
				stop = err
			}
			break
		}
		done = append(done, raw)
		doneIDs = append(doneIDs, rec.ID)
	}

	remaining := len(doc.Pending) - len(done)
	if err := r.clear(ctx, coll, doc, done, remaining == 0); err != nil {
		return out, errors.Join(stop, err)
	}
	for _, id := range doneIDs {
		delete(r.attempts, attemptKey(coll, id))
	}
	out.removed, out.remaining = len(done), remaining
	return out, stop
}

// publish puts rec on its stream, with rec's trace context in ctx.
func (r *Relay) publish(ctx context.Context, rec Record) error {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.PublishTimeout)
	defer cancel()
	return r.pub.Publish(telemetry.WithTraceparent(ctx, rec.Traceparent), rec.Subject, rec.ID, rec.Data)
}

// decodeRecord reads one pending record; reason says why it cannot be
// published at all.
func decodeRecord(raw bson.Raw) (rec Record, reason string) {
	if err := bson.Unmarshal(raw, &rec); err != nil {
		return Record{}, fmt.Sprintf("undecodable outbox record: %v", err)
	}
	switch {
	case rec.ID == "" && rec.Subject == "":
		return rec, "outbox record without id and subject"
	case rec.ID == "":
		return rec, "outbox record without id"
	case rec.Subject == "":
		return rec, "outbox record without subject"
	}
	return rec, ""
}

func attemptKey(coll *mongo.Collection, id string) string { return coll.Name() + "\x00" + id }

// countAttempt counts a refusal of record id and returns the count. Passes
// can follow each other within milliseconds while a backlog drains, so
// refusals count at most once per SweepInterval: a record is dead-lettered
// no sooner than (MaxAttempts-1)×SweepInterval after its first refusal,
// which rides out a stream's leader election.
func (r *Relay) countAttempt(coll *mongo.Collection, id string) int {
	key := attemptKey(coll, id)
	a := r.attempts[key]
	if a == nil {
		a = &attempt{}
		r.attempts[key] = a
	}
	if a.n == 0 || time.Since(a.counted) >= r.cfg.SweepInterval {
		a.n++
		a.counted = time.Now()
	}
	a.last = time.Now()
	return a.n
}

func (r *Relay) forgetOldAttempts() {
	for k, a := range r.attempts {
		if time.Since(a.last) > forgetAttemptsAfter {
			delete(r.attempts, k)
		}
	}
}

// findPending reads a batch of the documents filter selects, oldest
// pending first if sorted.
func (r *Relay) findPending(ctx context.Context, coll *mongo.Collection, filter bson.D, sorted bool) ([]pendingDoc, error) {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.QueryTimeout)
	defer cancel()
	opts := options.Find().
		SetLimit(int64(r.cfg.BatchSize)).
		SetProjection(bson.D{{Key: "_id", Value: 1}, {Key: Field, Value: 1}})
	if sorted {
		opts.SetSort(bson.D{{Key: SinceField, Value: 1}})
	}
	cur, err := coll.Find(ctx, filter, opts)
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

// clear removes the records done from the document, whatever else changed
// in it meanwhile: $pullAll removes exactly the elements read, so records a
// writer appended since stay. When nothing else is pending, it also unsets
// pending_since, but only if the array is still empty, so that a concurrent
// append is not hidden from the sweep. On MongoDB each of the two updates is
// atomic by itself and the condition is in the filter.
func (r *Relay) clear(ctx context.Context, coll *mongo.Collection, doc pendingDoc, done []bson.Raw, nothingLeft bool) error {
	if len(done) == 0 && !nothingLeft {
		return nil
	}
	id := doc.ID
	ctx, cancel := context.WithTimeout(ctx, r.cfg.QueryTimeout)
	defer cancel()
	if r.cfg.Locks != nil {
		unlock, err := r.cfg.Locks.Acquire(ctx, coll.Name(), lockKey(id))
		if err != nil {
			return fmt.Errorf("clear published events of %v: %w", id, err)
		}
		defer unlock()
		if r.cfg.Locks.Unchanged(doc.written) {
			return r.clearAsHanded(ctx, coll, doc, done)
		}
		return r.clearLocked(ctx, coll, id, done)
	}
	if len(done) > 0 {
		_, err := coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}},
			bson.D{{Key: "$pullAll", Value: bson.D{{Key: Field, Value: done}}}})
		if err != nil {
			return fmt.Errorf("clear %d published events of %v: %w", len(done), id, err)
		}
	}
	if nothingLeft {
		_, err := coll.UpdateOne(ctx,
			bson.D{{Key: "_id", Value: id}, {Key: Field + ".0", Value: bson.D{{Key: "$exists", Value: false}}}},
			bson.D{{Key: "$unset", Value: bson.D{{Key: SinceField, Value: ""}}}})
		if err != nil {
			return fmt.Errorf("unset %s of %v: %w", SinceField, id, err)
		}
	}
	return nil
}

// clearLocked is clear on the embedded FerretDB, under the document lock
// that every writer of the document holds too. FerretDB v1 hands SQLite
// only a filter on _id alone; any other condition scans the collection
// (about 50 ms at 200 documents, against 3 ms by _id), so the "array still
// empty" condition is checked here on a read, which the lock keeps true
// until the one update that follows.
func (r *Relay) clearLocked(ctx context.Context, coll *mongo.Collection, id bson.RawValue, done []bson.Raw) error {
	var cur pendingDoc
	err := coll.FindOne(ctx, bson.D{{Key: "_id", Value: id}},
		options.FindOne().SetProjection(bson.D{{Key: Field, Value: 1}})).Decode(&cur)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil // deleted meanwhile: nothing to clear
	}
	if err != nil {
		return fmt.Errorf("read pending events of %v: %w", id, err)
	}
	// $pullAll removes only elements equal to those given, so it is given
	// the stored ones: a record a writer handed over may be encoded
	// otherwise than the store keeps it.
	var pull []bson.Raw
	for _, raw := range cur.Pending {
		if slices.ContainsFunc(done, func(d bson.Raw) bool { return sameRecord(d, raw) }) {
			pull = append(pull, raw)
		}
	}
	remaining := len(cur.Pending) - len(pull)
	update := bson.D{}
	if len(pull) > 0 {
		update = append(update, bson.E{Key: "$pullAll", Value: bson.D{{Key: Field, Value: pull}}})
	}
	if len(update) == 0 && remaining > 0 {
		return nil // nothing of ours is there any more
	}
	if remaining == 0 {
		update = append(update, bson.E{Key: "$unset", Value: bson.D{{Key: SinceField, Value: ""}}})
	}
	if _, err := coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}}, update); err != nil {
		return fmt.Errorf("clear %d published events of %v: %w", len(done), id, err)
	}
	return nil
}

// clearAsHanded is clearLocked when nobody held the document's lock since
// the writer who handed its pending records over released it: the outbox
// holds exactly those, so it is set to the ones not done, with no read.
func (r *Relay) clearAsHanded(ctx context.Context, coll *mongo.Collection, doc pendingDoc, done []bson.Raw) error {
	left := make([]bson.Raw, 0, len(doc.Pending))
	for _, raw := range doc.Pending {
		if !slices.ContainsFunc(done, func(d bson.Raw) bool { return sameRecord(d, raw) }) {
			left = append(left, raw)
		}
	}
	if len(left) == len(doc.Pending) {
		return nil // nothing of ours to clear
	}
	update := bson.D{{Key: "$set", Value: bson.D{{Key: Field, Value: left}}}}
	if len(left) == 0 {
		update = append(update, bson.E{Key: "$unset", Value: bson.D{{Key: SinceField, Value: ""}}})
	}
	if _, err := coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: doc.ID}}, update); err != nil {
		return fmt.Errorf("clear %d published events of %v: %w", len(done), doc.ID, err)
	}
	return nil
}

// sameRecord tells whether two pending records are the same event: the
// same bytes, or the same event id (a record a writer handed over and
// the one the store gives back).
func sameRecord(a, b bson.Raw) bool {
	if bytes.Equal(a, b) {
		return true
	}
	ida, oka := a.Lookup("id").StringValueOK()
	idb, okb := b.Lookup("id").StringValueOK()
	return oka && okb && ida != "" && ida == idb
}

// updateBacklog sets the backlog gauge of coll. A batch that was not full
// held every pending document, so the count comes free; after a full one the
// relay counts through the sweep index, at most once per SweepInterval.
func (r *Relay) updateBacklog(ctx context.Context, coll *mongo.Collection, full bool, pendingSeen int) {
	if r.metrics == nil {
		return
	}
	if !full {
		r.metrics.backlog(coll.Name(), pendingSeen)
		return
	}
	if time.Since(r.lastCount[coll.Name()]) < r.cfg.SweepInterval {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, r.cfg.QueryTimeout)
	defer cancel()
	n, err := coll.CountDocuments(ctx, pendingFilter())
	if err != nil {
		r.log.Debug("counting the outbox backlog failed", slog.String("collection", coll.Name()), slog.Any("error", err))
		return
	}
	r.lastCount[coll.Name()] = time.Now()
	r.metrics.backlog(coll.Name(), int(n))
}

// lockKey is the document key the repositories lock: the string form of a
// string _id.
func lockKey(id bson.RawValue) string {
	if s, ok := id.StringValueOK(); ok {
		return s
	}
	return id.String()
}
