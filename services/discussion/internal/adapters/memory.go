package adapters

import (
	"context"
	"slices"
	"sort"
	"sync"

	"github.com/gemella/gemella/services/discussion/internal/domain/login"
	"github.com/gemella/gemella/services/discussion/internal/domain/member"
	"github.com/gemella/gemella/services/discussion/internal/domain/post"
	"github.com/gemella/gemella/services/discussion/internal/domain/session"
	"github.com/gemella/gemella/services/discussion/internal/domain/story"
	"github.com/gemella/gemella/services/discussion/internal/domain/thread"
	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/paging"
)

// The in-memory repositories keep the same documents as MongoDB does, so a
// stored aggregate is a deep copy and sorting follows the same keys. Tests of
// the app layer and the benchmarks use them; the contract test checks that
// they behave like the MongoDB ones. Events are counted, not published.

// memStore is a map of documents under one lock.
type memStore[D any] struct {
	mu     sync.RWMutex
	docs   map[string]D
	events map[string]int
}

func newMemStore[D any]() *memStore[D] {
	return &memStore[D]{docs: map[string]D{}, events: map[string]int{}}
}

// page sorts the matching documents by key and returns up to limit after
// the cursor.
func page[D any](s *memStore[D], key func(D) string, match func(D) bool, after *paging.Cursor, ascending bool, limit int) []D {
	var docs []D
	for _, d := range s.docs {
		if !match(d) {
			continue
		}
		if after != nil && ((ascending && key(d) <= after.Key) || (!ascending && key(d) >= after.Key)) {
			continue
		}
		docs = append(docs, d)
	}
	sort.Slice(docs, func(i, j int) bool {
		if ascending {
			return key(docs[i]) < key(docs[j])
		}
		return key(docs[i]) > key(docs[j])
	})
	if len(docs) > limit {
		docs = docs[:limit]
	}
	return docs
}

// EventCounter reports the events the writes of an in-memory repository
// recorded, by subject.
type EventCounter interface {
	EventCount(subject string) int
}

func (s *memStore[D]) EventCount(subject string) int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.events[subject]
}

// MemberMemoryRepository is an in-memory member.Repository.
type MemberMemoryRepository struct{ *memStore[memberDoc] }

// NewMemberMemoryRepository returns an empty repository.
func NewMemberMemoryRepository() *MemberMemoryRepository {
	return &MemberMemoryRepository{newMemStore[memberDoc]()}
}

func (r *MemberMemoryRepository) countChanges(m *member.Member) {
	for _, c := range m.Changes() {
		r.events[string(c.Type)]++
	}
}

// Create implements member.Repository.
func (r *MemberMemoryRepository) Create(_ context.Context, m *member.Member) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.docs[m.ID]; ok {
		return apperr.AlreadyExists("member %s already exists", m.ID)
	}
	for _, d := range r.docs {
		if d.Email == m.Email {
			return member.ErrEmailTaken()
		}
	}
	m.Version = 1
	r.countChanges(m)
	r.docs[m.ID] = toMemberDoc(m)
	return nil
}

// Get implements member.Repository.
func (r *MemberMemoryRepository) Get(_ context.Context, id string) (*member.Member, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	d, ok := r.docs[id]
	if !ok {
		return nil, member.ErrNotFound(id)
	}
	return d.toDomain(), nil
}

// GetByEmail implements member.Repository.
func (r *MemberMemoryRepository) GetByEmail(_ context.Context, email string) (*member.Member, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, d := range r.docs {
		if d.Email == email {
			return d.toDomain(), nil
		}
	}
	return nil, apperr.NotFound("no member has this e-mail address").WithReason(apperr.ReasonMemberNotFound)
}

// Update implements member.Repository.
func (r *MemberMemoryRepository) Update(_ context.Context, id string, fn func(*member.Member) error) (*member.Member, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	d, ok := r.docs[id]
	if !ok {
		return nil, member.ErrNotFound(id)
	}
	m := d.toDomain()
	if err := fn(m); err != nil {
		return nil, err
	}
	for otherID, o := range r.docs {
		if otherID != id && o.Email == m.Email {
			return nil, member.ErrEmailTaken()
		}
	}
	m.Version = d.Version + 1
	r.countChanges(m)
	r.docs[id] = toMemberDoc(m)
	return m, nil
}

// List implements member.Repository.
func (r *MemberMemoryRepository) List(_ context.Context, after *paging.Cursor, limit int) ([]*member.Member, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var out []*member.Member
	for _, d := range page(r.memStore, func(d memberDoc) string { return d.SortKey }, func(memberDoc) bool { return true }, after, false, limit) {
		m := d.toDomain()
		m.PasswordHash = ""
		out = append(out, m)
	}
	return out, nil
}

// LoginMemoryRepository is an in-memory login.Repository.
type LoginMemoryRepository struct{ *memStore[attemptsDoc] }

// NewLoginMemoryRepository returns an empty repository.
func NewLoginMemoryRepository() *LoginMemoryRepository {
	return &LoginMemoryRepository{newMemStore[attemptsDoc]()}
}

// Update implements login.Repository.
func (r *LoginMemoryRepository) Update(_ context.Context, key string, fn func(*login.Attempts) error) (*login.Attempts, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	a := &login.Attempts{Key: key}
	d, ok := r.docs[key]
	if ok {
		a = d.toDomain()
	}
	if err := fn(a); err != nil {
		return nil, err
	}
	a.Version = d.Version + 1
	r.docs[key] = toAttemptsDoc(a)
	return a, nil
}

// Reset implements login.Repository.
func (r *LoginMemoryRepository) Reset(_ context.Context, keys ...string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, k := range keys {
		delete(r.docs, k)
	}
	return nil
}

// SessionMemoryRepository is an in-memory session.Repository.
type SessionMemoryRepository struct{ *memStore[sessionDoc] }

// NewSessionMemoryRepository returns an empty repository.
func NewSessionMemoryRepository() *SessionMemoryRepository {
	return &SessionMemoryRepository{newMemStore[sessionDoc]()}
}

// Create implements session.Repository.
func (r *SessionMemoryRepository) Create(_ context.Context, s *session.Session) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.docs[s.ID]; ok {
		return apperr.AlreadyExists("session %s already exists", s.ID)
	}
	s.Version = 1
	r.docs[s.ID] = toSessionDoc(s)
	return nil
}

// Get implements session.Repository.
func (r *SessionMemoryRepository) Get(_ context.Context, id string) (*session.Session, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	d, ok := r.docs[id]
	if !ok {
		return nil, session.ErrNotFound(id)
	}
	return d.toDomain(), nil
}

// Update implements session.Repository.
func (r *SessionMemoryRepository) Update(_ context.Context, id string, fn func(*session.Session) error) (*session.Session, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	d, ok := r.docs[id]
	if !ok {
		return nil, session.ErrNotFound(id)
	}
	s := d.toDomain()
	if err := fn(s); err != nil {
		return nil, err
	}
	s.Version = d.Version + 1
	r.docs[id] = toSessionDoc(s)
	return s, nil
}

// ThreadMemoryRepository is an in-memory thread.Repository.
type ThreadMemoryRepository struct{ *memStore[threadDoc] }

// NewThreadMemoryRepository returns an empty repository.
func NewThreadMemoryRepository() *ThreadMemoryRepository {
	return &ThreadMemoryRepository{newMemStore[threadDoc]()}
}

func (r *ThreadMemoryRepository) countChanges(t *thread.Thread) {
	for _, c := range t.Changes() {
		r.events[string(c.Type)]++
	}
}

// Create implements thread.Repository.
func (r *ThreadMemoryRepository) Create(_ context.Context, t *thread.Thread) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.docs[t.ID]; ok {
		return apperr.AlreadyExists("thread %s already exists", t.ID)
	}
	t.Version = 1
	r.countChanges(t)
	r.docs[t.ID] = toThreadDoc(t)
	return nil
}

// Get implements thread.Repository.
func (r *ThreadMemoryRepository) Get(_ context.Context, id string) (*thread.Thread, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	d, ok := r.docs[id]
	if !ok {
		return nil, thread.ErrNotFound(id)
	}
	return d.toDomain(), nil
}

// Update implements thread.Repository.
func (r *ThreadMemoryRepository) Update(_ context.Context, id string, fn func(*thread.Thread) error) (*thread.Thread, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	d, ok := r.docs[id]
	if !ok {
		return nil, thread.ErrNotFound(id)
	}
	t := d.toDomain()
	if err := fn(t); err != nil {
		return nil, err
	}
	t.Version = d.Version + 1
	r.countChanges(t)
	r.docs[id] = toThreadDoc(t)
	return t, nil
}

// List implements thread.Repository.
func (r *ThreadMemoryRepository) List(_ context.Context, f thread.Filter, after *paging.Cursor, limit int) ([]*thread.Thread, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	match := func(d threadDoc) bool {
		return (f.Scope.IsZero() || d.Scope == f.Scope.String()) && (f.ScopeID == "" || d.ScopeID == f.ScopeID)
	}
	var out []*thread.Thread
	for _, d := range page(r.memStore, func(d threadDoc) string { return d.SortKey }, match, after, false, limit) {
		t := d.toDomain()
		t.Participants, t.CountedPosts = nil, nil
		out = append(out, t)
	}
	return out, nil
}

// PostMemoryRepository is an in-memory post.Repository.
type PostMemoryRepository struct{ *memStore[postDoc] }

// NewPostMemoryRepository returns an empty repository.
func NewPostMemoryRepository() *PostMemoryRepository {
	return &PostMemoryRepository{newMemStore[postDoc]()}
}

func (r *PostMemoryRepository) countChanges(p *post.Post) {
	for _, c := range p.Changes() {
		r.events[string(c.Type)]++
	}
}

// Create implements post.Repository.
func (r *PostMemoryRepository) Create(_ context.Context, p *post.Post) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.docs[p.ID]; ok {
		return apperr.AlreadyExists("post %s already exists", p.ID)
	}
	p.Version = 1
	r.countChanges(p)
	r.docs[p.ID] = toPostDoc(p)
	return nil
}

// Get implements post.Repository.
func (r *PostMemoryRepository) Get(_ context.Context, id string) (*post.Post, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	d, ok := r.docs[id]
	if !ok {
		return nil, post.ErrNotFound(id)
	}
	return d.toDomain(), nil
}

// Update implements post.Repository.
func (r *PostMemoryRepository) Update(_ context.Context, id string, fn func(*post.Post) error) (*post.Post, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	d, ok := r.docs[id]
	if !ok {
		return nil, post.ErrNotFound(id)
	}
	p := d.toDomain()
	if err := fn(p); err != nil {
		return nil, err
	}
	p.Version = d.Version + 1
	r.countChanges(p)
	r.docs[id] = toPostDoc(p)
	return p, nil
}

// List implements post.Repository.
func (r *PostMemoryRepository) List(_ context.Context, f post.Filter, after *paging.Cursor, limit int) ([]*post.Post, error) {
	visible := []string{post.Visible.String(), post.Deleted.String()}
	return r.list(func(d postDoc) bool {
		return d.ThreadID == f.ThreadID && (f.IncludeHidden || slices.Contains(visible, d.State))
	}, after, limit), nil
}

// ListNeedingReview implements post.Repository.
func (r *PostMemoryRepository) ListNeedingReview(_ context.Context, after *paging.Cursor, limit int) ([]*post.Post, error) {
	return r.list(func(d postDoc) bool { return d.NeedsReview }, after, limit), nil
}

func (r *PostMemoryRepository) list(match func(postDoc) bool, after *paging.Cursor, limit int) []*post.Post {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var out []*post.Post
	for _, d := range page(r.memStore, func(d postDoc) string { return d.SortKey }, match, after, true, limit) {
		out = append(out, d.toDomain())
	}
	return out
}

// StoryMemoryRepository is an in-memory story.Repository.
type StoryMemoryRepository struct{ *memStore[storyDoc] }

// NewStoryMemoryRepository returns an empty repository.
func NewStoryMemoryRepository() *StoryMemoryRepository {
	return &StoryMemoryRepository{newMemStore[storyDoc]()}
}

func (r *StoryMemoryRepository) countChanges(s *story.Story) {
	for _, c := range s.Changes() {
		r.events[string(c.Type)]++
	}
}

// Create implements story.Repository.
func (r *StoryMemoryRepository) Create(_ context.Context, s *story.Story) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.docs[s.ID]; ok {
		return apperr.AlreadyExists("story %s already exists", s.ID)
	}
	s.Version = 1
	r.countChanges(s)
	r.docs[s.ID] = toStoryDoc(s)
	return nil
}

// Get implements story.Repository.
func (r *StoryMemoryRepository) Get(_ context.Context, id string) (*story.Story, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	d, ok := r.docs[id]
	if !ok {
		return nil, story.ErrNotFound(id)
	}
	return d.toDomain(), nil
}

// Update implements story.Repository.
func (r *StoryMemoryRepository) Update(_ context.Context, id string, fn func(*story.Story) error) (*story.Story, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	d, ok := r.docs[id]
	if !ok {
		return nil, story.ErrNotFound(id)
	}
	s := d.toDomain()
	if err := fn(s); err != nil {
		return nil, err
	}
	s.Version = d.Version + 1
	r.countChanges(s)
	r.docs[id] = toStoryDoc(s)
	return s, nil
}

// List implements story.Repository.
func (r *StoryMemoryRepository) List(_ context.Context, f story.Filter, after *paging.Cursor, limit int) ([]*story.Story, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	match := func(d storyDoc) bool {
		return d.Status == f.Status.String() && (f.TwinningID == "" || d.TwinningID == f.TwinningID) && (f.PracticeID == "" || d.PracticeID == f.PracticeID)
	}
	var out []*story.Story
	for _, d := range page(r.memStore, func(d storyDoc) string { return d.SortKey }, match, after, false, limit) {
		out = append(out, d.toDomain())
	}
	return out, nil
}
