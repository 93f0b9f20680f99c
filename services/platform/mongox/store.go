package mongox

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/gemella/gemella/services/platform/doclock"
	"github.com/gemella/gemella/services/platform/outbox"
)

// AggregateStore keeps one aggregate type in one collection: create with
// events, get, version-conditioned update with events, keyset pages. The
// events of a write go into the document's outbox fields in the same
// single-document write (ARCHITECTURE.md, "Events"); the relay publishes
// them. Its Create, Get and Update have the shape of a domain repository's,
// so a repository embeds the store and adds its queries.
//
// On MongoDB an update writes only what changed hands: $set of the
// document's fields (without _id), $unset of those it no longer has,
// version+1, and the new events appended, in one update conditioned on the
// version read; it never rewrites the outbox fields. On the embedded
// FerretDB (StoreOptions.Locks set) it replaces the document under its
// lock instead (replaceLocked). Either way the relay is handed the
// document's pending events as the write left them.
type AggregateStore[A, D any] struct {
	coll *mongo.Collection
	agg  Aggregate[A, D]
	opts StoreOptions
}

// NewAggregateStore keeps agg's aggregates in coll. It panics when agg
// lacks a required function: a programming error.
func NewAggregateStore[A, D any](coll *mongo.Collection, agg Aggregate[A, D], opts StoreOptions) *AggregateStore[A, D] {
	agg.check()
	return &AggregateStore[A, D]{coll: coll, agg: agg, opts: opts.withDefaults()}
}

// Collection is the store's collection, for the queries it has no method for.
func (s *AggregateStore[A, D]) Collection() *mongo.Collection { return s.coll }

// Create inserts a new aggregate at version 1 with the events it recorded.
// A taken _id answers AlreadyExists; another unique index, Conflict.
func (s *AggregateStore[A, D]) Create(ctx context.Context, a *A) error {
	_, err := s.insert(ctx, a)
	return err
}

// insert is Create; idTaken tells a taken _id from other failures.
func (s *AggregateStore[A, D]) insert(ctx context.Context, a *A) (idTaken bool, err error) {
	*s.agg.Version(a) = 1
	doc, err := s.agg.marshal(s.agg.ToDoc(a))
	if err != nil {
		return false, fmt.Errorf("insert %w", err)
	}
	recs, err := s.agg.records(ctx, doc.id, a)
	if err != nil {
		return false, err
	}
	pending, _ := pendingWrite(s.agg.Events.Encode != nil, recs)
	if _, err := s.coll.InsertOne(ctx, append(doc.fields, pending...)); err != nil {
		if IsDuplicateKey(err) {
			return s.whichDuplicate(ctx, doc.id, a)
		}
		return false, fmt.Errorf("insert %s %s: %w", s.agg.Name, doc.id, err)
	}
	// A new document's outbox holds exactly its first records.
	raws, err := outbox.RawRecords(recs)
	if err != nil {
		raws = nil // the relay reads them
	}
	s.notify(doc.id, len(recs), raws, doclock.Stamp{})
	return false, nil
}

// whichDuplicate tells a taken id (a retried create) from a clash on
// another unique index; the embedded store's error does not name the index.
func (s *AggregateStore[A, D]) whichDuplicate(ctx context.Context, id string, a *A) (idTaken bool, err error) {
	if _, err := s.load(ctx, bson.D{{Key: IDField, Value: id}}); err == nil {
		return true, s.agg.alreadyExists(id)
	} else if !errors.Is(err, errNoDocument) {
		return false, err
	}
	return false, s.agg.conflict(id, a)
}

// Get loads the aggregate with this id, or answers NotFound.
func (s *AggregateStore[A, D]) Get(ctx context.Context, id string) (*A, error) {
	return s.FindOne(ctx, bson.D{{Key: IDField, Value: id}}, id)
}

// FindOne loads the aggregate filter matches (by a unique field); key
// names it in the NotFound error.
func (s *AggregateStore[A, D]) FindOne(ctx context.Context, filter bson.D, key string) (*A, error) {
	doc, err := s.load(ctx, filter)
	if errors.Is(err, errNoDocument) {
		return nil, s.agg.NotFound(key)
	}
	if err != nil {
		return nil, err
	}
	return s.agg.ToDomain(doc), nil
}

var errNoDocument = errors.New("no document")

func (s *AggregateStore[A, D]) load(ctx context.Context, filter bson.D) (*D, error) {
	var doc D
	err := s.coll.FindOne(ctx, filter, options.FindOne().SetProjection(exclude(nil))).Decode(&doc)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, errNoDocument
	}
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", s.agg.Name, err)
	}
	return &doc, nil
}

// Update loads the aggregate, lets fn decide (its error is returned as it
// is and nothing is written), and writes the change if nobody wrote the
// document since it was read; otherwise it starts again, at most
// MaxAttempts times, then answers Aborted.
func (s *AggregateStore[A, D]) Update(ctx context.Context, id string, fn func(*A) error) (*A, error) {
	return s.update(ctx, id, nil, fn)
}

// Upsert is Update, except that an id naming nothing starts from fresh()
// and inserts it; two first writes race on the _id and the loser retries.
func (s *AggregateStore[A, D]) Upsert(ctx context.Context, id string, fresh func() *A, fn func(*A) error) (*A, error) {
	return s.update(ctx, id, fresh, fn)
}

func (s *AggregateStore[A, D]) update(ctx context.Context, id string, fresh func() *A, fn func(*A) error) (*A, error) {
	return s.agg.rounds(ctx, s.opts.MaxAttempts, id, fresh, fn, s.insert, func() (*A, func(*A) (bool, error), error) {
		if s.opts.Locks != nil && !s.opts.Locks.Shared() {
			read, err := s.loadWhole(ctx, id)
			if err != nil {
				return nil, nil, err
			}
			return s.agg.ToDomain(&read.doc), func(a *A) (bool, error) { return s.write(ctx, id, &read.doc, &read, a) }, nil
		}
		stored, err := s.load(ctx, bson.D{{Key: IDField, Value: id}})
		if err != nil {
			return nil, nil, err
		}
		return s.agg.ToDomain(stored), func(a *A) (bool, error) { return s.write(ctx, id, stored, nil, a) }, nil
	})
}

// wholeRead is a document read whole, outbox fields and all, for a write
// under its lock: the stamp tells that write whether the document is
// still as read (doclock.Locks.Stamp).
type wholeRead[D any] struct {
	doc   D
	raw   bson.Raw
	stamp doclock.Stamp
}

// loadWhole is load for the embedded FerretDB under in-process locks, the
// only ones whose stamps can hold: by _id, the whole document.
func (s *AggregateStore[A, D]) loadWhole(ctx context.Context, id string) (wholeRead[D], error) {
	r := wholeRead[D]{stamp: s.opts.Locks.Stamp(s.coll.Name(), id)}
	err := s.coll.FindOne(ctx, bson.D{{Key: IDField, Value: id}}).Decode(&r.raw)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return r, errNoDocument
	}
	if err == nil {
		err = bson.Unmarshal(r.raw, &r.doc)
	}
	if err != nil {
		return r, fmt.Errorf("load %s: %w", s.agg.Name, err)
	}
	return r, nil
}

// write stores a, changed from stored, if the document still has stored's
// version; false when another write got there first. whole is the read
// of stored under in-process locks, nil otherwise.
func (s *AggregateStore[A, D]) write(ctx context.Context, id string, stored *D, whole *wholeRead[D], a *A) (bool, error) {
	version := s.agg.Version(a)
	read := *version
	*version = read + 1
	recs, err := s.agg.records(ctx, id, a)
	if err != nil {
		*version = read
		return false, err
	}
	var written bool
	var pending []bson.Raw
	var stamp doclock.Stamp
	if s.opts.Locks != nil {
		written, pending, stamp, err = s.replaceLocked(ctx, id, read, whole, a, recs)
	} else {
		written, pending, err = s.updateVersioned(ctx, id, read, stored, a, recs)
	}
	if err != nil || !written {
		*version = read
		return false, err
	}
	s.notify(id, len(recs), pending, stamp)
	return true, nil
}

// updateVersioned is write on MongoDB: one update filtered on _id and the
// version read, atomic by itself, that $sets what changed and appends the
// records; with records, it returns the document's pending_events as the
// update left them, so that the relay publishes them without reading.
func (s *AggregateStore[A, D]) updateVersioned(ctx context.Context, id string, read int64, stored *D, a *A, recs []outbox.Record) (bool, []bson.Raw, error) {
	update, err := changeOf(*stored, s.agg.ToDoc(a))
	if err != nil {
		return false, nil, fmt.Errorf("save %s %s: %w", s.agg.Name, id, err)
	}
	_, ops := pendingWrite(s.agg.Events.Encode != nil, recs)
	update = append(update, ops...)
	filter := bson.D{{Key: IDField, Value: id}, {Key: outbox.VersionField, Value: read}}
	if len(recs) == 0 {
		res, err := s.coll.UpdateOne(ctx, filter, update)
		if err != nil {
			return false, nil, s.saveError(id, a, err)
		}
		return res.MatchedCount == 1, nil, nil
	}
	var after struct {
		Pending []bson.Raw `bson:"pending_events"`
	}
	// No projection: FerretDB v1 refuses one on findAndModify, and the
	// document is small (bounded, see ARCHITECTURE.md, "Storage").
	err = s.coll.FindOneAndUpdate(ctx, filter, update, options.FindOneAndUpdate().
		SetReturnDocument(options.After)).Decode(&after)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return false, nil, nil
	}
	if err != nil {
		return false, nil, s.saveError(id, a, err)
	}
	if after.Pending == nil {
		after.Pending = []bson.Raw{}
	}
	return true, after.Pending, nil
}

// replaceLocked is write on the embedded FerretDB, which applies an update
// by reading the document and writing it whole, and serves only filters
// on _id alone (any other condition scans the collection). Under the
// document's lock, which every writer of the document and the relay's
// clears hold too, it checks the version of the document as it is, and
// replaces it: a's fields, the fields its type does not know as they are
// (another writer's), and the outbox with recs appended
// (outbox.ReplaceFields). The document as it is, is the one loaded for the
// decision when nobody held its lock since (whole's stamp; in-process
// locks only), else a read by _id under the lock; then one plain replace,
// cheaper there than an update with operators; and the relay is handed
// the pending records.
func (s *AggregateStore[A, D]) replaceLocked(ctx context.Context, id string, read int64, whole *wholeRead[D], a *A, recs []outbox.Record) (bool, []bson.Raw, doclock.Stamp, error) {
	unlock, err := s.opts.Locks.Acquire(ctx, s.coll.Name(), id)
	if err != nil {
		return false, nil, doclock.Stamp{}, fmt.Errorf("save %s %s: %w", s.agg.Name, id, err)
	}
	defer unlock()
	byID := bson.D{{Key: IDField, Value: id}}
	var current bson.Raw
	if whole != nil && s.opts.Locks.Unchanged(whole.stamp) {
		current = whole.raw
	} else {
		err = s.coll.FindOne(ctx, byID).Decode(&current)
		if errors.Is(err, mongo.ErrNoDocuments) {
			return false, nil, doclock.Stamp{}, nil // deleted: the next round says so
		}
		if err != nil {
			return false, nil, doclock.Stamp{}, fmt.Errorf("save %s %s: read it: %w", s.agg.Name, id, err)
		}
	}
	if v, ok := current.Lookup(outbox.VersionField).AsInt64OK(); !ok || v != read {
		return false, nil, doclock.Stamp{}, nil // another write came first
	}
	doc, pending, err := s.replacement(current, a, recs)
	if err != nil {
		return false, nil, doclock.Stamp{}, fmt.Errorf("save %s %s: %w", s.agg.Name, id, err)
	}
	res, err := s.coll.ReplaceOne(ctx, byID, doc)
	if err != nil {
		return false, nil, doclock.Stamp{}, s.saveError(id, a, err)
	}
	return res.MatchedCount == 1, pending, s.opts.Locks.Held(s.coll.Name(), id), nil
}

// replacement is the document that replaces current with a: _id, the
// fields of current that a's document type does not know, a's fields, and
// the outbox (when the aggregate publishes) with recs appended.
func (s *AggregateStore[A, D]) replacement(current bson.Raw, a *A, recs []outbox.Record) (bson.D, []bson.Raw, error) {
	var was D
	if err := bson.Unmarshal(current, &was); err != nil {
		return nil, nil, fmt.Errorf("decode the stored document: %w", err)
	}
	known, err := documentFields(was)
	if err != nil {
		return nil, nil, err
	}
	next, err := documentFields(s.agg.ToDoc(a))
	if err != nil {
		return nil, nil, err
	}
	isKnown := make(map[string]bool, len(known)+len(next))
	for _, e := range known {
		isKnown[e.Key] = true
	}
	for _, e := range next {
		isKnown[e.Key] = true
	}
	elems, err := current.Elements()
	if err != nil {
		return nil, nil, fmt.Errorf("read the stored document: %w", err)
	}
	doc := make(bson.D, 0, len(next)+4)
	doc = append(doc, bson.E{Key: IDField, Value: current.Lookup(IDField)})
	for _, e := range elems {
		if k := e.Key(); k != IDField && !isKnown[k] && !outbox.IsField(k) {
			doc = append(doc, bson.E{Key: k, Value: e.Value()})
		}
	}
	for _, e := range next {
		if e.Key != IDField {
			doc = append(doc, e)
		}
	}
	if s.agg.Events.Encode == nil {
		// Nothing of the outbox is this store's to write; keep what is there.
		for _, e := range elems {
			if outbox.IsField(e.Key()) {
				doc = append(doc, bson.E{Key: e.Key(), Value: e.Value()})
			}
		}
		return doc, nil, nil
	}
	fields, pending, err := outbox.ReplaceFields(current, recs)
	if err != nil {
		return nil, nil, err
	}
	return append(doc, fields...), pending, nil
}

func (s *AggregateStore[A, D]) saveError(id string, a *A, err error) error {
	if IsDuplicateKey(err) {
		return s.agg.conflict(id, a)
	}
	return fmt.Errorf("save %s %s: %w", s.agg.Name, id, err)
}

// Delete removes the aggregate's document, pending events and all; an id
// naming nothing is no error.
func (s *AggregateStore[A, D]) Delete(ctx context.Context, id string) error {
	unlock, err := s.opts.Locks.Acquire(ctx, s.coll.Name(), id)
	if err != nil {
		return fmt.Errorf("delete %s %s: %w", s.agg.Name, id, err)
	}
	_, err = s.coll.DeleteOne(ctx, bson.D{{Key: IDField, Value: id}})
	unlock()
	if err != nil {
		return fmt.Errorf("delete %s %s: %w", s.agg.Name, id, err)
	}
	return nil
}

// Find reads one keyset page of the aggregates filter matches, ordered by
// sort_key. Every filter a page uses needs an index ending in sort_key.
func (s *AggregateStore[A, D]) Find(ctx context.Context, filter bson.D, page Page) ([]*A, error) {
	dir, op := -1, "$lt"
	if page.Ascending {
		dir, op = 1, "$gt"
	}
	if page.After != nil {
		filter = append(append(bson.D{}, filter...), bson.E{Key: SortKeyField, Value: bson.D{{Key: op, Value: page.After.Key}}})
	}
	if filter == nil {
		filter = bson.D{}
	}
	opts := options.Find().SetSort(bson.D{{Key: SortKeyField, Value: dir}}).SetProjection(exclude(page.Omit))
	if page.Limit > 0 {
		opts.SetLimit(int64(page.Limit))
	}
	cur, err := s.coll.Find(ctx, filter, opts)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", s.agg.Name, err)
	}
	var docs []D
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("list %s: %w", s.agg.Name, err)
	}
	out := make([]*A, len(docs))
	for i := range docs {
		out[i] = s.agg.ToDomain(&docs[i])
	}
	return out, nil
}

func (s *AggregateStore[A, D]) notify(id string, events int, pending []bson.Raw, written doclock.Stamp) {
	s.opts.Written(s.coll.Name(), id, events, pending, written)
}

// exclude is the projection that leaves out the outbox fields and omit.
func exclude(omit []string) bson.D {
	p := outbox.ExcludeFields()
	for _, f := range omit {
		p = append(p, bson.E{Key: f, Value: 0})
	}
	return p
}

// changeOf is the update from stored to next: $set of the fields next
// changed (the version always changes), $unset of the fields stored has
// and next no longer does (an omitempty field emptied). Both come from the
// same document type, so a field the type does not know (another
// writer's, the outbox's) is never touched.
func changeOf(stored, next any) (bson.D, error) {
	was, err := documentFields(stored)
	if err != nil {
		return nil, err
	}
	now, err := documentFields(next)
	if err != nil {
		return nil, err
	}
	before := make(map[string]bson.RawValue, len(was))
	for _, e := range was {
		before[e.Key] = e.Value.(bson.RawValue)
	}
	set := make(bson.D, 0, len(now))
	for _, e := range now {
		old, had := before[e.Key]
		delete(before, e.Key)
		if e.Key == IDField || had && old.Equal(e.Value.(bson.RawValue)) {
			continue
		}
		set = append(set, e)
	}
	update := bson.D{{Key: "$set", Value: set}}
	var unset bson.D
	for _, e := range was { // in the document's order
		if _, gone := before[e.Key]; gone {
			unset = append(unset, bson.E{Key: e.Key, Value: ""})
		}
	}
	if len(unset) > 0 {
		update = append(update, bson.E{Key: "$unset", Value: unset})
	}
	return update, nil
}

// backoff waits before a retry, a jittered delay growing from about a
// millisecond to at most 50, so that writers who lost a race spread out.
func backoff(ctx context.Context, attempt int) error {
	if attempt == 0 {
		return ctx.Err()
	}
	ceiling := time.Millisecond << min(attempt, 6)
	t := time.NewTimer(min(rand.N(ceiling)+time.Millisecond, 50*time.Millisecond))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
