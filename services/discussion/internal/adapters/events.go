package adapters

import (
	"context"
	"time"

	"google.golang.org/protobuf/proto"

	eventsv1 "github.com/gemella/gemella/proto/gemella/events/v1"
	"github.com/gemella/gemella/services/discussion/internal/domain/member"
	"github.com/gemella/gemella/services/discussion/internal/domain/post"
	"github.com/gemella/gemella/services/discussion/internal/domain/story"
	"github.com/gemella/gemella/services/discussion/internal/domain/thread"
	"github.com/gemella/gemella/services/discussion/internal/protoconv"
	"github.com/gemella/gemella/services/platform/events"
	"github.com/gemella/gemella/services/platform/outbox"
)

// EncodeMemberEvent builds the envelope of a member event. The payload is
// the public profile: events never carry e-mail addresses.
func EncodeMemberEvent(ctx context.Context, m *member.Member, c member.Change) (outbox.Record, error) {
	var payload proto.Message = &eventsv1.MemberJoined{Member: protoconv.Member(m.Public())}
	if c.Type == member.AffiliationDecided {
		payload = &eventsv1.MemberAffiliationDecided{OrganizationId: c.OrganizationID, Verified: c.Verified}
	}
	return record(ctx, string(c.Type), c.Actor, "member", m.ID, m.Version, payload, c.At)
}

// EncodeThreadEvent builds the envelope of a thread event.
func EncodeThreadEvent(ctx context.Context, t *thread.Thread, c thread.Change) (outbox.Record, error) {
	return record(ctx, string(c.Type), c.Actor, "thread", t.ID, t.Version, &eventsv1.ThreadOpened{Thread: protoconv.Thread(t)}, c.At)
}

// EncodePostEvent builds the envelope of a post event.
func EncodePostEvent(ctx context.Context, p *post.Post, c post.Change) (outbox.Record, error) {
	var payload proto.Message
	switch c.Type {
	case post.EventAdded:
		payload = &eventsv1.PostAdded{Post: protoconv.Post(p.Redacted()), Scope: protoconv.ScopeToProto(p.Scope), ScopeId: p.ScopeID, ThreadTitle: c.ThreadTitle}
	default:
		payload = &eventsv1.PostModerated{PostId: p.ID, ThreadId: p.ThreadID, Reason: c.Reason, By: c.By}
	}
	return record(ctx, string(c.Type), c.Actor, "post", p.ID, p.Version, payload, c.At)
}

// EncodeStoryEvent builds the envelope of a story event.
func EncodeStoryEvent(ctx context.Context, s *story.Story, c story.Change) (outbox.Record, error) {
	return record(ctx, string(c.Type), c.Actor, "story", s.ID, s.Version, &eventsv1.StoryPublished{Story: protoconv.Story(s)}, c.At)
}

// record builds every outbox record of the discussion, with the request's
// ctx, whose trace context the envelope carries.
func record(ctx context.Context, subject, actor, aggType, aggID string, version int64, payload proto.Message, at time.Time) (outbox.Record, error) {
	env, err := events.NewEnvelope(subject, actor, aggType, aggID, version, payload, at)
	if err != nil {
		return outbox.Record{}, err
	}
	return outbox.NewRecordContext(ctx, env)
}
