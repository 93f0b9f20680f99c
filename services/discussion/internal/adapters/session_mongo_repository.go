package adapters

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/gemella/gemella/services/discussion/internal/domain/session"
	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/doclock"
)

// SessionMongoRepository stores log-in sessions in MongoDB, so that every
// replica sees a log-out. Sessions publish no events.
type SessionMongoRepository struct {
	store docStore[sessionDoc]
}

// NewSessionMongoRepository uses db's sessions collection.
func NewSessionMongoRepository(db *mongo.Database, locks *doclock.Locks) *SessionMongoRepository {
	return &SessionMongoRepository{store: newDocStore[sessionDoc](db, SessionsCollection, "session", nil, locks)}
}

// Create implements session.Repository.
func (r *SessionMongoRepository) Create(ctx context.Context, s *session.Session) error {
	s.Version = 1
	if err := r.store.insert(ctx, toSessionDoc(s)); err != nil {
		if err == errDuplicate {
			return apperr.AlreadyExists("session %s already exists", s.ID)
		}
		return err
	}
	return nil
}

// Get implements session.Repository.
func (r *SessionMongoRepository) Get(ctx context.Context, id string) (*session.Session, error) {
	doc, err := r.store.find(ctx, bson.D{{Key: "_id", Value: id}})
	if err != nil {
		return nil, err
	}
	if doc == nil {
		return nil, session.ErrNotFound(id)
	}
	return doc.toDomain(), nil
}

// Update implements session.Repository.
func (r *SessionMongoRepository) Update(ctx context.Context, id string, fn func(*session.Session) error) (*session.Session, error) {
	var out *session.Session
	_, err := r.store.update(ctx, id, func() error { return session.ErrNotFound(id) }, func(stored sessionDoc) (sessionDoc, error) {
		s := stored.toDomain()
		if err := fn(s); err != nil {
			return sessionDoc{}, err
		}
		s.Version = stored.Version + 1
		out = s
		return toSessionDoc(s), nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
