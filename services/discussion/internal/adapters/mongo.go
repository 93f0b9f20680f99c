package adapters

import (
	"context"
	"slices"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/gemella/gemella/services/discussion/internal/domain/login"
	"github.com/gemella/gemella/services/discussion/internal/domain/member"
	"github.com/gemella/gemella/services/discussion/internal/domain/moderation"
	"github.com/gemella/gemella/services/discussion/internal/domain/onetime"
	"github.com/gemella/gemella/services/discussion/internal/domain/post"
	"github.com/gemella/gemella/services/discussion/internal/domain/session"
	"github.com/gemella/gemella/services/discussion/internal/domain/story"
	"github.com/gemella/gemella/services/discussion/internal/domain/thread"
	"github.com/gemella/gemella/services/platform/mongox"
)

// Collection names of the discussion's database.
const (
	MembersCollection       = "members"
	LoginAttemptsCollection = "login_attempts"
	ThreadsCollection       = "threads"
	PostsCollection         = "posts"
	StoriesCollection       = "stories"
	SessionsCollection      = "sessions"
	ModerationLogCollection = "moderation_log"
	// OnetimeCollection holds the hashes of mailed single-use links.
	OnetimeCollection = "onetime_links"
)

// OutboxCollections hold aggregates with pending events: the relay reads them.
var OutboxCollections = []string{MembersCollection, ThreadsCollection, PostsCollection, StoriesCollection}

// The MongoDB repositories: the store gives each Create, Get and Update,
// and writes the events of a change in the same document with
// pending_since, which the relay's indexed sweep finds; the files
// <aggregate>_mongo_repository.go add the queries.
type (
	MemberMongoRepository struct {
		*mongox.AggregateStore[member.Member, memberDoc]
	}
	ThreadMongoRepository struct {
		*mongox.AggregateStore[thread.Thread, threadDoc]
	}
	PostMongoRepository struct {
		*mongox.AggregateStore[post.Post, postDoc]
	}
	StoryMongoRepository struct {
		*mongox.AggregateStore[story.Story, storyDoc]
	}
	LoginMongoRepository struct {
		*mongox.AggregateStore[login.Attempts, attemptsDoc]
	}
	OnetimeMongoRepository struct {
		*mongox.AggregateStore[onetime.Token, onetimeDoc]
	}
	SessionMongoRepository struct {
		*mongox.AggregateStore[session.Session, sessionDoc]
	}
	ModerationMongoRepository struct {
		*mongox.AggregateStore[moderation.Entry, moderationDoc]
	}
)

// MongoRepositories are the discussion's repositories on its database.
type MongoRepositories struct {
	Members  *MemberMongoRepository
	Threads  *ThreadMongoRepository
	Posts    *PostMongoRepository
	Stories  *StoryMongoRepository
	Logins   *LoginMongoRepository
	Sessions *SessionMongoRepository
	Onetime  *OnetimeMongoRepository
	// Moderation is the moderation log.
	Moderation *ModerationMongoRepository
}

// NewMongoRepositories builds every repository on db. They share opts:
// the relay's Notify and the process's document locks (mongox.DocLocks),
// which the relay and the expiry Sweeper must share too.
func NewMongoRepositories(db *mongo.Database, opts mongox.StoreOptions) MongoRepositories {
	return MongoRepositories{
		Members:  &MemberMongoRepository{mongox.NewAggregateStore(db.Collection(MembersCollection), memberAggregate, opts)},
		Threads:  &ThreadMongoRepository{mongox.NewAggregateStore(db.Collection(ThreadsCollection), threadAggregate, opts)},
		Posts:    &PostMongoRepository{mongox.NewAggregateStore(db.Collection(PostsCollection), postAggregate, opts)},
		Stories:  &StoryMongoRepository{mongox.NewAggregateStore(db.Collection(StoriesCollection), storyAggregate, opts)},
		Logins:   &LoginMongoRepository{mongox.NewAggregateStore(db.Collection(LoginAttemptsCollection), attemptsAggregate, opts)},
		Sessions: &SessionMongoRepository{mongox.NewAggregateStore(db.Collection(SessionsCollection), sessionAggregate, opts)},
		Onetime:  &OnetimeMongoRepository{mongox.NewAggregateStore(db.Collection(OnetimeCollection), onetimeAggregate, opts)},
		Moderation: &ModerationMongoRepository{
			mongox.NewAggregateStore(db.Collection(ModerationLogCollection), moderationAggregate, opts)},
	}
}

// Indexes are every index the discussion's queries use, by collection
// (the expiring collections' come from ensureExpiryIndexes).
func Indexes() map[string][]mongo.IndexModel {
	return map[string][]mongo.IndexModel{
		MembersCollection: {
			{Keys: bson.D{{Key: "email", Value: 1}}, Options: options.Index().SetUnique(true)},
			{Keys: bson.D{{Key: mongox.SortKeyField, Value: -1}}},
			// The pending affiliation requests.
			{Keys: bson.D{{Key: "affiliations.status", Value: 1}, {Key: mongox.SortKeyField, Value: 1}}},
		},
		ThreadsCollection: {
			{Keys: bson.D{{Key: mongox.SortKeyField, Value: -1}}},
			{Keys: bson.D{{Key: "scope", Value: 1}, {Key: "scope_id", Value: 1}, {Key: mongox.SortKeyField, Value: -1}}},
		},
		PostsCollection: {
			{Keys: bson.D{{Key: "thread_id", Value: 1}, {Key: mongox.SortKeyField, Value: 1}}},
			// The moderation queue: needing review, or hidden.
			{Keys: bson.D{{Key: "needs_review", Value: 1}, {Key: mongox.SortKeyField, Value: 1}}},
			{Keys: bson.D{{Key: "state", Value: 1}, {Key: mongox.SortKeyField, Value: 1}}},
		},
		StoriesCollection: {
			{Keys: bson.D{{Key: "status", Value: 1}, {Key: mongox.SortKeyField, Value: -1}}},
			{Keys: bson.D{{Key: "status", Value: 1}, {Key: "twinning_id", Value: 1}, {Key: mongox.SortKeyField, Value: -1}}},
			{Keys: bson.D{{Key: "status", Value: 1}, {Key: "practice_id", Value: 1}, {Key: mongox.SortKeyField, Value: -1}}},
		},
		ModerationLogCollection: {{Keys: bson.D{{Key: mongox.SortKeyField, Value: -1}}}},
		// A member's open sessions, which a revoked role ends.
		SessionsCollection: {{Keys: bson.D{{Key: "member_id", Value: 1}, {Key: mongox.SortKeyField, Value: -1}}}},
	}
}

// EnsureIndexes creates every index the discussion's queries use.
func EnsureIndexes(ctx context.Context, db *mongo.Database) error {
	for _, name := range append(slices.Clone(OutboxCollections), ModerationLogCollection, SessionsCollection) {
		if err := mongox.EnsureIndexes(ctx, db.Collection(name), Indexes()[name]...); err != nil {
			return err
		}
	}
	return ensureExpiryIndexes(ctx, db)
}
