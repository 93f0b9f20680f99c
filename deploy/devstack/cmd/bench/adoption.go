package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"slices"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	eventsv1 "github.com/gemella/gemella/proto/gemella/events/v1"
	twinningv1 "github.com/gemella/gemella/proto/gemella/twinning/v1"
	"github.com/gemella/gemella/services/platform/events"
)

// Pair (d), issue 3: the latency of the event path from a transfer's status
// change in the twinning service (outbox, relay, JetStream, the catalog's
// consumer) to the practice's updated adoption figures in the catalog, next
// to the two store writes that path cannot do without, measured in the same
// run on the same FerretDB.
const (
	// transferStatusChanged is the event the catalog's adoption consumer
	// keeps its figures from.
	transferStatusChanged = "twinning.transfer.status_changed"
	// eventWarmup is driven at the same rate before the window and not
	// counted: first connections, first pages of the stream.
	eventWarmup = time.Second
	// eventDrainTimeout bounds the wait for the catalog to handle the
	// events of the set-up and of the window.
	eventDrainTimeout = time.Minute
	// adoptionGoal is issue 3's: the pipeline adds at most half again what
	// the storage costs.
	adoptionGoal = 1.5
	// minTwinnings keeps the documents the same size whatever the rate and
	// the window: the practice records every transfer of its models.
	minTwinnings = 30
)

// latencySummary is the distribution of a set of durations.
type latencySummary struct {
	Count     int     `json:"count"`
	P50Millis float64 `json:"p50_ms"`
	P99Millis float64 `json:"p99_ms"`
	MaxMillis float64 `json:"max_ms"`
}

func summarise(samples []time.Duration) latencySummary {
	if len(samples) == 0 {
		return latencySummary{}
	}
	sorted := slices.Sorted(slices.Values(samples))
	return latencySummary{
		Count:     len(sorted),
		P50Millis: millis(percentile(sorted, 0.50)),
		P99Millis: millis(percentile(sorted, 0.99)),
		MaxMillis: millis(sorted[len(sorted)-1]),
	}
}

// priorTransfers are the variants of (d): the transfers the practice whose
// figures change has when the window starts. With few, each twinning
// transfers a practice of its own; with many, every twinning transfers
// the one practice, and the transfers beyond the twinnings' own are
// recorded before the window by events of twinnings that exist only on
// the stream.
var priorTransfers = []int{10, 1000}

// adoptionPair is (d). Ratio is the p50 event latency over the p50 of the
// two writes; Goal its maximum.
type adoptionPair struct {
	// PriorTransfers are the transfers the practice had before the window.
	PriorTransfers int `json:"prior_transfers"`
	// DocLocks is the services' document lock mode.
	DocLocks      string  `json:"doclocks"`
	EventsPerSec  int     `json:"events_per_sec"`
	Seconds       float64 `json:"seconds"`
	WarmupSeconds float64 `json:"warmup_seconds"`
	Twinnings     int     `json:"twinnings"`
	Transfers     int     `json:"transfers"`
	SetupSeconds  float64 `json:"setup_seconds"`
	// Moves are the UpdateTransfer calls of the window; MoveErrors failed.
	Moves      int    `json:"moves"`
	MoveErrors int    `json:"move_errors"`
	FirstError string `json:"first_error,omitempty"`
	// Missing are moves of the window whose event the catalog had not
	// handled within the drain timeout.
	Missing int `json:"missing_events"`
	// Latency is handled-at in the catalog minus the event's occurred-at,
	// for the moves of the window.
	Latency latencySummary `json:"latency"`
	// ToStream is the part of Latency until the event was on the stream
	// (the twinning's write, its relay, the publish), FromStream the rest
	// (delivery and the catalogue's handling); a plain NATS subscriber on
	// the subject sees each event as the stream takes it.
	ToStream   latencySummary `json:"occurred_to_stream"`
	FromStream latencySummary `json:"stream_to_handled"`
	// CatchUpSeconds is how long after the end of the window the catalog
	// handled the last of its events: near the latency when the pipeline
	// keeps up with the rate, growing with the window when it does not.
	CatchUpSeconds float64 `json:"catch_up_seconds"`
	// UpdateCall is the UpdateTransfer call as its client sees it.
	UpdateCall latencySummary `json:"update_transfer_call"`
	// The baseline: versioned replaces of copies of a real twinning and
	// the real practice document, one after the other, sampled between
	// the moves.
	TwinningDocBytes int            `json:"twinning_document_bytes"`
	PracticeDocBytes int            `json:"practice_document_bytes"`
	TwinningWrite    latencySummary `json:"twinning_write"`
	PracticeWrite    latencySummary `json:"practice_write"`
	TwoWrites        latencySummary `json:"two_writes"`
	Ratio            float64        `json:"ratio"`
	// Commands are the store commands of both services during the
	// window, per event of it.
	Commands storeCommands `json:"store_commands"`
	Goal     float64       `json:"goal_max_ratio"`
	Met      bool          `json:"met"`
}

// benchAdoption measures pair (d).
func benchAdoption(ctx context.Context, s settings, logger *slog.Logger, prior int) (_ adoptionPair, err error) {
	p := adoptionPair{EventsPerSec: s.EventRate, Seconds: s.EventDuration.Seconds(), WarmupSeconds: eventWarmup.Seconds(), Goal: adoptionGoal, PriorTransfers: prior, DocLocks: s.DocLocks.String()}
	shared := prior > len(modelCodes)
	// Two moves per transfer (to in progress, then to adopted), for the
	// warm-up, the window and a second to spare.
	moves := int(math.Ceil(float64(s.EventRate) * (eventWarmup + s.EventDuration + time.Second).Seconds()))
	p.Twinnings = max(minTwinnings, (moves+2*len(modelCodes)-1)/(2*len(modelCodes)))
	p.Transfers = p.Twinnings * len(modelCodes)

	dir, err := os.MkdirTemp("", "gemella-bench-pipeline-")
	if err != nil {
		return p, err
	}
	defer os.RemoveAll(dir)
	progress("(d) starting NATS, FerretDB, catalog and twinning in %s", dir)
	obs := newLagObserver()
	counter := newCommandCounter()
	pl, err := startPipeline(ctx, dir, logger, s.DocLocks, obs.observe, counter.monitor())
	if err != nil {
		return p, err
	}
	defer func() { err = errors.Join(err, pl.stop()) }()

	progress("(d) %d prior transfers: setting up %d active twinnings with %d transfers each", prior, p.Twinnings, len(modelCodes))
	start := time.Now()
	seed, err := pl.seed(ctx, p.Twinnings, shared)
	if err != nil {
		return p, err
	}
	if shared && prior > p.Transfers {
		extra := prior - p.Transfers
		progress("(d) recording %d more transfers of the practice from the stream", extra)
		if err := pl.priorTransfers(ctx, seed, extra); err != nil {
			return p, err
		}
	}
	// The window starts with the consumer idle: every status change the
	// set-up put on the stream (a transfer added to a draft, the same
	// transfer announced when the twinning is proposed, the prior ones)
	// has been handled.
	setupEvents, err := pl.subjectMessages(ctx, transferStatusChanged)
	if err != nil {
		return p, err
	}
	if n, err := obs.waitFor(ctx, setupEvents, 3*eventDrainTimeout); err != nil {
		return p, err
	} else if n < setupEvents {
		return p, fmt.Errorf("the catalog handled %d of the %d events of the set-up within %s", n, setupEvents, 3*eventDrainTimeout)
	}
	p.SetupSeconds = time.Since(start).Seconds()

	writes, err := newScratchWrites(ctx, pl.mongo, seed)
	if err != nil {
		return p, err
	}
	p.TwinningDocBytes, p.PracticeDocBytes = writes.docs[0].bytes, writes.docs[1].bytes

	progress("(d) %d status moves a second for %s after %s warm-up, two store writes sampled in between", s.EventRate, s.EventDuration, eventWarmup)
	editorCtx, err := pl.asEditor(ctx, seed)
	if err != nil {
		return p, err
	}
	tap, err := pl.tapSubject(transferStatusChanged)
	if err != nil {
		return p, err
	}
	defer tap.close()
	d, err := drive(editorCtx, pl.twinning, plan(seed), s.EventRate, s.EventDuration, writes, counter)
	if err != nil {
		return p, err
	}
	p.Moves, p.MoveErrors, p.FirstError = len(d.window), d.errors, d.firstError
	p.UpdateCall = summarise(d.calls)

	progress("(d) waiting for the catalog to handle the events of the window")
	if _, err := obs.waitFor(ctx, setupEvents+d.succeeded, eventDrainTimeout); err != nil {
		return p, err
	}
	lags, last := obs.lagsOf(d.window)
	p.Missing = len(d.window) - d.errorsInWindow - len(lags)
	p.Latency = summarise(lags)
	toStream, fromStream := obs.splitAt(d.window, tap.seen())
	p.ToStream, p.FromStream = summarise(toStream), summarise(fromStream)
	p.CatchUpSeconds = last.Sub(d.windowEnd).Seconds()
	p.Commands = counter.report(len(d.window))

	p.TwinningWrite, p.PracticeWrite, p.TwoWrites = summarise(d.twinningWrites), summarise(d.practiceWrites), summarise(d.twoWrites)
	if p.TwoWrites.P50Millis > 0 {
		p.Ratio = p.Latency.P50Millis / p.TwoWrites.P50Millis
	}
	p.Met = p.Latency.Count > 0 && p.Missing == 0 && p.Ratio <= p.Goal
	return p, nil
}

// transferMove is one status change of one transfer; it names its event.
type transferMove struct {
	twinningID string
	transferID string
	to         twinningv1.TransferStatus
}

// plan lists the moves: every transfer to in progress, then every one to
// adopted, taking the twinnings in turn so that consecutive moves change
// different documents of the twinning service.
func plan(seed seeded) []transferMove {
	var moves []transferMove
	for _, to := range []twinningv1.TransferStatus{twinningv1.TransferStatus_TRANSFER_STATUS_IN_PROGRESS, twinningv1.TransferStatus_TRANSFER_STATUS_ADOPTED} {
		for j := range modelCodes {
			for _, t := range seed.twinnings {
				moves = append(moves, transferMove{twinningID: t.id, transferID: t.transferIDs[j], to: to})
			}
		}
	}
	return moves
}

// driven is what drive measured.
type driven struct {
	windowEnd time.Time
	// window are the moves asked for during the window.
	window         []transferMove
	errorsInWindow int
	// succeeded counts every successful move, warm-up included.
	succeeded  int
	errors     int
	firstError string
	calls      []time.Duration
	// The baseline samples of the window.
	twinningWrites, practiceWrites, twoWrites []time.Duration
}

// drive asks for one move every 1/rate seconds, for the warm-up and the
// window. The moves keep to a fixed schedule, each in its own goroutine, so
// that a slow call holds no later one back and a stalled process catches up
// rather than asking for less. Half an interval after each move it times
// the two scratch writes. counter counts the services' store commands
// during the window.
func drive(ctx context.Context, client twinningv1.TwinningServiceClient, moves []transferMove, rate int, window time.Duration, writes *scratchWrites, counter *commandCounter) (*driven, error) {
	interval := time.Second / time.Duration(rate)
	start := time.Now()
	windowStart, windowEnd := start.Add(eventWarmup), start.Add(eventWarmup+window)
	d := &driven{windowEnd: windowEnd}
	countOn := time.AfterFunc(time.Until(windowStart), func() { counter.count(true) })
	countOff := time.AfterFunc(time.Until(windowEnd), func() { counter.count(false) })
	defer func() {
		countOn.Stop()
		if countOff.Stop() {
			counter.count(false)
		}
	}()
	var mu sync.Mutex
	var calls sync.WaitGroup

	samplerCtx, stopSampler := context.WithCancel(ctx)
	defer stopSampler()
	sampled := make(chan error, 1)
	go func() {
		sampled <- writes.sample(samplerCtx, start.Add(interval/2), interval, windowStart, windowEnd, d, &mu)
	}()

	for i := 0; ; i++ {
		at := start.Add(time.Duration(i) * interval)
		if !at.Before(windowEnd) {
			break
		}
		if i >= len(moves) {
			calls.Wait()
			return d, fmt.Errorf("ran out of moves after %d", i)
		}
		if !sleepUntil(ctx, at) {
			calls.Wait()
			return d, ctx.Err()
		}
		m, inWindow := moves[i], !at.Before(windowStart)
		if inWindow {
			d.window = append(d.window, m)
		}
		calls.Add(1)
		go func() {
			defer calls.Done()
			callCtx, cancel := context.WithTimeout(ctx, callDeadline)
			defer cancel()
			began := time.Now()
			_, err := client.UpdateTransfer(callCtx, &twinningv1.UpdateTransferRequest{
				TwinningId: m.twinningID,
				Transfer:   &twinningv1.Transfer{Id: m.transferID, Status: m.to},
			})
			took := time.Since(began)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				d.errors++
				if inWindow {
					d.errorsInWindow++
				}
				if d.firstError == "" {
					d.firstError = fmt.Sprintf("move transfer %s to %s: %v", m.transferID, m.to, err)
				}
				return
			}
			d.succeeded++
			if inWindow {
				d.calls = append(d.calls, took)
			}
		}()
	}
	calls.Wait()
	stopSampler()
	if err := <-sampled; err != nil {
		return d, fmt.Errorf("two store writes: %w", err)
	}
	return d, nil
}

// lagObserver collects the latency of every transfer event the catalog's
// adoption consumer has handled, keyed by the move that caused it.
type lagObserver struct {
	mu   sync.Mutex
	seen map[string]bool
	lags map[transferMove]handled
	// changed is signalled, without blocking, after each new event.
	changed chan struct{}
}

func newLagObserver() *lagObserver {
	return &lagObserver{seen: map[string]bool{}, lags: map[transferMove]handled{}, changed: make(chan struct{}, 1)}
}

// handled is when the catalog was done with an event, and how long after
// the change it reports.
type handled struct {
	at       time.Time
	lag      time.Duration
	eventID  string
	occurred time.Time
}

// observe is the catalog's EventObserver; it runs on the consumer's
// goroutine after the catalog's write.
func (o *lagObserver) observe(env *eventsv1.Envelope, handledAt time.Time) {
	if env.GetType() != transferStatusChanged {
		return
	}
	var msg eventsv1.TransferStatusChanged
	if err := events.Unpack(env, &msg); err != nil {
		return
	}
	key := transferMove{twinningID: env.GetAggregateId(), transferID: msg.GetTransfer().GetId(), to: msg.GetTo()}
	lag := handledAt.Sub(env.GetOccurredAt().AsTime())
	o.mu.Lock()
	if !o.seen[env.GetEventId()] {
		// A redelivered event is the same change, handled twice.
		o.seen[env.GetEventId()] = true
		o.lags[key] = handled{at: handledAt, lag: lag, eventID: env.GetEventId(), occurred: env.GetOccurredAt().AsTime()}
	}
	o.mu.Unlock()
	select {
	case o.changed <- struct{}{}:
	default:
	}
}

// waitFor waits until n distinct events have been handled or timeout has
// passed, and returns how many have been.
func (o *lagObserver) waitFor(ctx context.Context, n int, timeout time.Duration) (int, error) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		o.mu.Lock()
		seen := len(o.seen)
		o.mu.Unlock()
		if seen >= n {
			return seen, nil
		}
		select {
		case <-o.changed:
		case <-timer.C:
			return seen, nil
		case <-ctx.Done():
			return seen, ctx.Err()
		}
	}
}

// lagsOf returns the latencies of the events of moves, those handled, and
// when the last of them was.
func (o *lagObserver) lagsOf(moves []transferMove) (lags []time.Duration, last time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	lags = make([]time.Duration, 0, len(moves))
	for _, m := range moves {
		if h, ok := o.lags[m]; ok {
			lags = append(lags, h.lag)
			if h.at.After(last) {
				last = h.at
			}
		}
	}
	return lags, last
}

// splitAt splits the latency of the events of moves at the moment each
// was on the stream (onStream, by event id); events the tap missed are
// left out.
func (o *lagObserver) splitAt(moves []transferMove, onStream map[string]time.Time) (toStream, fromStream []time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, m := range moves {
		h, ok := o.lags[m]
		if !ok {
			continue
		}
		at, ok := onStream[h.eventID]
		if !ok {
			continue
		}
		toStream = append(toStream, at.Sub(h.occurred))
		fromStream = append(fromStream, h.at.Sub(at))
	}
	return toStream, fromStream
}

// scratchWrites replaces copies of a real twinning document and of the
// real practice document in scratch collections that have the same
// indexes as the real ones, each replace conditional on the version as the
// services' repositories do it.
type scratchWrites struct {
	docs [2]scratchDoc
}

type scratchDoc struct {
	coll    *mongo.Collection
	body    bson.D
	version int64
	// versionAt is the index of the version field in body.
	versionAt int
	bytes     int
}

const scratchDatabase = "gemella_bench"

func newScratchWrites(ctx context.Context, client *mongo.Client, seed seeded) (*scratchWrites, error) {
	w := &scratchWrites{}
	sources := []struct{ database, collection, id string }{
		{twinningDatabase, "twinnings", seed.twinnings[0].id},
		{catalogDatabase, "practices", seed.practiceID},
	}
	for i, src := range sources {
		ctx, cancel := context.WithTimeout(ctx, 4*callDeadline)
		doc, err := copyDocument(ctx, client.Database(src.database).Collection(src.collection), client.Database(scratchDatabase).Collection(src.collection), src.id)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("copy %s document %s: %w", src.collection, src.id, err)
		}
		w.docs[i] = doc
	}
	return w, nil
}

// copyDocument copies the indexes of from to to, and the document id as
// it is now, under the id "scratch".
func copyDocument(ctx context.Context, from, to *mongo.Collection, id string) (scratchDoc, error) {
	specs, err := from.Indexes().ListSpecifications(ctx)
	if err != nil {
		return scratchDoc{}, fmt.Errorf("list indexes: %w", err)
	}
	var models []mongo.IndexModel
	for _, spec := range specs {
		if spec.Name == "_id_" {
			continue
		}
		opts := options.Index().SetName(spec.Name)
		if spec.Unique != nil {
			opts.SetUnique(*spec.Unique)
		}
		if spec.Sparse != nil {
			opts.SetSparse(*spec.Sparse)
		}
		models = append(models, mongo.IndexModel{Keys: spec.KeysDocument, Options: opts})
	}
	if len(models) > 0 {
		if _, err := to.Indexes().CreateMany(ctx, models); err != nil {
			return scratchDoc{}, fmt.Errorf("create indexes: %w", err)
		}
	}
	var raw bson.Raw
	if err := from.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&raw); err != nil {
		return scratchDoc{}, fmt.Errorf("load: %w", err)
	}
	var body bson.D
	if err := bson.Unmarshal(raw, &body); err != nil {
		return scratchDoc{}, fmt.Errorf("decode: %w", err)
	}
	d := scratchDoc{coll: to, body: body, version: 1, versionAt: -1, bytes: len(raw)}
	for i := range body {
		switch body[i].Key {
		case "_id":
			body[i].Value = "scratch"
		case "version":
			body[i].Value = d.version
			d.versionAt = i
		}
	}
	if d.versionAt < 0 {
		return scratchDoc{}, errors.New("the document has no version field")
	}
	if _, err := to.InsertOne(ctx, body); err != nil {
		return scratchDoc{}, fmt.Errorf("insert copy: %w", err)
	}
	return d, nil
}

// replace writes the next version of the document over the current one.
func (d *scratchDoc) replace(ctx context.Context) (time.Duration, error) {
	next := d.version + 1
	d.body[d.versionAt].Value = next
	ctx, cancel := context.WithTimeout(ctx, callDeadline)
	defer cancel()
	began := time.Now()
	res, err := d.coll.ReplaceOne(ctx, bson.D{{Key: "_id", Value: "scratch"}, {Key: "version", Value: d.version}}, d.body)
	took := time.Since(began)
	if err != nil {
		return 0, fmt.Errorf("replace in %s: %w", d.coll.Name(), err)
	}
	if res.MatchedCount != 1 {
		return 0, fmt.Errorf("replace in %s: version %d not found", d.coll.Name(), d.version)
	}
	d.version = next
	return took, nil
}

// sample times the twinning write then the practice write every interval
// from first until windowEnd, and keeps the samples of the window in d. A
// pair that overruns its interval makes the next ones skip their turn:
// the samples never come in bursts.
func (w *scratchWrites) sample(ctx context.Context, first time.Time, interval time.Duration, windowStart, windowEnd time.Time, d *driven, mu *sync.Mutex) error {
	for k := 0; ; k = max(k+1, int(time.Since(first)/interval)+1) {
		at := first.Add(time.Duration(k) * interval)
		if !at.Before(windowEnd) {
			return nil
		}
		if !sleepUntil(ctx, at) {
			return nil
		}
		tw, err := w.docs[0].replace(ctx)
		if err != nil {
			return nilIfDone(ctx, err)
		}
		pr, err := w.docs[1].replace(ctx)
		if err != nil {
			return nilIfDone(ctx, err)
		}
		if !at.Before(windowStart) {
			mu.Lock()
			d.twinningWrites = append(d.twinningWrites, tw)
			d.practiceWrites = append(d.practiceWrites, pr)
			d.twoWrites = append(d.twoWrites, tw+pr)
			mu.Unlock()
		}
	}
}

// sleepUntil waits until t; false when ctx ended first.
func sleepUntil(ctx context.Context, t time.Time) bool {
	timer := time.NewTimer(time.Until(t))
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func nilIfDone(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return err
}
