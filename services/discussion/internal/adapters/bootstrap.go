package adapters

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/gemella/gemella/services/discussion/internal/domain/member"
	"github.com/gemella/gemella/services/platform/mongox"
)

// BootstrapCollection holds one document: the claim of whoever makes the
// installation's first administrator (app.BootstrapAdministrator). Its
// fixed _id makes the claim a conditional insert: of two operators (or two
// replicas of a deployment job) claiming at once, exactly one inserts it.
const BootstrapCollection = "bootstrap"

const firstAdministratorID = "first-administrator"

type bootstrapDoc struct {
	ID        string    `bson:"_id"`
	Email     string    `bson:"email"`
	ClaimedAt time.Time `bson:"claimed_at"`
	MemberID  string    `bson:"member_id,omitempty"`
	DoneAt    time.Time `bson:"done_at,omitempty"`
}

// BootstrapMongoStore is the claim on MongoDB, beside the members.
type BootstrapMongoStore struct {
	members, claims *mongo.Collection
}

// NewBootstrapMongoStore uses db's members and bootstrap collections.
func NewBootstrapMongoStore(db *mongo.Database) *BootstrapMongoStore {
	return &BootstrapMongoStore{members: db.Collection(MembersCollection), claims: db.Collection(BootstrapCollection)}
}

// AdministratorExists implements app.Bootstrap. It reads the members once,
// without an index: it runs once per installation.
func (s *BootstrapMongoStore) AdministratorExists(ctx context.Context) (bool, error) {
	err := s.members.FindOne(ctx, bson.D{{Key: "granted_roles", Value: member.RoleAdministrator.String()}},
		options.FindOne().SetProjection(bson.D{{Key: "_id", Value: 1}})).Err()
	if errors.Is(err, mongo.ErrNoDocuments) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("look for an administrator: %w", err)
	}
	return true, nil
}

// Claim implements app.Bootstrap.
func (s *BootstrapMongoStore) Claim(ctx context.Context, email string, at time.Time) (string, error) {
	_, err := s.claims.InsertOne(ctx, bootstrapDoc{ID: firstAdministratorID, Email: email, ClaimedAt: at})
	if err == nil {
		return email, nil
	}
	if !mongox.IsDuplicateKey(err) {
		return "", fmt.Errorf("claim the first administrator: %w", err)
	}
	var held bootstrapDoc
	if err := s.claims.FindOne(ctx, bson.D{{Key: "_id", Value: firstAdministratorID}}).Decode(&held); err != nil {
		return "", fmt.Errorf("read the claim of the first administrator: %w", err)
	}
	return held.Email, nil
}

// Done implements app.Bootstrap.
func (s *BootstrapMongoStore) Done(ctx context.Context, email, memberID string, at time.Time) error {
	_, err := s.claims.UpdateOne(ctx, bson.D{{Key: "_id", Value: firstAdministratorID}, {Key: "email", Value: email}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "member_id", Value: memberID}, {Key: "done_at", Value: at}}}})
	if err != nil {
		return fmt.Errorf("record the first administrator: %w", err)
	}
	return nil
}

// BootstrapMemoryStore is the claim in memory, over the members of an
// in-memory repository.
type BootstrapMemoryStore struct {
	members *MemberMemoryRepository
	mu      sync.Mutex
	claim   *bootstrapDoc
}

// NewBootstrapMemoryStore looks for administrators among members.
func NewBootstrapMemoryStore(members *MemberMemoryRepository) *BootstrapMemoryStore {
	return &BootstrapMemoryStore{members: members}
}

// AdministratorExists implements app.Bootstrap.
func (s *BootstrapMemoryStore) AdministratorExists(context.Context) (bool, error) {
	return s.members.administratorExists(), nil
}

// Claim implements app.Bootstrap.
func (s *BootstrapMemoryStore) Claim(_ context.Context, email string, at time.Time) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.claim == nil {
		s.claim = &bootstrapDoc{ID: firstAdministratorID, Email: email, ClaimedAt: at}
	}
	return s.claim.Email, nil
}

// Done implements app.Bootstrap.
func (s *BootstrapMemoryStore) Done(_ context.Context, email, memberID string, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.claim != nil && s.claim.Email == email {
		s.claim.MemberID, s.claim.DoneAt = memberID, at
	}
	return nil
}
