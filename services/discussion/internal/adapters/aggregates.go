package adapters

import (
	"context"
	"fmt"

	"github.com/gemella/gemella/services/discussion/internal/domain/login"
	"github.com/gemella/gemella/services/discussion/internal/domain/member"
	"github.com/gemella/gemella/services/discussion/internal/domain/moderation"
	"github.com/gemella/gemella/services/discussion/internal/domain/onetime"
	"github.com/gemella/gemella/services/discussion/internal/domain/post"
	"github.com/gemella/gemella/services/discussion/internal/domain/session"
	"github.com/gemella/gemella/services/discussion/internal/domain/story"
	"github.com/gemella/gemella/services/discussion/internal/domain/thread"
	"github.com/gemella/gemella/services/platform/mongox"
	"github.com/gemella/gemella/services/platform/outbox"
)

// How each aggregate of the discussion is kept: one description serves the
// MongoDB store and its in-memory twin alike. Members, threads, posts and
// stories leave events in their documents' outbox; log-in attempts and
// sessions, and the moderation log, publish nothing and carry no outbox
// fields.
var (
	memberAggregate = withUniqueEmail(describe("member", toMemberDoc, (*memberDoc).toDomain, member.ErrNotFound,
		func(m *member.Member) *int64 { return &m.Version }, (*member.Member).Changes, EncodeMemberEvent))
	threadAggregate = describe("thread", toThreadDoc, (*threadDoc).toDomain, thread.ErrNotFound,
		func(t *thread.Thread) *int64 { return &t.Version }, (*thread.Thread).Changes, EncodeThreadEvent)
	postAggregate = describe("post", toPostDoc, (*postDoc).toDomain, post.ErrNotFound,
		func(p *post.Post) *int64 { return &p.Version }, (*post.Post).Changes, EncodePostEvent)
	storyAggregate = describe("story", toStoryDoc, (*storyDoc).toDomain, story.ErrNotFound,
		func(s *story.Story) *int64 { return &s.Version }, (*story.Story).Changes, EncodeStoryEvent)
	attemptsAggregate = mongox.Aggregate[login.Attempts, attemptsDoc]{
		Name: "log-in attempts", ToDoc: toAttemptsDoc, ToDomain: (*attemptsDoc).toDomain,
		Version: func(a *login.Attempts) *int64 { return &a.Version },
		// Attempts are upserted: a key naming nothing starts from zero, so
		// no caller ever gets this error.
		NotFound: func(key string) error { return fmt.Errorf("no log-in attempts of %s", key) },
	}
	sessionAggregate = mongox.Aggregate[session.Session, sessionDoc]{
		Name: "session", ToDoc: toSessionDoc, ToDomain: (*sessionDoc).toDomain, NotFound: session.ErrNotFound,
		Version: func(s *session.Session) *int64 { return &s.Version },
	}
	onetimeAggregate = mongox.Aggregate[onetime.Token, onetimeDoc]{
		Name: "one-time link", ToDoc: toOnetimeDoc, ToDomain: (*onetimeDoc).toDomain,
		NotFound: func(string) error { return onetime.ErrInvalid() },
		Version:  func(t *onetime.Token) *int64 { return &t.Version },
	}
	// Moderation log entries are written once and never changed.
	moderationAggregate = mongox.Aggregate[moderation.Entry, moderationDoc]{
		Name: "moderation log entry", ToDoc: toModerationDoc, ToDomain: (*moderationDoc).toDomain, NotFound: moderation.ErrNotFound,
		Version: func(e *moderation.Entry) *int64 { return &e.Version },
	}
)

// describe says what every aggregate of the discussion that publishes has:
// a name, its document, its NotFound error, its version field, and its
// changes with the encoder of their events.
func describe[A, D, C any](name string, toDoc func(*A) D, toDomain func(*D) *A, notFound func(string) error,
	version func(*A) *int64, changes func(*A) []C, encode func(context.Context, *A, C) (outbox.Record, error)) mongox.Aggregate[A, D] {
	return mongox.Aggregate[A, D]{
		Name: name, ToDoc: toDoc, ToDomain: toDomain, NotFound: notFound,
		Version: version, Events: mongox.EncodeChanges(changes, encode),
	}
}

// withUniqueEmail adds the members' other unique index, the e-mail.
func withUniqueEmail(g mongox.Aggregate[member.Member, memberDoc]) mongox.Aggregate[member.Member, memberDoc] {
	g.Conflict = func(*member.Member) error { return member.ErrEmailTaken() }
	g.UniqueKeys = func(d *memberDoc) []string { return []string{emailKey(d.Email)} }
	return g
}

func emailKey(email string) string { return "email:" + email }
