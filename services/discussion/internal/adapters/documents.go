// Package adapters implements the discussion's ports: repositories on
// mongox.AggregateStore, which writes the events of a change into the same
// document (the outbox), their in-memory twins on mongox.MemoryStore for
// tests and benchmarks, and the event encoder.
package adapters

import (
	"time"

	"github.com/gemella/gemella/services/discussion/internal/domain/login"
	"github.com/gemella/gemella/services/discussion/internal/domain/member"
	"github.com/gemella/gemella/services/discussion/internal/domain/moderation"
	"github.com/gemella/gemella/services/discussion/internal/domain/onetime"
	"github.com/gemella/gemella/services/discussion/internal/domain/post"
	"github.com/gemella/gemella/services/discussion/internal/domain/session"
	"github.com/gemella/gemella/services/discussion/internal/domain/story"
	"github.com/gemella/gemella/services/discussion/internal/domain/thread"
)

// utc turns a stored time back into UTC, keeping the zero time zero.
func utc(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}

func clone[T any](s []T) []T {
	if s == nil {
		return nil
	}
	return append(make([]T, 0, len(s)), s...)
}

type affiliationDoc struct {
	OrganizationID string    `bson:"organization_id"`
	Status         string    `bson:"status"`
	RequestedAt    time.Time `bson:"requested_at"`
	DecidedAt      time.Time `bson:"decided_at,omitempty"`
	DecidedBy      string    `bson:"decided_by,omitempty"`
	Reason         string    `bson:"reason,omitempty"`
}

type memberDoc struct {
	ID               string   `bson:"_id"`
	SortKey          string   `bson:"sort_key"`
	DisplayName      string   `bson:"display_name"`
	Email            string   `bson:"email"`
	PasswordHash     string   `bson:"password_hash"`
	OrganizationID   string   `bson:"organization_id,omitempty"`
	OrganizationName string   `bson:"organization_name,omitempty"`
	RoleTitle        string   `bson:"role_title,omitempty"`
	Granted          []string `bson:"granted_roles"`
	// Grants are the grants recorded before the decision log; read only.
	Grants           []roleGrantDoc   `bson:"role_grants,omitempty"`
	Decisions        []decisionDoc    `bson:"decisions,omitempty"`
	Affiliations     []affiliationDoc `bson:"affiliations"`
	JoinedAt         time.Time        `bson:"joined_at"`
	LastLoginAt      time.Time        `bson:"last_login_at,omitempty"`
	PrivacyConsentAt time.Time        `bson:"privacy_consent_at,omitempty"`
	// EmailUnverified is absent from members who were never asked.
	EmailUnverified   bool      `bson:"email_unverified,omitempty"`
	EmailVerifiedAt   time.Time `bson:"email_verified_at,omitempty"`
	PasswordChangedAt time.Time `bson:"password_changed_at,omitempty"`
	Blocked           bool      `bson:"blocked,omitempty"`
	BlockedAt         time.Time `bson:"blocked_at,omitempty"`
	Version           int64     `bson:"version"`
}

func toMemberDoc(m *member.Member) memberDoc {
	d := memberDoc{
		ID: m.ID, SortKey: m.SortKey(), DisplayName: m.DisplayName, Email: m.Email, PasswordHash: m.PasswordHash,
		OrganizationID: m.OrganizationID, OrganizationName: m.OrganizationName, RoleTitle: m.RoleTitle,
		Granted: []string{}, Affiliations: []affiliationDoc{}, JoinedAt: m.JoinedAt, LastLoginAt: m.LastLoginAt,
		PrivacyConsentAt: m.PrivacyConsentAt, Blocked: m.Blocked, BlockedAt: m.BlockedAt, Version: m.Version,
		EmailUnverified: m.EmailUnverified, EmailVerifiedAt: m.EmailVerifiedAt, PasswordChangedAt: m.PasswordChangedAt,
	}
	for _, r := range m.Granted {
		d.Granted = append(d.Granted, r.String())
	}
	for _, c := range m.Decisions {
		d.Decisions = append(d.Decisions, decisionDoc{string(c.Kind), c.Role.String(), c.OrganizationID, c.By.ID, c.By.Name, c.At, c.Reason})
	}
	for _, a := range m.Affiliations {
		d.Affiliations = append(d.Affiliations, affiliationDoc{a.OrganizationID, a.Status.String(), a.RequestedAt, a.DecidedAt, a.DecidedBy, a.Reason})
	}
	return d
}

func (d memberDoc) toDomain() *member.Member {
	m := &member.Member{
		ID: d.ID,
		Profile: member.Profile{
			DisplayName: d.DisplayName, OrganizationID: d.OrganizationID, OrganizationName: d.OrganizationName, RoleTitle: d.RoleTitle,
		},
		Email: d.Email, PasswordHash: d.PasswordHash, JoinedAt: utc(d.JoinedAt), LastLoginAt: utc(d.LastLoginAt),
		PrivacyConsentAt: utc(d.PrivacyConsentAt), Blocked: d.Blocked, BlockedAt: utc(d.BlockedAt), Version: d.Version,
		EmailUnverified: d.EmailUnverified, EmailVerifiedAt: utc(d.EmailVerifiedAt), PasswordChangedAt: utc(d.PasswordChangedAt),
	}
	for _, r := range d.Granted {
		if role, ok := member.ParseRole(r); ok {
			m.Granted = append(m.Granted, role)
		}
	}
	for _, g := range d.Grants { // a document written before the decision log
		if role, ok := member.ParseRole(g.Role); ok {
			m.Decisions = append(m.Decisions, member.Decision{Kind: member.KindRoleGranted, Role: role, By: member.Actor{ID: g.By}, At: utc(g.At)})
		}
	}
	for _, c := range d.Decisions {
		role, _ := member.ParseRole(c.Role)
		m.Decisions = append(m.Decisions, member.Decision{
			Kind: member.DecisionKind(c.Kind), Role: role, OrganizationID: c.OrganizationID,
			By: member.Actor{ID: c.By, Name: c.ByName}, At: utc(c.At), Reason: c.Reason,
		})
	}
	for _, a := range d.Affiliations {
		st, _ := member.ParseAffiliationStatus(a.Status)
		m.Affiliations = append(m.Affiliations, member.Affiliation{
			OrganizationID: a.OrganizationID, Status: st, RequestedAt: utc(a.RequestedAt), DecidedAt: utc(a.DecidedAt), DecidedBy: a.DecidedBy, Reason: a.Reason,
		})
	}
	return m
}

// decisionDoc is one entry of a member's decision log.
type decisionDoc struct {
	Kind           string    `bson:"kind"`
	Role           string    `bson:"role,omitempty"`
	OrganizationID string    `bson:"organization_id,omitempty"`
	By             string    `bson:"by"`
	ByName         string    `bson:"by_name,omitempty"`
	At             time.Time `bson:"at"`
	Reason         string    `bson:"reason,omitempty"`
}

// roleGrantDoc records one role given: by whom and when (before the
// decision log, which now records grants).
type roleGrantDoc struct {
	Role string    `bson:"role"`
	By   string    `bson:"by"`
	At   time.Time `bson:"at"`
}

type attemptsDoc struct {
	Key          string    `bson:"_id"`
	Failures     int       `bson:"failures"`
	LastFailure  time.Time `bson:"last_failure"`
	BlockedUntil time.Time `bson:"blocked_until"`
	ExpireAt     time.Time `bson:"expire_at"`
	Version      int64     `bson:"version"`
}

func toAttemptsDoc(a *login.Attempts) attemptsDoc {
	return attemptsDoc{a.Key, a.Failures, a.LastFailure, a.BlockedUntil, a.ExpireAt, a.Version}
}

func (d attemptsDoc) toDomain() *login.Attempts {
	return &login.Attempts{Key: d.Key, Failures: d.Failures, LastFailure: utc(d.LastFailure), BlockedUntil: utc(d.BlockedUntil), ExpireAt: utc(d.ExpireAt), Version: d.Version}
}

type sessionDoc struct {
	ID          string    `bson:"_id"`
	SortKey     string    `bson:"sort_key"`
	MemberID    string    `bson:"member_id"`
	StartedAt   time.Time `bson:"started_at"`
	RefreshedAt time.Time `bson:"refreshed_at,omitempty"`
	EndedAt     time.Time `bson:"ended_at,omitempty"`
	ExpireAt    time.Time `bson:"expire_at"`
	Version     int64     `bson:"version"`
}

func toSessionDoc(s *session.Session) sessionDoc {
	return sessionDoc{s.ID, s.SortKey(), s.MemberID, s.StartedAt, s.RefreshedAt, s.EndedAt, s.ExpireAt, s.Version}
}

func (d sessionDoc) toDomain() *session.Session {
	return &session.Session{
		ID: d.ID, MemberID: d.MemberID, StartedAt: utc(d.StartedAt), RefreshedAt: utc(d.RefreshedAt), EndedAt: utc(d.EndedAt),
		ExpireAt: utc(d.ExpireAt), Version: d.Version,
	}
}

type threadDoc struct {
	ID               string    `bson:"_id"`
	SortKey          string    `bson:"sort_key"`
	Scope            string    `bson:"scope"`
	ScopeID          string    `bson:"scope_id"`
	Title            string    `bson:"title"`
	Body             string    `bson:"body"`
	AuthorID         string    `bson:"author_id"`
	AuthorName       string    `bson:"author_name"`
	PostCount        int       `bson:"post_count"`
	ParticipantCount int       `bson:"participant_count"`
	Participants     []string  `bson:"participants"`
	CountedPosts     []string  `bson:"counted_posts"`
	CreatedAt        time.Time `bson:"created_at"`
	LastActivityAt   time.Time `bson:"last_activity_at"`
	Version          int64     `bson:"version"`
}

func toThreadDoc(t *thread.Thread) threadDoc {
	return threadDoc{
		ID: t.ID, SortKey: t.SortKey(), Scope: t.Scope.String(), ScopeID: t.ScopeID, Title: t.Title, Body: t.Body,
		AuthorID: t.AuthorID, AuthorName: t.AuthorName, PostCount: t.PostCount, ParticipantCount: t.ParticipantCount,
		Participants: nonNil(t.Participants), CountedPosts: nonNil(t.CountedPosts),
		CreatedAt: t.CreatedAt, LastActivityAt: t.LastActivityAt, Version: t.Version,
	}
}

func (d threadDoc) toDomain() *thread.Thread {
	sc, _ := thread.ParseScope(d.Scope)
	return &thread.Thread{
		ID: d.ID, Details: thread.Details{Scope: sc, ScopeID: d.ScopeID, Title: d.Title, Body: d.Body},
		AuthorID: d.AuthorID, AuthorName: d.AuthorName, PostCount: d.PostCount, ParticipantCount: d.ParticipantCount,
		Participants: emptyToNil(d.Participants), CountedPosts: emptyToNil(d.CountedPosts),
		CreatedAt: utc(d.CreatedAt), LastActivityAt: utc(d.LastActivityAt), Version: d.Version,
	}
}

type reportDoc struct {
	MemberID   string    `bson:"member_id"`
	MemberName string    `bson:"member_name,omitempty"`
	Reason     string    `bson:"reason,omitempty"`
	At         time.Time `bson:"at"`
}

type postDoc struct {
	ID               string      `bson:"_id"`
	SortKey          string      `bson:"sort_key"`
	ThreadID         string      `bson:"thread_id"`
	ParentID         string      `bson:"parent_id,omitempty"`
	Scope            string      `bson:"scope"`
	ScopeID          string      `bson:"scope_id"`
	AuthorID         string      `bson:"author_id"`
	AuthorName       string      `bson:"author_name"`
	Body             string      `bson:"body"`
	State            string      `bson:"state"`
	Reports          []reportDoc `bson:"reports"`
	ReviewedReports  int         `bson:"reviewed_reports"`
	NeedsReview      bool        `bson:"needs_review"`
	ModerationReason string      `bson:"moderation_reason,omitempty"`
	ModeratedBy      string      `bson:"moderated_by,omitempty"`
	ModeratedAt      time.Time   `bson:"moderated_at,omitempty"`
	CreatedAt        time.Time   `bson:"created_at"`
	EditedAt         time.Time   `bson:"edited_at,omitempty"`
	Version          int64       `bson:"version"`
}

func toPostDoc(p *post.Post) postDoc {
	d := postDoc{
		ID: p.ID, SortKey: p.SortKey(), ThreadID: p.ThreadID, ParentID: p.ParentID, Scope: p.Scope.String(), ScopeID: p.ScopeID,
		AuthorID: p.AuthorID, AuthorName: p.AuthorName, Body: p.Body, State: p.State.String(), Reports: []reportDoc{},
		ReviewedReports: p.ReviewedReports, NeedsReview: p.NeedsReview(), ModerationReason: p.ModerationReason, ModeratedBy: p.ModeratedBy,
		ModeratedAt: p.ModeratedAt, CreatedAt: p.CreatedAt, EditedAt: p.EditedAt, Version: p.Version,
	}
	for _, r := range p.Reports {
		d.Reports = append(d.Reports, reportDoc(r))
	}
	return d
}

func (d postDoc) toDomain() *post.Post {
	sc, _ := thread.ParseScope(d.Scope)
	st, _ := post.ParseState(d.State)
	p := &post.Post{
		ID: d.ID, ThreadID: d.ThreadID, ParentID: d.ParentID, Scope: sc, ScopeID: d.ScopeID, AuthorID: d.AuthorID, AuthorName: d.AuthorName,
		Body: d.Body, State: st, ReviewedReports: d.ReviewedReports, ModerationReason: d.ModerationReason, ModeratedBy: d.ModeratedBy,
		ModeratedAt: utc(d.ModeratedAt), CreatedAt: utc(d.CreatedAt), EditedAt: utc(d.EditedAt), Version: d.Version,
	}
	for _, r := range d.Reports {
		p.Reports = append(p.Reports, post.Report{MemberID: r.MemberID, MemberName: r.MemberName, Reason: r.Reason, At: utc(r.At)})
	}
	return p
}

type storyDoc struct {
	ID             string    `bson:"_id"`
	SortKey        string    `bson:"sort_key"`
	Title          string    `bson:"title"`
	Body           string    `bson:"body"`
	TwinningID     string    `bson:"twinning_id"`
	PracticeID     string    `bson:"practice_id"`
	AuthorID       string    `bson:"author_id"`
	AuthorName     string    `bson:"author_name"`
	Status         string    `bson:"status"`
	DecisionReason string    `bson:"decision_reason,omitempty"`
	DecidedBy      string    `bson:"decided_by,omitempty"`
	CreatedAt      time.Time `bson:"created_at"`
	DecidedAt      time.Time `bson:"decided_at,omitempty"`
	PublishedAt    time.Time `bson:"published_at,omitempty"`
	Version        int64     `bson:"version"`
}

func toStoryDoc(s *story.Story) storyDoc {
	return storyDoc{
		ID: s.ID, SortKey: s.SortKey(), Title: s.Title, Body: s.Body, TwinningID: s.TwinningID, PracticeID: s.PracticeID,
		AuthorID: s.AuthorID, AuthorName: s.AuthorName, Status: s.Status.String(), DecisionReason: s.DecisionReason, DecidedBy: s.DecidedBy,
		CreatedAt: s.CreatedAt, DecidedAt: s.DecidedAt, PublishedAt: s.PublishedAt, Version: s.Version,
	}
}

func (d storyDoc) toDomain() *story.Story {
	st, _ := story.ParseStatus(d.Status)
	return &story.Story{
		ID: d.ID, Details: story.Details{Title: d.Title, Body: d.Body, TwinningID: d.TwinningID, PracticeID: d.PracticeID},
		AuthorID: d.AuthorID, AuthorName: d.AuthorName, Status: st, DecisionReason: d.DecisionReason, DecidedBy: d.DecidedBy,
		CreatedAt: utc(d.CreatedAt), DecidedAt: utc(d.DecidedAt), PublishedAt: utc(d.PublishedAt), Version: d.Version,
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return clone(s)
}

func emptyToNil(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return clone(s)
}

type moderationDoc struct {
	ID       string    `bson:"_id"`
	SortKey  string    `bson:"sort_key"`
	PostID   string    `bson:"post_id"`
	ThreadID string    `bson:"thread_id"`
	Action   string    `bson:"action"`
	ByID     string    `bson:"by,omitempty"`
	ByName   string    `bson:"by_name,omitempty"`
	Reason   string    `bson:"reason,omitempty"`
	At       time.Time `bson:"at"`
	Version  int64     `bson:"version"`
}

func toModerationDoc(e *moderation.Entry) moderationDoc {
	return moderationDoc{e.ID, e.SortKey(), e.PostID, e.ThreadID, string(e.Action), e.ByID, e.ByName, e.Reason, e.At, e.Version}
}

func (d moderationDoc) toDomain() *moderation.Entry {
	a, _ := moderation.ParseAction(d.Action)
	return &moderation.Entry{
		ID: d.ID, PostID: d.PostID, ThreadID: d.ThreadID, Action: a, ByID: d.ByID, ByName: d.ByName, Reason: d.Reason, At: utc(d.At), Version: d.Version,
	}
}

type onetimeDoc struct {
	ID         string    `bson:"_id"`
	Purpose    string    `bson:"purpose"`
	MemberID   string    `bson:"member_id"`
	Email      string    `bson:"email"`
	CreatedAt  time.Time `bson:"created_at"`
	ValidUntil time.Time `bson:"valid_until"`
	UsedAt     time.Time `bson:"used_at,omitempty"`
	ExpireAt   time.Time `bson:"expire_at"`
	Version    int64     `bson:"version"`
}

func toOnetimeDoc(t *onetime.Token) onetimeDoc {
	return onetimeDoc{t.ID, t.Purpose.String(), t.MemberID, t.Email, t.CreatedAt, t.ValidUntil, t.UsedAt, t.ExpireAt, t.Version}
}

func (d onetimeDoc) toDomain() *onetime.Token {
	p, _ := onetime.ParsePurpose(d.Purpose)
	return &onetime.Token{ID: d.ID, Purpose: p, MemberID: d.MemberID, Email: d.Email, CreatedAt: utc(d.CreatedAt),
		ValidUntil: utc(d.ValidUntil), UsedAt: utc(d.UsedAt), ExpireAt: utc(d.ExpireAt), Version: d.Version}
}
