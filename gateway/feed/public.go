// Package feed is the gateway's live event feed: public events of every
// service as Server-Sent Events, with their FEED stream sequence as the event
// id, replay from Last-Event-ID, filters by twinning or practice, and slow
// clients dropped rather than buffered without bound.
package feed

import (
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"

	catalogv1 "github.com/gemella/gemella/proto/gemella/catalog/v1"
	eventsv1 "github.com/gemella/gemella/proto/gemella/events/v1"
	twinningv1 "github.com/gemella/gemella/proto/gemella/twinning/v1"
)

// Event is what a browser receives: enough to show a line and link to the
// thing, never private or hidden content (no post bodies, no e-mails).
type Event struct {
	ID            uint64    `json:"id"`
	Type          string    `json:"type"`
	OccurredAt    time.Time `json:"occurred_at"`
	AggregateType string    `json:"aggregate_type"`
	AggregateID   string    `json:"aggregate_id"`
	TwinningID    string    `json:"twinning_id,omitempty"`
	PracticeID    string    `json:"practice_id,omitempty"`
	Title         string    `json:"title"`
	Summary       string    `json:"summary,omitempty"`
	Link          string    `json:"link,omitempty"`
	// ModelCode and Status are a transfer's model and its new status
	// (the enum's name, as in the REST API: TRANSFER_STATUS_ADOPTED), so
	// that a page can say them in its reader's language.
	ModelCode string `json:"model_code,omitempty"`
	Status    string `json:"status,omitempty"`

	// postID is kept to withhold a post that was hidden after it was added.
	postID string
}

// public turns an envelope into a feed event, or false when the event is
// not for the public: drafts, submissions, moderation, private data.
func public(env *eventsv1.Envelope) (Event, bool) {
	ev := Event{Type: env.GetType(), OccurredAt: env.GetOccurredAt().AsTime(), AggregateType: env.GetAggregateType(), AggregateID: env.GetAggregateId()}
	switch env.GetType() {
	case "catalog.practice.published", "catalog.practice.revised", "catalog.practice.archived":
		var pub eventsv1.PracticePublished
		var rev eventsv1.PracticeRevised
		var arc eventsv1.PracticeArchived
		// Thin events: the reference names the practice and its state.
		var p *eventsv1.PracticeRef
		switch {
		case unpack(env, &pub):
			p = pub.GetPractice()
		case unpack(env, &rev):
			p = rev.GetPractice()
		case unpack(env, &arc):
			p = arc.GetPractice()
		default:
			return ev, false
		}
		ev.PracticeID, ev.Title, ev.Summary = p.GetId(), p.GetTitle(), verbOf(env.GetType())
		ev.Link = "/v1/practices/" + ev.PracticeID
		return ev, p.GetStatus() == catalogv1.PracticeStatus_PRACTICE_STATUS_PUBLISHED || p.GetStatus() == catalogv1.PracticeStatus_PRACTICE_STATUS_ARCHIVED
	case "catalog.need.opened", "catalog.offer.opened":
		var n eventsv1.NeedChanged
		var o eventsv1.OfferChanged
		if env.GetType() == "catalog.need.opened" && unpack(env, &n) {
			ev.Title, ev.Link = n.GetNeed().GetTitle(), "/v1/needs/"+n.GetNeed().GetId()
			return ev, true
		}
		if env.GetType() == "catalog.offer.opened" && unpack(env, &o) {
			ev.PracticeID, ev.Title, ev.Link = o.GetOffer().GetPracticeId(), o.GetOffer().GetPracticeTitle(), "/v1/offers/"+o.GetOffer().GetId()
			return ev, true
		}
		return ev, false
	case "twinning.twinning.created", "twinning.twinning.proposed", "twinning.twinning.approved", "twinning.twinning.activated",
		"twinning.twinning.suspended", "twinning.twinning.resumed", "twinning.twinning.completed", "twinning.twinning.cancelled":
		var t eventsv1.TwinningChanged
		if !unpack(env, &t) {
			return ev, false
		}
		tw := t.GetTwinning()
		ev.TwinningID, ev.Title, ev.Summary, ev.Link = tw.GetId(), tw.GetTitle(), verbOf(env.GetType()), "/v1/twinnings/"+tw.GetId()
		return ev, tw.GetStatus() != twinningv1.TwinningStatus_TWINNING_STATUS_DRAFT && tw.GetStatus() != twinningv1.TwinningStatus_TWINNING_STATUS_UNSPECIFIED
	case "twinning.transfer.status_changed":
		var t eventsv1.TransferStatusChanged
		if !unpack(env, &t) {
			return ev, false
		}
		if t.GetFrom() != twinningv1.TransferStatus_TRANSFER_STATUS_UNSPECIFIED && t.GetFrom() == t.GetTo() {
			return ev, false // a proposal announcing its transfers: the proposal is the news
		}
		tr := t.GetTransfer()
		ev.TwinningID, ev.PracticeID, ev.Title = t.GetTwinningId(), tr.GetPracticeId(), t.GetTwinningTitle()
		ev.Summary = fmt.Sprintf("%s %s: %s", tr.GetPracticeTitle(), tr.GetModelCode(), statusWord(t.GetTo()))
		ev.ModelCode, ev.Status = tr.GetModelCode(), t.GetTo().String()
		ev.Link = "/v1/twinnings/" + t.GetTwinningId()
		return ev, isPublicTwinning(t.GetTwinningStatus())
	case "twinning.activity.logged":
		var a eventsv1.ActivityLogged
		if !unpack(env, &a) {
			return ev, false
		}
		ev.TwinningID, ev.Title, ev.Summary = a.GetTwinningId(), a.GetTwinningTitle(), a.GetActivity().GetTitle()
		ev.Link = "/v1/twinnings/" + a.GetTwinningId() + "/activities"
		return ev, isPublicTwinning(a.GetTwinningStatus())
	case "twinning.report.approved":
		// A report is public once approved; its drafts, submissions and
		// returns (twinning.report.created, .submitted, .returned) are the
		// parties' and the coordinators' business, so they fall through to
		// the end and stay out of the feed. The title is the quarter of a
		// quarterly report (empty for the final one); the summary is the
		// kind, which the portal turns into words.
		var r eventsv1.ReportChanged
		if !unpack(env, &r) || r.GetState() != twinningv1.ReportState_REPORT_STATE_APPROVED || r.GetTwinningId() == "" {
			return ev, false
		}
		ev.TwinningID, ev.Title, ev.Summary = r.GetTwinningId(), r.GetQuarter(), reportKindWord(r.GetKind())
		ev.Link = "/v1/twinnings/" + r.GetTwinningId() + "/reports/" + r.GetReportId()
		return ev, true
	case "discussion.member.joined":
		var m eventsv1.MemberJoined
		if !unpack(env, &m) {
			return ev, false
		}
		ev.Title, ev.Summary, ev.Link = m.GetMember().GetDisplayName(), m.GetMember().GetOrganizationName(), "/v1/members/"+m.GetMember().GetId()
		return ev, true
	case "discussion.thread.opened":
		var th eventsv1.ThreadOpened
		if !unpack(env, &th) {
			return ev, false
		}
		scope(&ev, th.GetThread().GetScope().String(), th.GetThread().GetScopeId())
		ev.Title, ev.Link = th.GetThread().GetTitle(), "/v1/threads/"+th.GetThread().GetId()
		return ev, true
	case "discussion.post.added":
		var p eventsv1.PostAdded
		if !unpack(env, &p) {
			return ev, false
		}
		scope(&ev, p.GetScope().String(), p.GetScopeId())
		ev.postID = p.GetPost().GetId()
		// The author, and the thread it was written in (earlier events
		// have no title).
		ev.Title, ev.Summary, ev.Link = p.GetPost().GetAuthorName(), p.GetThreadTitle(), "/v1/threads/"+p.GetPost().GetThreadId()+"/posts"
		return ev, true
	case "discussion.story.published":
		var s eventsv1.StoryPublished
		if !unpack(env, &s) {
			return ev, false
		}
		ev.TwinningID, ev.PracticeID = s.GetStory().GetTwinningId(), s.GetStory().GetPracticeId()
		ev.Title, ev.Summary, ev.Link = s.GetStory().GetTitle(), s.GetStory().GetAuthorName(), "/v1/stories/"+s.GetStory().GetId()
		return ev, true
	}
	return ev, false
}

func unpack(env *eventsv1.Envelope, dst proto.Message) bool {
	return env.GetPayload().UnmarshalTo(dst) == nil
}

func isPublicTwinning(s twinningv1.TwinningStatus) bool {
	// Events from before the status was carried (UNSPECIFIED) are shown:
	// only a known draft is withheld.
	return s != twinningv1.TwinningStatus_TWINNING_STATUS_DRAFT
}

func scope(ev *Event, scopeName, id string) {
	switch scopeName {
	case "SCOPE_TWINNING":
		ev.TwinningID = id
	case "SCOPE_PRACTICE":
		ev.PracticeID = id
	}
}

func verbOf(subject string) string {
	for i := len(subject) - 1; i >= 0; i-- {
		if subject[i] == '.' {
			return subject[i+1:]
		}
	}
	return subject
}

func statusWord(s twinningv1.TransferStatus) string {
	switch s {
	case twinningv1.TransferStatus_TRANSFER_STATUS_PLANNED:
		return "planned"
	case twinningv1.TransferStatus_TRANSFER_STATUS_IN_PROGRESS:
		return "in progress"
	case twinningv1.TransferStatus_TRANSFER_STATUS_ADOPTED:
		return "adopted"
	case twinningv1.TransferStatus_TRANSFER_STATUS_PARTIALLY_ADOPTED:
		return "partially adopted"
	case twinningv1.TransferStatus_TRANSFER_STATUS_DROPPED:
		return "dropped"
	}
	return "changed"
}

func reportKindWord(k twinningv1.ReportKind) string {
	switch k {
	case twinningv1.ReportKind_REPORT_KIND_QUARTERLY:
		return "quarterly"
	case twinningv1.ReportKind_REPORT_KIND_FINAL:
		return "final"
	}
	return "report"
}
