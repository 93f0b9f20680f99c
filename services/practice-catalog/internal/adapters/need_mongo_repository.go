package adapters

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/doclock"
	"github.com/gemella/gemella/services/platform/outbox"
	"github.com/gemella/gemella/services/platform/paging"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/need"
)

// NeedEncoder turns a recorded change into an outbox record.
type NeedEncoder func(n *need.Need, c need.Change) (outbox.Record, error)

// NeedMongoRepository stores needs in MongoDB, their events in the same
// document.
type NeedMongoRepository struct {
	store  docStore[needDoc]
	encode NeedEncoder
}

// NewNeedMongoRepository uses db's needs collection; notify wakes the
// outbox relay after each write; locks are shared with the relay.
func NewNeedMongoRepository(db *mongo.Database, encode NeedEncoder, notify func(), locks *doclock.Locks) *NeedMongoRepository {
	if notify == nil {
		notify = func() {}
	}
	return &NeedMongoRepository{store: docStore[needDoc]{coll: db.Collection(NeedsCollection), what: "need", notify: notify, locks: locks}, encode: encode}
}

func (r *NeedMongoRepository) records(n *need.Need) ([]outbox.Record, error) {
	var out []outbox.Record
	for _, c := range n.Changes() {
		rec, err := r.encode(n, c)
		if err != nil {
			return nil, fmt.Errorf("encode %s event of need %s: %w", c.Type, n.ID, err)
		}
		out = append(out, rec)
	}
	return out, nil
}

// Create implements need.Repository.
func (r *NeedMongoRepository) Create(ctx context.Context, n *need.Need) error {
	n.Version = 1
	recs, err := r.records(n)
	if err != nil {
		return err
	}
	doc := toNeedDoc(n)
	doc.PendingEvents = withRecords(nil, recs)
	if err := r.store.insert(ctx, doc); err != nil {
		if err == errDuplicate {
			return apperr.AlreadyExists("need %s already exists", n.ID)
		}
		return err
	}
	return nil
}

// Get implements need.Repository.
func (r *NeedMongoRepository) Get(ctx context.Context, id string) (*need.Need, error) {
	doc, err := r.store.find(ctx, bson.D{{Key: "_id", Value: id}})
	if err != nil {
		return nil, err
	}
	if doc == nil {
		return nil, need.ErrNotFound(id)
	}
	return doc.toDomain(), nil
}

// Update implements need.Repository. The document lock makes the
// versioned replace atomic on the embedded FerretDB (see doclock).
func (r *NeedMongoRepository) Update(ctx context.Context, id string, fn func(*need.Need) error) (*need.Need, error) {
	defer r.store.lock(id)()
	for attempt := 0; attempt < maxUpdateAttempts; attempt++ {
		doc, err := r.store.find(ctx, bson.D{{Key: "_id", Value: id}})
		if err != nil {
			return nil, err
		}
		if doc == nil {
			return nil, need.ErrNotFound(id)
		}
		n := doc.toDomain()
		if err := fn(n); err != nil {
			return nil, err
		}
		n.Version = doc.Version + 1
		recs, err := r.records(n)
		if err != nil {
			return nil, err
		}
		next := toNeedDoc(n)
		next.PendingEvents = withRecords(doc.PendingEvents, recs)
		ok, err := r.store.replace(ctx, id, doc.Version, next)
		if err != nil {
			return nil, err
		}
		if ok {
			return n, nil
		}
	}
	return nil, tooMuchContention("need", id)
}

// List implements need.Repository.
func (r *NeedMongoRepository) List(ctx context.Context, f need.Filter, after *paging.Cursor, limit int) ([]*need.Need, error) {
	filter := bson.D{}
	add := func(k, v string) {
		if v != "" {
			filter = append(filter, bson.E{Key: k, Value: v})
		}
	}
	add("status", f.Status.String())
	add("organization_id", f.OrganizationID)
	add("themes", f.Theme)
	add("sectors", f.Sector)
	add("territory.code", f.TerritoryCode)
	docs, err := r.store.list(ctx, filter, after, false, limit, withoutOutbox)
	if err != nil {
		return nil, err
	}
	out := make([]*need.Need, len(docs))
	for i := range docs {
		out[i] = docs[i].toDomain()
	}
	return out, nil
}
