package mongox

import (
	"context"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/config"
	"github.com/gemella/gemella/services/platform/doclock"
	"github.com/gemella/gemella/services/platform/outbox"
	"github.com/gemella/gemella/services/platform/paging"
)

// Field names every aggregate document shares with the stores.
const (
	// IDField is the document's key, a non-empty string.
	IDField = "_id"
	// SortKeyField orders keyset pages (Page); a document that is listed
	// carries it, with an index that starts with the list's filter fields.
	SortKeyField = "sort_key"
)

// Aggregate describes how AggregateStore and its in-memory twin,
// MemoryStore, keep aggregates of type A as documents of type D. The
// document is plain data: a string _id, an int64 "version" (the stores'
// optimistic concurrency, outbox.VersionField), a "sort_key" string if it
// is listed, and whatever else the aggregate needs; never the outbox
// fields, which the stores write. The stores read the id and the sort key
// from the document.
type Aggregate[A, D any] struct {
	// Name says what an A is, in errors: "practice".
	Name string
	// ToDoc turns an aggregate into its document; ToDomain turns a stored
	// document back. Both copy: the stores hand out no shared memory.
	ToDoc    func(*A) D
	ToDomain func(*D) *A
	// Version points at the aggregate's version, which the stores set:
	// 1 on Create, one more on every Update.
	Version func(*A) *int64
	// Events are the events of what the aggregate recorded since it was
	// made or loaded; the zero value for an aggregate that publishes
	// nothing. EncodeChanges builds them from an encoder.
	Events Events[A]
	// NotFound is the error of an id, or another key, that names nothing.
	NotFound func(key string) error
	// Conflict is the error of a write that breaks a unique index other
	// than _id (a slug someone else took); nil answers AlreadyExists.
	Conflict func(*A) error
	// UniqueKeys are the document's values of its unique indexes other
	// than _id, each prefixed with its index ("slug:…"), so that
	// MemoryStore refuses what MongoDB would; nil for none.
	UniqueKeys func(*D) []string
}

func (g Aggregate[A, D]) check() {
	if g.Name == "" || g.ToDoc == nil || g.ToDomain == nil || g.Version == nil || g.NotFound == nil {
		panic(fmt.Sprintf("mongox: aggregate %q needs Name, ToDoc, ToDomain, Version and NotFound", g.Name))
	}
}

// records encodes the events of the change a write is about to store,
// stamped with the trace context and request id of ctx.
func (g Aggregate[A, D]) records(ctx context.Context, id string, a *A) ([]outbox.Record, error) {
	if g.Events.Encode == nil {
		return nil, nil
	}
	recs, err := g.Events.Encode(ctx, a)
	if err != nil {
		return nil, fmt.Errorf("encode events of %s %s: %w", g.Name, id, err)
	}
	// Every event of a write continues its request's trace and names its
	// request id, however the service's encoder built the envelope.
	if err := outbox.StampContext(ctx, recs); err != nil {
		return nil, fmt.Errorf("encode events of %s %s: %w", g.Name, id, err)
	}
	return recs, nil
}

func (g Aggregate[A, D]) conflict(id string, a *A) error {
	if g.Conflict != nil {
		return g.Conflict(a)
	}
	return apperr.AlreadyExists("%s %s conflicts with another one", g.Name, id)
}

func (g Aggregate[A, D]) alreadyExists(id string) error {
	return apperr.AlreadyExists("%s %s already exists", g.Name, id)
}

// document is a marshalled document: its top-level fields without any
// outbox field, its _id and its sort_key.
type document struct {
	fields  bson.D
	id      string
	sortKey string
}

func (g Aggregate[A, D]) marshal(d D) (document, error) {
	fields, err := documentFields(d)
	if err != nil {
		return document{}, fmt.Errorf("%s: %w", g.Name, err)
	}
	doc := document{fields: fields}
	for _, e := range fields {
		v, _ := e.Value.(bson.RawValue)
		switch e.Key {
		case IDField:
			var ok bool
			if doc.id, ok = v.StringValueOK(); !ok || doc.id == "" {
				return document{}, fmt.Errorf("%s: the document's _id must be a non-empty string, not %v", g.Name, v)
			}
		case SortKeyField:
			doc.sortKey, _ = v.StringValueOK()
		}
	}
	if doc.id == "" {
		return document{}, fmt.Errorf("%s: the document has no _id", g.Name)
	}
	return doc, nil
}

// documentFields marshals a document into its top-level fields, without
// any outbox field it might carry.
func documentFields(doc any) (bson.D, error) {
	raw, err := bson.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("marshal document: %w", err)
	}
	elems, err := bson.Raw(raw).Elements()
	if err != nil {
		return nil, fmt.Errorf("read document: %w", err)
	}
	out := make(bson.D, 0, len(elems))
	for _, e := range elems {
		if !outbox.IsField(e.Key()) {
			out = append(out, bson.E{Key: e.Key(), Value: e.Value()})
		}
	}
	return out, nil
}

func (g Aggregate[A, D]) tooMuchContention(id string) error {
	return apperr.Aborted("%s %s is being changed by others right now: retry", g.Name, id)
}

// rounds is the load–decide–write loop of both stores' Update and Upsert.
// load returns the stored aggregate and the write of its change, which
// reports false when another write came first (errNoDocument when there is
// none); insert stores a fresh aggregate, idTaken when another writer
// inserted the id first.
func (g Aggregate[A, D]) rounds(ctx context.Context, maxAttempts int, id string, fresh func() *A, fn func(*A) error,
	insert func(context.Context, *A) (idTaken bool, err error), load func() (*A, func(*A) (bool, error), error)) (*A, error) {
	for attempt := 0; attempt < maxAttempts; attempt++ {
		if err := backoff(ctx, attempt); err != nil {
			return nil, err
		}
		a, write, err := load()
		switch {
		case errors.Is(err, errNoDocument) && fresh != nil:
			a = fresh()
			if err := fn(a); err != nil {
				return nil, err
			}
			taken, err := insert(ctx, a)
			if taken {
				continue // another writer inserted it first
			}
			if err != nil {
				return nil, err
			}
			return a, nil
		case errors.Is(err, errNoDocument):
			return nil, g.NotFound(id)
		case err != nil:
			return nil, err
		}
		if err := fn(a); err != nil {
			return nil, err
		}
		ok, err := write(a)
		if err != nil {
			return nil, err
		}
		if ok {
			return a, nil
		}
	}
	return nil, g.tooMuchContention(id)
}

// Events say how an aggregate's recorded changes become outbox records.
type Events[A any] struct {
	// Encode encodes them, with the request's ctx: the trace context
	// travels in the envelope.
	Encode func(ctx context.Context, a *A) ([]outbox.Record, error)
	// Count is how many there are. MemoryStore counts, it does not encode,
	// as the app-layer tests that use it leave envelope fields empty.
	Count func(a *A) int
}

func (e Events[A]) count(a *A) int {
	if e.Count == nil {
		return 0
	}
	return e.Count(a)
}

// EncodeChanges makes the Events of an aggregate from its recorded changes
// and the encoder of one change.
func EncodeChanges[A, C any](changes func(*A) []C, encode func(ctx context.Context, a *A, c C) (outbox.Record, error)) Events[A] {
	return Events[A]{
		Encode: func(ctx context.Context, a *A) ([]outbox.Record, error) {
			cs := changes(a)
			if len(cs) == 0 {
				return nil, nil
			}
			out := make([]outbox.Record, 0, len(cs))
			for i, c := range cs {
				rec, err := encode(ctx, a, c)
				if err != nil {
					return nil, fmt.Errorf("change %d: %w", i, err)
				}
				out = append(out, rec)
			}
			return out, nil
		},
		Count: func(a *A) int { return len(changes(a)) },
	}
}

// Page is one keyset page of a Find, ordered by sort_key.
type Page struct {
	// After is the cursor of the previous page's last item; nil starts.
	After *paging.Cursor
	// Ascending orders by sort_key upwards; the default is newest first.
	Ascending bool
	// Limit is the most items returned; 0 returns all.
	Limit int
	// Omit names top-level fields a list does not show (a history), left
	// in the store; the outbox fields are never read.
	Omit []string
}

// StoreOptions are what every AggregateStore of a service shares.
type StoreOptions struct {
	// Notify wakes the outbox relay after a write that left events.
	Notify func()
	// NotifyDocument, when set, is called instead of Notify with the
	// collection and _id of the document written, so that the relay reads
	// that one document rather than sweeping (outbox.Relay.NotifyDocument),
	// and with its pending_events as the write left them when the store
	// knows them, so that the relay need not read at all
	// (outbox.Relay.NotifyPending); nil pending when it does not. written
	// is the stamp of the writer's release of the document's lock
	// (doclock.Locks.Held), by which the relay's clear knows, under the
	// lock, that nobody wrote the document since; the zero Stamp without.
	NotifyDocument func(collection, id string, pending []bson.Raw, written doclock.Stamp)
	// Locks serialise the writes to one document, held around the single
	// update call only: on the embedded FerretDB the kit's doclock.New
	// (lease mode, across processes) or doclock.InProcess (process mode),
	// on MongoDB nil, which locks nothing.
	Locks *doclock.Locks
	// MaxAttempts bounds the load–decide–write rounds of an Update that
	// keeps losing races, after which it answers Aborted; default 8.
	MaxAttempts int
}

const defaultMaxAttempts = 8

// Written tells the relay that a write left events events on the document
// id of collection, whose pending_events are pending (nil: not known), the
// writer's release of its lock stamped written: NotifyDocument if set,
// else Notify.
func (o StoreOptions) Written(collection, id string, events int, pending []bson.Raw, written doclock.Stamp) {
	switch {
	case events == 0:
	case o.NotifyDocument != nil:
		o.NotifyDocument(collection, id, pending, written)
	case o.Notify != nil:
		o.Notify()
	}
}

func (o StoreOptions) withDefaults() StoreOptions {
	if o.Notify == nil {
		o.Notify = func() {}
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = defaultMaxAttempts
	}
	return o
}

// DocLocks returns the in-process document locks cfg asks for: a set for
// the embedded FerretDB (cfg.DocLocks process or lease), nil for MongoDB. They serialise
// the writers of one process only, which is enough for a test or a tool
// that is the store's only writer; a service's locks, which hold across
// its replicas, are doclock.New's, built by servicekit. One set serves a
// process: the stores and the outbox relay of one database must share it.
func DocLocks(cfg config.Mongo) *doclock.Locks {
	if !cfg.DocLocks.On() {
		return nil
	}
	return &doclock.Locks{}
}
