package adapters

import (
	"context"
	"slices"
	"time"

	"github.com/gemella/gemella/services/discussion/internal/domain/login"
	"github.com/gemella/gemella/services/discussion/internal/domain/member"
	"github.com/gemella/gemella/services/discussion/internal/domain/moderation"
	"github.com/gemella/gemella/services/discussion/internal/domain/onetime"
	"github.com/gemella/gemella/services/discussion/internal/domain/post"
	"github.com/gemella/gemella/services/discussion/internal/domain/session"
	"github.com/gemella/gemella/services/discussion/internal/domain/story"
	"github.com/gemella/gemella/services/discussion/internal/domain/thread"
	"github.com/gemella/gemella/services/platform/mongox"
	"github.com/gemella/gemella/services/platform/paging"
)

// The in-memory repositories keep the same documents as MongoDB does, on
// mongox.MemoryStore, so a stored aggregate is a deep copy and sorting
// follows the same keys. Tests of the app layer and the benchmarks use
// them; the contract test checks that they behave like the MongoDB ones.
// Events are counted (EventCount, Pending), not published.

// MemberMemoryRepository is an in-memory member.Repository.
type MemberMemoryRepository struct {
	*mongox.MemoryStore[member.Member, memberDoc]
}

// NewMemberMemoryRepository returns an empty repository.
func NewMemberMemoryRepository() *MemberMemoryRepository {
	return &MemberMemoryRepository{mongox.NewMemoryStore(memberAggregate, mongox.StoreOptions{})}
}

// GetByEmail implements member.Repository.
func (r *MemberMemoryRepository) GetByEmail(_ context.Context, email string) (*member.Member, error) {
	return byEmail(r.FindUnique(emailKey(email), email))
}

// List implements member.Repository.
func (r *MemberMemoryRepository) List(_ context.Context, after *paging.Cursor, limit int) ([]*member.Member, error) {
	out := r.Find(nil, mongox.Page{After: after, Limit: limit})
	for _, m := range out {
		m.PasswordHash = "" // as the MongoDB list, which does not read it
	}
	return out, nil
}

// ListPendingAffiliations implements member.Repository.
func (r *MemberMemoryRepository) ListPendingAffiliations(_ context.Context, after *paging.Cursor, limit int) ([]*member.Member, error) {
	out := r.Find(func(d *memberDoc) bool {
		return slices.ContainsFunc(d.Affiliations, func(a affiliationDoc) bool { return a.Status == member.AffiliationPending.String() })
	}, mongox.Page{After: after, Ascending: true, Limit: limit})
	for _, m := range out {
		m.PasswordHash = ""
	}
	return out, nil
}

// administratorExists reports a member holding the administrator role.
func (r *MemberMemoryRepository) administratorExists() bool {
	return len(r.Find(func(d *memberDoc) bool { return slices.Contains(d.Granted, member.RoleAdministrator.String()) }, mongox.Page{Limit: 1})) > 0
}

// LoginMemoryRepository is an in-memory login.Repository.
type LoginMemoryRepository struct {
	*mongox.MemoryStore[login.Attempts, attemptsDoc]
}

// NewLoginMemoryRepository returns an empty repository.
func NewLoginMemoryRepository() *LoginMemoryRepository {
	return &LoginMemoryRepository{mongox.NewMemoryStore(attemptsAggregate, mongox.StoreOptions{})}
}

// Update implements login.Repository.
func (r *LoginMemoryRepository) Update(ctx context.Context, key string, fn func(*login.Attempts) error) (*login.Attempts, error) {
	return r.Upsert(ctx, key, freshAttempts(key), fn)
}

// Reset implements login.Repository.
func (r *LoginMemoryRepository) Reset(ctx context.Context, keys ...string) error {
	return resetEach(ctx, r.Delete, keys)
}

// SessionMemoryRepository is an in-memory session.Repository.
type SessionMemoryRepository struct {
	*mongox.MemoryStore[session.Session, sessionDoc]
}

// NewSessionMemoryRepository returns an empty repository.
func NewSessionMemoryRepository() *SessionMemoryRepository {
	return &SessionMemoryRepository{mongox.NewMemoryStore(sessionAggregate, mongox.StoreOptions{})}
}

// ListOpen implements session.Repository.
func (r *SessionMemoryRepository) ListOpen(_ context.Context, memberID string, now time.Time) ([]*session.Session, error) {
	return r.Find(func(d *sessionDoc) bool {
		return d.MemberID == memberID && d.EndedAt.IsZero() && now.Before(d.ExpireAt)
	}, mongox.Page{Limit: session.MaxOpenListed}), nil
}

// ModerationMemoryRepository is an in-memory moderation.Repository.
type ModerationMemoryRepository struct {
	*mongox.MemoryStore[moderation.Entry, moderationDoc]
}

// NewModerationMemoryRepository returns an empty log.
func NewModerationMemoryRepository() *ModerationMemoryRepository {
	return &ModerationMemoryRepository{mongox.NewMemoryStore(moderationAggregate, mongox.StoreOptions{})}
}

// List implements moderation.Repository.
func (r *ModerationMemoryRepository) List(_ context.Context, after *paging.Cursor, limit int) ([]*moderation.Entry, error) {
	return r.Find(nil, mongox.Page{After: after, Limit: limit}), nil
}

// ThreadMemoryRepository is an in-memory thread.Repository.
type ThreadMemoryRepository struct {
	*mongox.MemoryStore[thread.Thread, threadDoc]
}

// NewThreadMemoryRepository returns an empty repository.
func NewThreadMemoryRepository() *ThreadMemoryRepository {
	return &ThreadMemoryRepository{mongox.NewMemoryStore(threadAggregate, mongox.StoreOptions{})}
}

// List implements thread.Repository.
func (r *ThreadMemoryRepository) List(_ context.Context, f thread.Filter, after *paging.Cursor, limit int) ([]*thread.Thread, error) {
	out := r.Find(func(d *threadDoc) bool {
		return (f.Scope.IsZero() || d.Scope == f.Scope.String()) && (f.ScopeID == "" || d.ScopeID == f.ScopeID)
	}, mongox.Page{After: after, Limit: limit})
	for _, t := range out {
		t.Participants, t.CountedPosts = nil, nil // as threadListOmits
	}
	return out, nil
}

// PostMemoryRepository is an in-memory post.Repository.
type PostMemoryRepository struct {
	*mongox.MemoryStore[post.Post, postDoc]
}

// NewPostMemoryRepository returns an empty repository.
func NewPostMemoryRepository() *PostMemoryRepository {
	return &PostMemoryRepository{mongox.NewMemoryStore(postAggregate, mongox.StoreOptions{})}
}

// List implements post.Repository.
func (r *PostMemoryRepository) List(_ context.Context, f post.Filter, after *paging.Cursor, limit int) ([]*post.Post, error) {
	visible := []string{post.Visible.String(), post.Deleted.String()}
	return r.Find(func(d *postDoc) bool {
		return d.ThreadID == f.ThreadID && (f.IncludeHidden || slices.Contains(visible, d.State))
	}, mongox.Page{After: after, Ascending: true, Limit: limit}), nil
}

// ListNeedingReview implements post.Repository.
func (r *PostMemoryRepository) ListNeedingReview(_ context.Context, after *paging.Cursor, limit int) ([]*post.Post, error) {
	return r.Find(func(d *postDoc) bool { return d.NeedsReview || d.State == post.Hidden.String() }, mongox.Page{After: after, Ascending: true, Limit: limit}), nil
}

// StoryMemoryRepository is an in-memory story.Repository.
type StoryMemoryRepository struct {
	*mongox.MemoryStore[story.Story, storyDoc]
}

// NewStoryMemoryRepository returns an empty repository.
func NewStoryMemoryRepository() *StoryMemoryRepository {
	return &StoryMemoryRepository{mongox.NewMemoryStore(storyAggregate, mongox.StoreOptions{})}
}

// List implements story.Repository.
func (r *StoryMemoryRepository) List(_ context.Context, f story.Filter, after *paging.Cursor, limit int) ([]*story.Story, error) {
	return r.Find(func(d *storyDoc) bool {
		return d.Status == f.Status.String() && (f.TwinningID == "" || d.TwinningID == f.TwinningID) && (f.PracticeID == "" || d.PracticeID == f.PracticeID)
	}, mongox.Page{After: after, Limit: limit}), nil
}

// OnetimeMemoryRepository is an in-memory onetime.Repository.
type OnetimeMemoryRepository struct {
	*mongox.MemoryStore[onetime.Token, onetimeDoc]
}

// NewOnetimeMemoryRepository returns an empty repository.
func NewOnetimeMemoryRepository() *OnetimeMemoryRepository {
	return &OnetimeMemoryRepository{mongox.NewMemoryStore(onetimeAggregate, mongox.StoreOptions{})}
}
