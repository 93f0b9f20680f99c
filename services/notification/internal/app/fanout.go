package app

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	catalogv1 "github.com/gemella/gemella/proto/gemella/catalog/v1"
	discussionv1 "github.com/gemella/gemella/proto/gemella/discussion/v1"
	eventsv1 "github.com/gemella/gemella/proto/gemella/events/v1"
	twinningv1 "github.com/gemella/gemella/proto/gemella/twinning/v1"
	"github.com/gemella/gemella/services/notification/internal/store"
	"github.com/gemella/gemella/services/platform/events"
)

// Reasons of notifications, most important first: an event that concerns
// a member for several reasons makes one notification, of the first.
const (
	ReasonReply             = "reply"
	ReasonMention           = "mention"
	ReasonPracticePublished = "practice_published"
	ReasonTwinningState     = "twinning_state"
	ReasonTransferStatus    = "transfer_status"
	ReasonNewPractice       = "new_practice"
	ReasonNewStory          = "new_story"
	ReasonPracticeChanged   = "practice_changed"
	ReasonThreadPost        = "thread_post"
)

// Event subjects the service acts on.
const (
	SubjectPostAdded         = "discussion.post.added"
	SubjectPostHidden        = "discussion.post.hidden"
	SubjectThreadOpened      = "discussion.thread.opened"
	SubjectStoryPublished    = "discussion.story.published"
	SubjectMemberJoined      = "discussion.member.joined"
	SubjectPracticeSubmitted = "catalog.practice.submitted"
	SubjectPracticePublished = "catalog.practice.published"
	SubjectPracticeRevised   = "catalog.practice.revised"
	SubjectPracticeArchived  = "catalog.practice.archived"
	SubjectTwinningCreated   = "twinning.twinning.created"
	SubjectTransferChanged   = "twinning.transfer.status_changed"
	twinningPrefix           = "twinning.twinning."
)

// recipients gathers who an event concerns and why, each member once.
type recipients struct {
	order  []string
	reason map[string]string
}

var rank = map[string]int{ReasonReply: 0, ReasonMention: 1, ReasonPracticePublished: 2, ReasonTwinningState: 3, ReasonTransferStatus: 4,
	ReasonNewPractice: 5, ReasonNewStory: 6, ReasonPracticeChanged: 7, ReasonThreadPost: 8}

func (r *recipients) add(memberID, reason string) {
	if memberID == "" {
		return
	}
	if r.reason == nil {
		r.reason = map[string]string{}
	}
	old, ok := r.reason[memberID]
	if !ok {
		r.order = append(r.order, memberID)
	}
	if !ok || rank[reason] < rank[old] {
		r.reason[memberID] = reason
	}
}

func (r *recipients) drop(memberID string) { delete(r.reason, memberID) }

// about is what the notifications of one event say.
type about struct {
	kind, id, title, link, actorName, detail, sourceID string
}

// HandleEvent is the consumers' port: it follows, notifies or takes
// notifications back as the event says. From the event it uses the ids,
// the type and the change; the rest it asks the owning service, so that
// nobody hears of what they may not see. It is idempotent: the
// notifications' ids are hash(event id, member id).
func (a *App) HandleEvent(ctx context.Context, env *eventsv1.Envelope) error {
	err := a.handle(ctx, env)
	if errors.Is(err, errInvisible) {
		a.log.Debug("event about something not visible: nobody notified", "event", env.GetEventId(), "type", env.GetType())
		return nil
	}
	return err
}

func (a *App) handle(ctx context.Context, env *eventsv1.Envelope) error {
	t := env.GetType()
	switch {
	case t == SubjectMemberJoined:
		return a.memberJoined(ctx, env.GetAggregateId())
	case t == SubjectThreadOpened:
		return a.autoFollow(ctx, env, KindThread, env.GetAggregateId())
	case t == SubjectPostAdded:
		return a.postAdded(ctx, env)
	case t == SubjectPostHidden:
		_, err := a.store.DeleteBySource(ctx, env.GetAggregateId())
		return err
	case t == SubjectStoryPublished:
		return a.storyPublished(ctx, env)
	case t == SubjectPracticeSubmitted:
		return a.autoFollow(ctx, env, KindPractice, env.GetAggregateId())
	case t == SubjectPracticePublished, t == SubjectPracticeRevised, t == SubjectPracticeArchived:
		return a.practiceChanged(ctx, env)
	case t == SubjectTwinningCreated:
		return a.autoFollow(ctx, env, KindTwinning, env.GetAggregateId())
	case t == SubjectTransferChanged, strings.HasPrefix(t, twinningPrefix):
		return a.twinningChanged(ctx, env)
	}
	return nil
}

// at is when the event happened; an event without a time counts as now.
func at(env *eventsv1.Envelope) time.Time {
	if env.GetOccurredAt() == nil {
		return time.Now()
	}
	return env.GetOccurredAt().AsTime()
}

// isMember tells a member's actor id from system:… and anonymous.
func isMember(actor string) bool {
	return actor != "" && actor != "anonymous" && !strings.HasPrefix(actor, "system:")
}

func (a *App) autoFollow(ctx context.Context, env *eventsv1.Envelope, kind, id string) error {
	actor := env.GetActor()
	if !isMember(actor) || id == "" {
		return nil
	}
	_, err := a.follow(ctx, actor, kind, id, true, at(env))
	return err
}

func (a *App) memberJoined(ctx context.Context, id string) error {
	m, err := visible(a.profiles.Member(ctx, id))
	if err != nil {
		return err
	}
	return a.remember(ctx, m)
}

// remember keeps a public profile in the directory: name and verified
// organisations.
func (a *App) remember(ctx context.Context, p *discussionv1.Member) error {
	var orgs []string
	for _, af := range p.GetAffiliations() {
		if af.GetStatus() == discussionv1.AffiliationStatus_AFFILIATION_STATUS_VERIFIED {
			orgs = append(orgs, af.GetOrganizationId())
		}
	}
	_, err := a.store.Members.Upsert(ctx, p.GetId(), func() *store.Member { return &store.Member{ID: p.GetId()} }, func(m *store.Member) error {
		m.DisplayName, m.NameKey = p.GetDisplayName(), NameKey(p.GetDisplayName())
		if len(orgs) > 0 || m.Organizations == nil {
			m.Organizations = orgs
		}
		return nil
	})
	return err
}

func (a *App) postAdded(ctx context.Context, env *eventsv1.Envelope) error {
	var ev eventsv1.PostAdded
	if err := events.Unpack(env, &ev); err != nil {
		return events.Permanent(err)
	}
	postID, threadID := env.GetAggregateId(), ev.GetPost().GetThreadId()
	if threadID == "" {
		return events.Permanent(fmt.Errorf("post %s: the event names no thread", postID))
	}
	if err := a.autoFollow(ctx, env, KindThread, threadID); err != nil {
		return err
	}
	th, err := a.peers.thread(ctx, threadID)
	if err != nil {
		return err
	}
	p, err := a.peers.post(ctx, threadID, postID)
	if err != nil {
		return err
	}
	if p.GetState() != discussionv1.PostState_POST_STATE_VISIBLE {
		return nil // hidden or deleted: nobody hears of it
	}
	var r recipients
	if p.GetParentId() != "" {
		if parent, err := a.peers.post(ctx, threadID, p.GetParentId()); err == nil {
			r.add(parent.GetAuthorId(), ReasonReply)
		} else if !errors.Is(err, errInvisible) {
			return err
		}
	}
	mentioned, err := a.store.MembersNamed(ctx, MentionKeys(p.GetBody()))
	if err != nil {
		return err
	}
	for _, id := range mentioned {
		r.add(id, ReasonMention)
	}
	if err := a.store.FollowerIDs(ctx, KindThread, threadID, at(env), func(id string) { r.add(id, ReasonThreadPost) }); err != nil {
		return err
	}
	r.drop(p.GetAuthorId())
	return a.notify(ctx, env, r, about{kind: KindThread, id: threadID, title: th.GetTitle(), link: "/threads/" + threadID,
		actorName: p.GetAuthorName(), sourceID: postID})
}

func (a *App) storyPublished(ctx context.Context, env *eventsv1.Envelope) error {
	s, err := a.peers.story(ctx, env.GetAggregateId())
	if err != nil {
		return err
	}
	var r recipients
	r.add(s.GetAuthorId(), ReasonNewStory)
	if id := s.GetTwinningId(); id != "" {
		if err := a.store.FollowerIDs(ctx, KindTwinning, id, at(env), func(m string) { r.add(m, ReasonNewStory) }); err != nil {
			return err
		}
		if tw, err := a.peers.twinning(ctx, id); err == nil {
			if err := a.orgFollowers(ctx, env, parties(tw), ReasonNewStory, &r); err != nil {
				return err
			}
		}
	}
	if id := s.GetPracticeId(); id != "" {
		if err := a.store.FollowerIDs(ctx, KindPractice, id, at(env), func(m string) { r.add(m, ReasonNewStory) }); err != nil {
			return err
		}
		if pr, err := a.peers.practice(ctx, id); err == nil {
			if err := a.orgFollowers(ctx, env, pr.GetOwnerOrganizationIds(), ReasonNewStory, &r); err != nil {
				return err
			}
		}
	}
	return a.notify(ctx, env, r, about{kind: "story", id: s.GetId(), title: s.GetTitle(), link: storyLink(s), actorName: s.GetAuthorName()})
}

func storyLink(s *discussionv1.Story) string {
	if s.GetTwinningId() != "" {
		return "/twinnings/" + s.GetTwinningId()
	}
	return "/practices/" + s.GetPracticeId()
}

func (a *App) orgFollowers(ctx context.Context, env *eventsv1.Envelope, orgs []string, reason string, r *recipients) error {
	for _, org := range orgs {
		if err := a.store.FollowerIDs(ctx, KindOrganization, org, at(env), func(m string) { r.add(m, reason) }); err != nil {
			return err
		}
	}
	return nil
}

func (a *App) practiceChanged(ctx context.Context, env *eventsv1.Envelope) error {
	p, err := a.peers.practice(ctx, env.GetAggregateId())
	if err != nil {
		return err // a draft again, or archived away: nobody
	}
	var r recipients
	published := env.GetType() == SubjectPracticePublished
	if published {
		if p.GetStatus() != catalogv1.PracticeStatus_PRACTICE_STATUS_PUBLISHED {
			return nil // moved on since: the newer event tells
		}
		if err := a.store.MembersOf(ctx, p.GetOwnerOrganizationIds(), func(m string) { r.add(m, ReasonPracticePublished) }); err != nil {
			return err
		}
		if err := a.store.FollowerIDs(ctx, KindPractice, p.GetId(), at(env), func(m string) { r.add(m, ReasonPracticePublished) }); err != nil {
			return err
		}
		if p.GetRevision() <= 1 {
			if err := a.orgFollowers(ctx, env, p.GetOwnerOrganizationIds(), ReasonNewPractice, &r); err != nil {
				return err
			}
		}
	} else if err := a.store.FollowerIDs(ctx, KindPractice, p.GetId(), at(env), func(m string) { r.add(m, ReasonPracticeChanged) }); err != nil {
		return err
	}
	if isMember(env.GetActor()) {
		r.drop(env.GetActor())
	}
	return a.notify(ctx, env, r, about{kind: KindPractice, id: p.GetId(), title: p.GetTitle(), link: "/practices/" + slugOr(p),
		detail: strings.TrimPrefix(env.GetType(), "catalog.practice.")})
}

func slugOr(p *catalogv1.Practice) string {
	if p.GetSlug() != "" {
		return p.GetSlug()
	}
	return p.GetId()
}

func parties(t *twinningv1.Twinning) []string {
	out := append(append([]string(nil), t.GetOfferingOrganizationIds()...), t.GetReceivingOrganizationIds()...)
	if c := t.GetCoordinatorOrganizationId(); c != "" {
		out = append(out, c)
	}
	return out
}

func (a *App) twinningChanged(ctx context.Context, env *eventsv1.Envelope) error {
	tw, err := a.peers.twinning(ctx, env.GetAggregateId())
	if err != nil {
		return err
	}
	if tw.GetStatus() == twinningv1.TwinningStatus_TWINNING_STATUS_DRAFT {
		return nil // a draft is its parties' own business for now
	}
	reason, detail := ReasonTwinningState, statusWord(tw.GetStatus().String(), "TWINNING_STATUS_")
	if env.GetType() == SubjectTransferChanged {
		reason, detail = ReasonTransferStatus, a.transferDetail(env, tw)
	} else {
		var ev eventsv1.TwinningChanged
		if err := events.Unpack(env, &ev); err == nil && ev.GetChange().GetTo() != twinningv1.TwinningStatus_TWINNING_STATUS_UNSPECIFIED {
			detail = statusWord(ev.GetChange().GetTo().String(), "TWINNING_STATUS_")
		}
	}
	var r recipients
	if err := a.store.FollowerIDs(ctx, KindTwinning, tw.GetId(), at(env), func(m string) { r.add(m, reason) }); err != nil {
		return err
	}
	if err := a.store.MembersOf(ctx, parties(tw), func(m string) { r.add(m, reason) }); err != nil {
		return err
	}
	if isMember(env.GetActor()) {
		r.drop(env.GetActor())
	}
	return a.notify(ctx, env, r, about{kind: KindTwinning, id: tw.GetId(), title: tw.GetTitle(), link: "/twinnings/" + tw.GetId(), detail: detail})
}

// transferDetail is the transfer's new status, from the event's change
// if it says it, else "" (the text then says that a transfer moved).
func (a *App) transferDetail(env *eventsv1.Envelope, tw *twinningv1.Twinning) string {
	var ev eventsv1.TransferStatusChanged
	if err := events.Unpack(env, &ev); err != nil {
		return ""
	}
	if to := ev.GetTo(); to != twinningv1.TransferStatus_TRANSFER_STATUS_UNSPECIFIED {
		return statusWord(to.String(), "TRANSFER_STATUS_")
	}
	for _, t := range tw.GetTransfers() {
		if t.GetId() == ev.GetTransfer().GetId() && t.GetId() != "" {
			return statusWord(t.GetStatus().String(), "TRANSFER_STATUS_")
		}
	}
	return ""
}

func statusWord(s, prefix string) string { return strings.ToLower(strings.TrimPrefix(s, prefix)) }

// notify stores one notification per recipient, in batches, each with its
// deterministic id: a redelivered event stores nothing new.
func (a *App) notify(ctx context.Context, env *eventsv1.Envelope, r recipients, ab about) error {
	if len(r.reason) == 0 {
		return nil
	}
	now := a.now()
	email := store.Email{State: store.EmailNone}
	if a.opts.Mailing {
		email = store.Email{State: store.EmailPending, DueAt: now.Add(a.opts.EmailDelay)}
	}
	batch := make([]store.Notification, 0, len(r.reason))
	for _, memberID := range r.order {
		reason, ok := r.reason[memberID]
		if !ok {
			continue
		}
		id := store.NotificationID(env.GetEventId(), memberID)
		seq := store.SeqOf(now, id)
		batch = append(batch, store.Notification{
			ID: id, MemberID: memberID, Reason: reason, EventID: env.GetEventId(), EventType: env.GetType(),
			SubjectKind: ab.kind, SubjectID: ab.id, SourceID: ab.sourceID, Title: ab.title, ActorName: ab.actorName,
			Detail: ab.detail, Link: ab.link, CreatedAt: now, Seq: seq, SortKey: store.SortKeyOf(false, seq),
			Email: email,
		})
	}
	n, err := a.store.InsertNotifications(ctx, batch)
	if err != nil {
		return err
	}
	a.log.Debug("notified", "event", env.GetEventId(), "type", env.GetType(), "new", n, "recipients", len(batch))
	return nil
}
