// Package outbox publishes the events that aggregate writes leave in their
// own documents, which is how Gemella loses no event without multi-document
// transactions (ARCHITECTURE.md, "Events").
//
// # Document layout
//
// Every aggregate document of an outbox collection carries two fields that
// belong to this package, next to the aggregate's own fields and its int64
// "version":
//
//   - pending_events (Field): an array of Record, oldest first. Writers only
//     ever append to it, with $push; only the Relay removes from it, exactly
//     the records it has published. It is an empty array, never null, when
//     nothing is pending.
//   - pending_since (SinceField): a date no later than the oldest record
//     still pending; absent when nothing is pending. Writers set it with
//     $min, the Relay unsets it once the array is empty. The sweep index
//     (IndexModels) covers it and nothing else, sparse, so it holds only the
//     documents that have work.
//
// Writers must never $set or replace these two fields: a write that carries
// an old copy of pending_events back would undo the relay's clears and, once
// the stream's duplicate window has passed, publish the same events again.
// So a repository writes:
//
//   - on create, InsertOne(Insert(doc, recs)): the document's own fields plus
//     InsertFields(recs);
//   - on change, UpdateOne({_id, version: v}, Update(set, recs)): $set of the
//     aggregate's fields (with version v+1) plus UpdateOps(recs), i.e.
//     {$push: {pending_events: {$each: recs}}, $min: {pending_since: now}};
//   - on read, it may leave both fields out with ExcludeFields().
//
// One exception, on the embedded FerretDB only: a writer that holds the
// document's lock (RelayConfig.Locks, which the relay's clears take too)
// from its read of the whole document to its write may replace the
// document, outbox included, with ReplaceFields: under that lock the
// records it read are the ones still pending. FerretDB applies an update
// with operators by reading and rewriting the document anyway, at about
// twice the cost of a plain replace.
//
// No write of either side has a condition on the other: the relay's clears
// leave "version" alone, and an aggregate write never has to retry because
// the relay cleared something. Call Prepare for each outbox collection at
// start-up, before the service writes: it creates the sweep index and brings
// documents written before this layout into it (an empty array instead of a
// missing or null one, a pending_since where records are pending).
// Repositories that still replace whole documents are invisible to the
// indexed sweep; until they move to Insert and Update,
// RelayConfig.LegacySweep finds them by a scan.
//
// # Relay
//
// The Relay reads up to BatchSize documents with pending_since, oldest first,
// through the sweep index; publishes each record in order with its event id
// as Nats-Msg-Id and a ctx carrying the record's trace context; then removes
// the records it published with $pullAll of exactly the elements it read (a
// record appended meanwhile is a different element and stays), and unsets
// pending_since with a filter requiring the array to be empty (an append
// that came in between keeps it). It wakes on Notify and every SweepInterval.
//
// Failures are told apart. NATS unreachable (timeouts, no servers, closed
// connection, JetStream off) ends the pass; everything stays pending and
// counts against nothing. A record the broker refuses (over max_payload,
// over the stream's max_msg_size, a subject no stream takes, any other
// error of that one publish) stops only its own document, so that one
// aggregate's events keep their order, and the pass goes on with the other
// documents. After MaxAttempts refusals, counted at most once per
// SweepInterval, the record is published to DeadLetterSubject (under
// events.DeadLetterSubjects, so on events.DeadLetterStream) with its reason
// in headers, and removed; a record too large for NATS is dead-lettered as
// headers only (id, subject, size, reason). It is logged at error and
// counted (metrics.go). A database error skips its collection for the pass.
//
// # Guarantees
//
// Every record appended by a successful write reaches its stream at least
// once, and exactly once as long as a re-publish of it falls inside the
// stream's duplicate window (default 2 minutes): the record's event id is
// the Nats-Msg-Id, so publishing it again (two replicas' relays that read
// the same document, a clear lost to a crash) stores nothing new. A relay
// uses a batch it read for at most MaxReadAge (30s) before reading again,
// which keeps such re-publishes well inside the window. Relays of several
// replicas on one database need no coordination: none of their updates is
// conditioned on the others', so none aborts another's pass. Each replica's
// relay is woken by its own writes, so in steady state the others' timed
// sweeps find nothing; during a backlog they may publish the same records,
// which the window drops.
//
// # Embedded FerretDB
//
// FerretDB v1 applies each update by reading the document and writing it
// back, so on the embedded store the writers and the relay serialise the
// writes to one document with doclock (RelayConfig.Locks, non-nil only
// there): a writer holds Locks.Lock(collection name, string _id) around its
// UpdateOne, the relay around its clear. (FerretDB hands SQLite only a
// filter on _id alone and scans the collection for any other, so under the
// lock the relay checks "array empty" on a read instead of in the filter.)
// Every operator used
// here ($push with $each, $min, $pullAll, $unset, $exists on an array index,
// a sparse index) was checked against it in the tests; $pull with a
// condition is not used because FerretDB v1 matches it and changes nothing,
// and partialFilterExpression is not used because it rejects it. On MongoDB
// each of these updates is atomic by itself and no lock is needed.
package outbox

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"google.golang.org/protobuf/proto"

	eventsv1 "github.com/gemella/gemella/proto/gemella/events/v1"
	"github.com/gemella/gemella/services/platform/grpcx"
	"github.com/gemella/gemella/services/platform/telemetry"
)

const (
	// Field is the document field holding the unpublished Records, oldest
	// first; writers append to it with UpdateOps only.
	Field = "pending_events"
	// SinceField is the document field the relay's sweep looks up through
	// IndexModels: a date no later than the oldest pending record, absent
	// when none is pending.
	SinceField = "pending_since"
	// VersionField is the document field every aggregate write increments.
	VersionField = "version"
	// IndexName names the sweep index.
	IndexName = "outbox_pending_since"
)

// Record is one unpublished event inside an aggregate document.
type Record struct {
	// ID is the event id, published as Nats-Msg-Id.
	ID string `bson:"id"`
	// Subject to publish on, e.g. "catalog.practice.published".
	Subject string `bson:"subject"`
	// Data is the protobuf-encoded eventsv1.Envelope.
	Data []byte `bson:"data"`
	// Traceparent is the W3C trace context of the write that recorded the
	// event; the relay publishes with it so the trace goes on.
	Traceparent string `bson:"traceparent,omitempty"`
}

// NewRecord encodes env for the outbox: its event id and type become the
// record's ID and Subject, its traceparent the record's.
func NewRecord(env *eventsv1.Envelope) (Record, error) {
	if env == nil {
		return Record{}, errors.New("new outbox record: no envelope")
	}
	var errs []error
	if env.GetEventId() == "" {
		errs = append(errs, errors.New("event id is required"))
	}
	if env.GetType() == "" {
		errs = append(errs, errors.New("event type (subject) is required"))
	}
	if err := errors.Join(errs...); err != nil {
		return Record{}, fmt.Errorf("new outbox record: %w", err)
	}
	data, err := proto.Marshal(env)
	if err != nil {
		return Record{}, fmt.Errorf("new outbox record %s: marshal envelope: %w", env.GetEventId(), err)
	}
	return Record{ID: env.GetEventId(), Subject: env.GetType(), Data: data, Traceparent: env.GetTraceparent()}, nil
}

// NewRecordContext is NewRecord for an event caused by the request of ctx:
// the envelope gets the request's W3C traceparent (when ctx carries a
// span) and request id (grpcx.RequestID), before encoding; the record
// keeps the traceparent. What ctx does not carry, env keeps as it was.
func NewRecordContext(ctx context.Context, env *eventsv1.Envelope) (Record, error) {
	if env != nil {
		stampEnvelope(env, telemetry.Traceparent(ctx), grpcx.RequestID(ctx))
	}
	return NewRecord(env)
}

// StampContext gives the records that an encoder built without ctx (with
// NewRecord) the trace context and request id of ctx's request, as
// NewRecordContext would have: the aggregate stores call it on whatever a
// write is about to store, so that every event continues the request's
// trace whichever way it was encoded. A record that already has them is
// left alone; one that has neither and ctx nothing to give costs nothing.
func StampContext(ctx context.Context, recs []Record) error {
	tp, requestID := telemetry.Traceparent(ctx), grpcx.RequestID(ctx)
	if tp == "" && requestID == "" {
		return nil
	}
	for i := range recs {
		var env eventsv1.Envelope
		if err := proto.Unmarshal(recs[i].Data, &env); err != nil {
			return fmt.Errorf("stamp outbox record %s: decode envelope: %w", recs[i].ID, err)
		}
		if !stampEnvelope(&env, tp, requestID) {
			continue
		}
		data, err := proto.Marshal(&env)
		if err != nil {
			return fmt.Errorf("stamp outbox record %s: encode envelope: %w", recs[i].ID, err)
		}
		recs[i].Data, recs[i].Traceparent = data, env.GetTraceparent()
	}
	return nil
}

// stampEnvelope fills env's empty traceparent and request id from tp and
// requestID, and reports whether it changed anything.
func stampEnvelope(env *eventsv1.Envelope, tp, requestID string) bool {
	changed := false
	if env.GetTraceparent() == "" && tp != "" {
		env.Traceparent, changed = tp, true
	}
	if env.GetRequestId() == "" && requestID != "" {
		env.RequestId, changed = requestID, true
	}
	return changed
}

// traceparentHeader is the W3C header (and carrier key) of a trace context.
const traceparentHeader = "traceparent"

// InsertFields is what a new aggregate document carries of the outbox: its
// first records, and pending_since when there are any. pending_events is an
// empty array, not null, when recs is empty, so later $push updates work.
func InsertFields(recs []Record) bson.D {
	fields := bson.D{{Key: Field, Value: nonNil(recs)}}
	if len(recs) > 0 {
		fields = append(fields, bson.E{Key: SinceField, Value: now()})
	}
	return fields
}

// UpdateOps are the update operators that append recs to a document's
// outbox: {$push: {pending_events: {$each: recs}}, $min: {pending_since:
// now}}. Merge them into the update of a version-conditioned UpdateOne
// (Update does); they touch no field of the aggregate, so the other
// operators of that update must not touch pending_events or pending_since.
// With no records there is nothing to merge and UpdateOps is empty.
func UpdateOps(recs []Record) bson.D {
	if len(recs) == 0 {
		return bson.D{}
	}
	return bson.D{
		{Key: "$push", Value: bson.D{{Key: Field, Value: bson.D{{Key: "$each", Value: recs}}}}},
		{Key: "$min", Value: bson.D{{Key: SinceField, Value: now()}}},
	}
}

// RawRecords are recs as the store keeps them in pending_events, for a
// writer that hands the relay what it wrote (Relay.NotifyPending).
func RawRecords(recs []Record) ([]bson.Raw, error) {
	out := make([]bson.Raw, 0, len(recs))
	for _, rec := range recs {
		raw, err := bson.Marshal(rec)
		if err != nil {
			return nil, fmt.Errorf("encode outbox record %s: %w", rec.ID, err)
		}
		out = append(out, raw)
	}
	return out, nil
}

// ReplaceFields are the outbox fields of a replacement of the whole
// document current, which appends recs: the records current still has
// pending, then recs, and pending_since kept, or set if recs are the first.
// pending is the array written. Only a writer that holds the document's
// lock from its read of current to its replace, which the relay's clears
// take too (the embedded FerretDB, RelayConfig.Locks), may replace: there
// current's records are the ones the store still has.
// pending is nil when current holds something in its array that is not a
// record (the relay then reads it, and dead-letters what it cannot use).
func ReplaceFields(current bson.Raw, recs []Record) (fields bson.D, pending []bson.Raw, err error) {
	array := bson.A{}
	pending = []bson.Raw{}
	if arr, ok := current.Lookup(Field).ArrayOK(); ok {
		values, err := arr.Values()
		if err != nil {
			return nil, nil, fmt.Errorf("read %s: %w", Field, err)
		}
		for _, v := range values {
			array = append(array, v) // kept as it is, whatever it is
			if doc, ok := v.DocumentOK(); ok && pending != nil {
				pending = append(pending, doc)
			} else {
				pending = nil
			}
		}
	}
	added, err := RawRecords(recs)
	if err != nil {
		return nil, nil, err
	}
	for _, raw := range added {
		array = append(array, raw)
	}
	if pending != nil {
		pending = append(pending, added...)
	}
	fields = bson.D{{Key: Field, Value: array}}
	if since, ok := current.Lookup(SinceField).TimeOK(); ok {
		fields = append(fields, bson.E{Key: SinceField, Value: since.UTC()})
	} else if len(array) > 0 {
		fields = append(fields, bson.E{Key: SinceField, Value: now()})
	}
	return fields, pending, nil
}

// Insert is doc, an aggregate's fields as written on create, with the outbox
// fields of InsertFields(recs). Any pending_events or pending_since that doc
// has of its own are dropped.
func Insert(doc bson.D, recs []Record) bson.D {
	out := WithoutFields(doc)
	return append(out, InsertFields(recs)...)
}

// Update is the update document of an aggregate write: {$set: set} without
// _id and the outbox fields (which a writer never sets), plus
// UpdateOps(recs). Use it with a filter on _id and the version read, and put
// the new version in set.
func Update(set bson.D, recs []Record) bson.D {
	set = slices.DeleteFunc(WithoutFields(set), func(e bson.E) bool { return e.Key == "_id" })
	update := bson.D{}
	if len(set) > 0 {
		update = append(update, bson.E{Key: "$set", Value: set})
	}
	return append(update, UpdateOps(recs)...)
}

// WithoutFields is a copy of doc without pending_events and pending_since.
func WithoutFields(doc bson.D) bson.D {
	return slices.DeleteFunc(slices.Clone(doc), func(e bson.E) bool { return IsField(e.Key) })
}

// IsField reports whether a top-level document key belongs to the outbox.
func IsField(key string) bool { return key == Field || key == SinceField }

// ExcludeFields is a projection that leaves the outbox fields out of a read;
// aggregates never need them.
func ExcludeFields() bson.D {
	return bson.D{{Key: Field, Value: 0}, {Key: SinceField, Value: 0}}
}

func nonNil(recs []Record) []Record {
	if recs == nil {
		return []Record{}
	}
	return recs
}

// now is the time written to pending_since, at the millisecond precision
// BSON dates keep.
func now() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }
