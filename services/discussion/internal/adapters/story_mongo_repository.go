package adapters

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/gemella/gemella/services/discussion/internal/domain/story"
	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/doclock"
	"github.com/gemella/gemella/services/platform/outbox"
	"github.com/gemella/gemella/services/platform/paging"
)

// StoryEncoder turns a recorded change into an outbox record.
type StoryEncoder func(s *story.Story, c story.Change) (outbox.Record, error)

// StoryMongoRepository stores stories in MongoDB.
type StoryMongoRepository struct {
	store  docStore[storyDoc]
	encode StoryEncoder
}

// NewStoryMongoRepository uses db's stories collection.
func NewStoryMongoRepository(db *mongo.Database, encode StoryEncoder, notify func(), locks *doclock.Locks) *StoryMongoRepository {
	return &StoryMongoRepository{store: newDocStore[storyDoc](db, StoriesCollection, "story", notify, locks), encode: encode}
}

func (r *StoryMongoRepository) records(s *story.Story) ([]outbox.Record, error) {
	return encodeAll("story", s.ID, s.Changes(), func(c story.Change) (outbox.Record, error) { return r.encode(s, c) })
}

// Create implements story.Repository.
func (r *StoryMongoRepository) Create(ctx context.Context, s *story.Story) error {
	s.Version = 1
	recs, err := r.records(s)
	if err != nil {
		return err
	}
	doc := toStoryDoc(s)
	doc.PendingEvents = withRecords(nil, recs)
	if err := r.store.insert(ctx, doc); err != nil {
		if err == errDuplicate {
			return apperr.AlreadyExists("story %s already exists", s.ID)
		}
		return err
	}
	return nil
}

// Get implements story.Repository.
func (r *StoryMongoRepository) Get(ctx context.Context, id string) (*story.Story, error) {
	doc, err := r.store.find(ctx, bson.D{{Key: "_id", Value: id}})
	if err != nil {
		return nil, err
	}
	if doc == nil {
		return nil, story.ErrNotFound(id)
	}
	return doc.toDomain(), nil
}

// Update implements story.Repository.
func (r *StoryMongoRepository) Update(ctx context.Context, id string, fn func(*story.Story) error) (*story.Story, error) {
	var out *story.Story
	_, err := r.store.update(ctx, id, func() error { return story.ErrNotFound(id) }, func(stored storyDoc) (storyDoc, error) {
		s := stored.toDomain()
		if err := fn(s); err != nil {
			return storyDoc{}, err
		}
		s.Version = stored.Version + 1
		recs, err := r.records(s)
		if err != nil {
			return storyDoc{}, err
		}
		next := toStoryDoc(s)
		next.PendingEvents = withRecords(stored.PendingEvents, recs)
		out = s
		return next, nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// List implements story.Repository.
func (r *StoryMongoRepository) List(ctx context.Context, f story.Filter, after *paging.Cursor, limit int) ([]*story.Story, error) {
	filter := bson.D{{Key: "status", Value: f.Status.String()}}
	if f.TwinningID != "" {
		filter = append(filter, bson.E{Key: "twinning_id", Value: f.TwinningID})
	}
	if f.PracticeID != "" {
		filter = append(filter, bson.E{Key: "practice_id", Value: f.PracticeID})
	}
	docs, err := r.store.list(ctx, filter, after, false, limit, bson.D{{Key: "pending_events", Value: 0}})
	if err != nil {
		return nil, err
	}
	out := make([]*story.Story, len(docs))
	for i, d := range docs {
		out[i] = d.toDomain()
	}
	return out, nil
}
