package adapters

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/gemella/gemella/services/discussion/internal/domain/member"
	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/doclock"
	"github.com/gemella/gemella/services/platform/outbox"
	"github.com/gemella/gemella/services/platform/paging"
)

// MemberEncoder turns a recorded change into an outbox record.
type MemberEncoder func(m *member.Member, c member.Change) (outbox.Record, error)

// MemberMongoRepository stores members in MongoDB.
type MemberMongoRepository struct {
	store  docStore[memberDoc]
	encode MemberEncoder
}

// NewMemberMongoRepository uses db's members collection; notify wakes the
// outbox relay after each write; locks are the service's document locks.
func NewMemberMongoRepository(db *mongo.Database, encode MemberEncoder, notify func(), locks *doclock.Locks) *MemberMongoRepository {
	return &MemberMongoRepository{store: newDocStore[memberDoc](db, MembersCollection, "member", notify, locks), encode: encode}
}

func (r *MemberMongoRepository) records(m *member.Member) ([]outbox.Record, error) {
	return encodeAll("member", m.ID, m.Changes(), func(c member.Change) (outbox.Record, error) { return r.encode(m, c) })
}

// Create implements member.Repository.
func (r *MemberMongoRepository) Create(ctx context.Context, m *member.Member) error {
	m.Version = 1
	recs, err := r.records(m)
	if err != nil {
		return err
	}
	doc := toMemberDoc(m)
	doc.PendingEvents = withRecords(nil, recs)
	err = r.store.insert(ctx, doc)
	if err != errDuplicate {
		return err
	}
	existing, ferr := r.store.find(ctx, bson.D{{Key: "_id", Value: m.ID}})
	if ferr != nil {
		return ferr
	}
	if existing != nil {
		return apperr.AlreadyExists("member %s already exists", m.ID)
	}
	return member.ErrEmailTaken()
}

// Get implements member.Repository.
func (r *MemberMongoRepository) Get(ctx context.Context, id string) (*member.Member, error) {
	doc, err := r.store.find(ctx, bson.D{{Key: "_id", Value: id}})
	if err != nil {
		return nil, err
	}
	if doc == nil {
		return nil, member.ErrNotFound(id)
	}
	return doc.toDomain(), nil
}

// GetByEmail implements member.Repository.
func (r *MemberMongoRepository) GetByEmail(ctx context.Context, email string) (*member.Member, error) {
	doc, err := r.store.find(ctx, bson.D{{Key: "email", Value: email}})
	if err != nil {
		return nil, err
	}
	if doc == nil {
		return nil, apperr.NotFound("no member has this e-mail address").WithReason(apperr.ReasonMemberNotFound)
	}
	return doc.toDomain(), nil
}

// Update implements member.Repository.
func (r *MemberMongoRepository) Update(ctx context.Context, id string, fn func(*member.Member) error) (*member.Member, error) {
	var out *member.Member
	_, err := r.store.update(ctx, id, func() error { return member.ErrNotFound(id) }, func(stored memberDoc) (memberDoc, error) {
		m := stored.toDomain()
		if err := fn(m); err != nil {
			return memberDoc{}, err
		}
		m.Version = stored.Version + 1
		recs, err := r.records(m)
		if err != nil {
			return memberDoc{}, err
		}
		next := toMemberDoc(m)
		next.PendingEvents = withRecords(stored.PendingEvents, recs)
		out = m
		return next, nil
	})
	if err == errDuplicate {
		return nil, member.ErrEmailTaken()
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

// List implements member.Repository. The password hash is not read.
func (r *MemberMongoRepository) List(ctx context.Context, after *paging.Cursor, limit int) ([]*member.Member, error) {
	docs, err := r.store.list(ctx, bson.D{}, after, false, limit, bson.D{{Key: "password_hash", Value: 0}, {Key: "pending_events", Value: 0}})
	if err != nil {
		return nil, err
	}
	out := make([]*member.Member, len(docs))
	for i, d := range docs {
		out[i] = d.toDomain()
	}
	return out, nil
}
