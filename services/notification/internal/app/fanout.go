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
	"github.com/gemella/gemella/services/platform/apperr"
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
	ReasonAffiliation       = "affiliation_decided"
)

// Event subjects the service acts on.
const (
	SubjectPostAdded         = "discussion.post.added"
	SubjectPostHidden        = "discussion.post.hidden"
	SubjectThreadOpened      = "discussion.thread.opened"
	SubjectStoryPublished    = "discussion.story.published"
	SubjectMemberJoined      = "discussion.member.joined"
	SubjectAffiliation       = "discussion.member.affiliation_decided"
	SubjectPracticeSubmitted = "catalog.practice.submitted"
	SubjectPracticePublished = "catalog.practice.published"
	SubjectPracticeRevised   = "catalog.practice.revised"
	SubjectPracticeArchived  = "catalog.practice.archived"
	SubjectTwinningCreated   = "twinning.twinning.created"
	// SubjectTwinningUpdated is an edit of a twinning's details: no news
	// for its followers (forms save often), so nobody is notified.
	SubjectTwinningUpdated = "twinning.twinning.updated"
	SubjectTransferChanged = "twinning.transfer.status_changed"
	twinningPrefix         = "twinning.twinning."
)

// recipients gathers who an event concerns and why, each member once.
type recipients struct {
	order  []string
	reason map[string]string
	// sources are the follower sets the event reaches, in the order of
	// their reasons; they may be large, so they are read in pages by a
	// fan-out job (fanoutjob.go).
	sources []store.Source
	// dropped are told nothing: the author, the actor.
	dropped []string
}

// followers adds those who follow kind/id, for reason.
func (r *recipients) followers(kind, id, reason string) {
	r.sources = append(r.sources, store.Source{Kind: kind, TargetID: id, Reason: reason})
}

var rank = map[string]int{ReasonReply: 0, ReasonMention: 1, ReasonPracticePublished: 2, ReasonTwinningState: 3, ReasonTransferStatus: 4,
	ReasonNewPractice: 5, ReasonNewStory: 6, ReasonPracticeChanged: 7, ReasonThreadPost: 8, ReasonAffiliation: 9}

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

func (r *recipients) drop(memberID string) {
	delete(r.reason, memberID)
	r.dropped = append(r.dropped, memberID)
}

// about is what the notifications of one event say.
type about struct {
	kind, id, title, link, actorName, detail, sourceID string
	// modelCode and modelTitle name a transfer's model.
	modelCode, modelTitle string
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
	case t == SubjectAffiliation:
		return a.affiliationDecided(ctx, env)
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
	case t == SubjectTwinningUpdated:
		return nil
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

// affiliationDecided tells the member that an administrator verified or
// refused their affiliation, and keeps the directory's organisations of
// the member current (they decide who hears of an organisation's
// twinnings).
func (a *App) affiliationDecided(ctx context.Context, env *eventsv1.Envelope) error {
	var ev eventsv1.MemberAffiliationDecided
	if err := events.Unpack(env, &ev); err != nil {
		return events.Permanent(err)
	}
	memberID, orgID := env.GetAggregateId(), ev.GetOrganizationId()
	if memberID == "" || orgID == "" {
		return events.Permanent(fmt.Errorf("affiliation event %s names no member or organisation", env.GetEventId()))
	}
	if err := a.memberJoined(ctx, memberID); err != nil {
		return err
	}
	title := ""
	if org, err := a.peers.organization(ctx, orgID); err == nil {
		title = org.GetName()
	} else if !errors.Is(err, errInvisible) {
		return err
	}
	detail := "refused"
	if ev.GetVerified() {
		detail = "verified"
	}
	var r recipients
	r.add(memberID, ReasonAffiliation)
	return a.notify(ctx, env, r, about{kind: "organization", id: orgID, title: title, link: "/profile", detail: detail})
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
	r.followers(KindThread, threadID, ReasonThreadPost)
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
		r.followers(KindTwinning, id, ReasonNewStory)
		if tw, err := a.peers.twinning(ctx, id); err == nil {
			if err := a.orgFollowers(ctx, env, parties(tw), ReasonNewStory, &r); err != nil {
				return err
			}
		}
	}
	if id := s.GetPracticeId(); id != "" {
		r.followers(KindPractice, id, ReasonNewStory)
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
		r.followers(KindOrganization, org, reason)
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
		r.followers(KindPractice, p.GetId(), ReasonPracticePublished)
		if p.GetRevision() <= 1 {
			if err := a.orgFollowers(ctx, env, p.GetOwnerOrganizationIds(), ReasonNewPractice, &r); err != nil {
				return err
			}
		}
	} else {
		r.followers(KindPractice, p.GetId(), ReasonPracticeChanged)
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
	if env.GetType() == SubjectTransferChanged && isAnnouncement(env) {
		return nil // the proposal's own notification says it
	}
	var model TransferModel
	if env.GetType() == SubjectTransferChanged {
		reason, detail = ReasonTransferStatus, a.transferDetail(env, tw)
		model = transferModel(env, tw)
	} else {
		var ev eventsv1.TwinningChanged
		if err := events.Unpack(env, &ev); err == nil && ev.GetChange().GetTo() != twinningv1.TwinningStatus_TWINNING_STATUS_UNSPECIFIED {
			detail = statusWord(ev.GetChange().GetTo().String(), "TWINNING_STATUS_")
		}
	}
	var r recipients
	r.followers(KindTwinning, tw.GetId(), reason)
	if err := a.store.MembersOf(ctx, parties(tw), func(m string) { r.add(m, reason) }); err != nil {
		return err
	}
	if isMember(env.GetActor()) {
		r.drop(env.GetActor())
	}
	return a.notify(ctx, env, r, about{kind: KindTwinning, id: tw.GetId(), title: tw.GetTitle(), link: "/twinnings/" + tw.GetId(), detail: detail,
		modelCode: model.Code, modelTitle: model.Title})
}

// TransferModel is the model a transfer event is about.
type TransferModel struct{ Code, Title string }

// transferModel names the event's transfer by its model: the event says
// it (TransferRef), or else the twinning's own copy of the transfer.
func transferModel(env *eventsv1.Envelope, tw *twinningv1.Twinning) TransferModel {
	var ev eventsv1.TransferStatusChanged
	if err := events.Unpack(env, &ev); err != nil {
		return TransferModel{}
	}
	ref := ev.GetTransfer()
	if ref.GetModelCode() != "" {
		return TransferModel{Code: ref.GetModelCode(), Title: ref.GetModelTitle()}
	}
	for _, t := range tw.GetTransfers() {
		if t.GetId() == ref.GetId() && t.GetId() != "" {
			return TransferModel{Code: t.GetModelCode(), Title: t.GetModelTitle()}
		}
	}
	return TransferModel{}
}

// isAnnouncement reports a transfer event whose status did not change:
// a proposed twinning announces its transfers to the catalogue so.
func isAnnouncement(env *eventsv1.Envelope) bool {
	var ev eventsv1.TransferStatusChanged
	if err := events.Unpack(env, &ev); err != nil {
		return false
	}
	return ev.GetFrom() != twinningv1.TransferStatus_TRANSFER_STATUS_UNSPECIFIED && ev.GetFrom() == ev.GetTo()
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

// notify stores one notification per recipient named, in batches, each
// with its deterministic id (a redelivered event stores nothing new), and
// leaves the follower sets to a fan-out job, which it runs at once for a
// while: a small fan-out is done before the event is acknowledged, a large
// one goes on in the background, in pages, on whichever replica holds it.
func (a *App) notify(ctx context.Context, env *eventsv1.Envelope, r recipients, ab about) error {
	now := a.now()
	tpl := store.Template{EventID: env.GetEventId(), EventType: env.GetType(), SubjectKind: ab.kind, SubjectID: ab.id, SourceID: ab.sourceID,
		Title: ab.title, ActorName: ab.actorName, Detail: ab.detail, Link: ab.link, ModelCode: ab.modelCode, ModelTitle: ab.modelTitle}
	batch := make([]store.Notification, 0, len(r.reason))
	for _, memberID := range r.order {
		if reason, ok := r.reason[memberID]; ok {
			batch = append(batch, a.notification(tpl, memberID, reason, now))
		}
	}
	if len(batch) > 0 {
		n, err := a.store.InsertNotifications(ctx, batch)
		if err != nil {
			return err
		}
		a.log.Debug("notified", "event", env.GetEventId(), "type", env.GetType(), "new", n, "recipients", len(batch))
	}
	if len(r.sources) == 0 {
		return nil
	}
	job := &store.FanOut{ID: env.GetEventId(), Template: tpl, Since: at(env), Sources: r.sources, Exclude: r.dropped, CreatedAt: now}
	if err := a.store.FanOuts.Create(ctx, job); err != nil && apperr.KindOf(err) != apperr.KindAlreadyExists {
		return err
	}
	return a.RunFanOut(ctx, env.GetEventId(), a.opts.InlineFanOut)
}

// notification is what tpl tells memberID, for reason.
func (a *App) notification(tpl store.Template, memberID, reason string, now time.Time) store.Notification {
	email := store.Email{State: store.EmailNone}
	if a.opts.Mailing {
		email = store.Email{State: store.EmailPending, DueAt: now.Add(a.opts.EmailDelay)}
	}
	id := store.NotificationID(tpl.EventID, memberID)
	seq := store.SeqOf(now, id)
	return store.Notification{
		ID: id, MemberID: memberID, Reason: reason, EventID: tpl.EventID, EventType: tpl.EventType,
		SubjectKind: tpl.SubjectKind, SubjectID: tpl.SubjectID, SourceID: tpl.SourceID, Title: tpl.Title, ActorName: tpl.ActorName,
		Detail: tpl.Detail, Link: tpl.Link, ModelCode: tpl.ModelCode, ModelTitle: tpl.ModelTitle, CreatedAt: now, Seq: seq, SortKey: store.SortKeyOf(false, seq), Email: email,
	}
}
