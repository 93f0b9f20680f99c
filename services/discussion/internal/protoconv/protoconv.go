// Package protoconv converts between the discussion's domain types and
// their protobuf messages; the gRPC port and the event encoder both use it.
// It shows what it is given: deciding who sees an e-mail address or a hidden
// body is the application's job (it hands over redacted copies), and
// Markdown is rendered to safe HTML here, on the way out.
package protoconv

import (
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	discussionv1 "github.com/gemella/gemella/proto/gemella/discussion/v1"
	"github.com/gemella/gemella/services/discussion/internal/domain/member"
	"github.com/gemella/gemella/services/discussion/internal/domain/moderation"
	"github.com/gemella/gemella/services/discussion/internal/domain/post"
	"github.com/gemella/gemella/services/discussion/internal/domain/story"
	"github.com/gemella/gemella/services/discussion/internal/domain/thread"
	"github.com/gemella/gemella/services/discussion/internal/render"
)

func ts(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

// RoleName is the domain name of a role enum value ("moderator"); false for
// ROLE_UNSPECIFIED and values this build does not know.
func RoleName(r discussionv1.Role) (string, bool) {
	name, known := discussionv1.Role_name[int32(r)]
	if !known || r == discussionv1.Role_ROLE_UNSPECIFIED {
		return "", false
	}
	return strings.ToLower(strings.TrimPrefix(name, "ROLE_")), true
}

// RoleToProto maps a domain role to its enum value.
func RoleToProto(r member.Role) discussionv1.Role {
	return discussionv1.Role(discussionv1.Role_value["ROLE_"+strings.ToUpper(r.String())])
}

func affiliationStatus(s member.AffiliationStatus) discussionv1.AffiliationStatus {
	return discussionv1.AffiliationStatus(discussionv1.AffiliationStatus_value["AFFILIATION_STATUS_"+strings.ToUpper(s.String())])
}

// Member converts a member; its e-mail is shown when the copy carries one.
func Member(m *member.Member) *discussionv1.Member {
	msg := &discussionv1.Member{
		Id:                 m.ID,
		DisplayName:        m.DisplayName,
		Email:              m.Email,
		OrganizationId:     m.OrganizationID,
		OrganizationName:   m.OrganizationName,
		RoleTitle:          m.RoleTitle,
		JoinTime:           ts(m.JoinedAt),
		LastLoginTime:      ts(m.LastLoginAt),
		PrivacyConsentTime: ts(m.PrivacyConsentAt),
		Blocked:            m.Blocked,
		BlockTime:          ts(m.BlockedAt),
		// Public views carry no e-mail, and so say nothing about it.
		EmailVerified: m.Email != "" && m.EmailVerified(),
	}
	for _, d := range m.NewestDecisions() {
		msg.Decisions = append(msg.Decisions, &discussionv1.MemberDecision{
			Kind: decisionKinds[d.Kind], Role: roleOrUnspecified(d.Role), OrganizationId: d.OrganizationID,
			DecidedBy: d.By.ID, DecidedByName: d.By.Name, DecideTime: ts(d.At), Reason: d.Reason,
		})
	}
	for _, r := range m.Roles() {
		msg.Roles = append(msg.Roles, RoleToProto(r))
	}
	for _, a := range m.Affiliations {
		msg.Affiliations = append(msg.Affiliations, &discussionv1.Affiliation{
			OrganizationId: a.OrganizationID,
			Status:         affiliationStatus(a.Status),
			RequestTime:    ts(a.RequestedAt),
			DecideTime:     ts(a.DecidedAt),
			DecidedBy:      a.DecidedBy,
			Reason:         a.Reason,
		})
	}
	return msg
}

var decisionKinds = map[member.DecisionKind]discussionv1.DecisionKind{
	member.KindRoleGranted:         discussionv1.DecisionKind_DECISION_KIND_ROLE_GRANTED,
	member.KindRoleRevoked:         discussionv1.DecisionKind_DECISION_KIND_ROLE_REVOKED,
	member.KindAffiliationVerified: discussionv1.DecisionKind_DECISION_KIND_AFFILIATION_VERIFIED,
	member.KindAffiliationRefused:  discussionv1.DecisionKind_DECISION_KIND_AFFILIATION_REFUSED,
	member.KindBlocked:             discussionv1.DecisionKind_DECISION_KIND_BLOCKED,
	member.KindUnblocked:           discussionv1.DecisionKind_DECISION_KIND_UNBLOCKED,
}

func roleOrUnspecified(r member.Role) discussionv1.Role {
	if r.IsZero() {
		return discussionv1.Role_ROLE_UNSPECIFIED
	}
	return RoleToProto(r)
}

var moderationActions = map[moderation.Action]discussionv1.ModerationAction{
	moderation.Hidden:           discussionv1.ModerationAction_MODERATION_ACTION_HIDDEN,
	moderation.Restored:         discussionv1.ModerationAction_MODERATION_ACTION_RESTORED,
	moderation.ReportsDismissed: discussionv1.ModerationAction_MODERATION_ACTION_REPORTS_DISMISSED,
	moderation.HiddenByReports:  discussionv1.ModerationAction_MODERATION_ACTION_HIDDEN_BY_REPORTS,
}

// ModerationEntry converts an entry of the moderation log.
func ModerationEntry(e *moderation.Entry) *discussionv1.ModerationEntry {
	return &discussionv1.ModerationEntry{
		Id: e.ID, PostId: e.PostID, ThreadId: e.ThreadID, Action: moderationActions[e.Action],
		ModeratorId: e.ByID, ModeratorName: e.ByName, Reason: e.Reason, CreateTime: ts(e.At),
	}
}

// Profile reads the writable fields of a member message.
func Profile(m *discussionv1.Member) member.Profile {
	return member.Profile{
		DisplayName:      m.GetDisplayName(),
		OrganizationID:   strings.TrimSpace(m.GetOrganizationId()),
		OrganizationName: m.GetOrganizationName(),
		RoleTitle:        m.GetRoleTitle(),
	}
}

// ScopeToProto maps a domain scope to its enum value.
func ScopeToProto(s thread.Scope) discussionv1.Scope {
	if s.IsZero() {
		return discussionv1.Scope_SCOPE_UNSPECIFIED
	}
	return discussionv1.Scope(discussionv1.Scope_value["SCOPE_"+strings.ToUpper(s.String())])
}

// ScopeFromProto maps an enum value to a domain scope (zero for unspecified).
func ScopeFromProto(s discussionv1.Scope) thread.Scope {
	sc, _ := thread.ParseScope(strings.ToLower(strings.TrimPrefix(s.String(), "SCOPE_")))
	return sc
}

// Thread converts a thread, rendering its body.
func Thread(t *thread.Thread) *discussionv1.Thread {
	return &discussionv1.Thread{
		Id:               t.ID,
		Scope:            ScopeToProto(t.Scope),
		ScopeId:          t.ScopeID,
		Title:            t.Title,
		Body:             t.Body,
		BodyHtml:         render.Markdown(t.Body),
		AuthorId:         t.AuthorID,
		AuthorName:       t.AuthorName,
		PostCount:        int32(t.PostCount),
		ParticipantCount: int32(t.ParticipantCount),
		CreateTime:       ts(t.CreatedAt),
		LastActivityTime: ts(t.LastActivityAt),
	}
}

// ThreadDetails reads the writable fields of a thread message.
func ThreadDetails(m *discussionv1.Thread) thread.Details {
	return thread.Details{Scope: ScopeFromProto(m.GetScope()), ScopeID: strings.TrimSpace(m.GetScopeId()), Title: m.GetTitle(), Body: m.GetBody()}
}

var postStates = map[post.State]discussionv1.PostState{
	post.Visible: discussionv1.PostState_POST_STATE_VISIBLE,
	post.Hidden:  discussionv1.PostState_POST_STATE_HIDDEN,
	post.Deleted: discussionv1.PostState_POST_STATE_DELETED,
}

// Post converts a post, rendering the body it carries; its reports and
// whether it needs review when the copy names the reporters (a
// moderator's: see post.Redacted).
func Post(p *post.Post) *discussionv1.Post {
	msg := &discussionv1.Post{
		Id:               p.ID,
		ThreadId:         p.ThreadID,
		ParentId:         p.ParentID,
		AuthorId:         p.AuthorID,
		AuthorName:       p.AuthorName,
		Body:             p.Body,
		BodyHtml:         render.Markdown(p.Body),
		State:            postStates[p.State],
		ReportCount:      int32(len(p.Reports)),
		ModerationReason: p.ModerationReason,
		ModeratedBy:      p.ModeratedBy,
		CreateTime:       ts(p.CreatedAt),
		EditTime:         ts(p.EditedAt),
	}
	for _, r := range p.Reports {
		if r.MemberID == "" {
			continue // redacted
		}
		msg.Reports = append(msg.Reports, &discussionv1.PostReport{MemberId: r.MemberID, MemberName: r.MemberName, Reason: r.Reason, ReportTime: ts(r.At)})
	}
	msg.NeedsReview = len(msg.Reports) > 0 && p.NeedsReview()
	return msg
}

// StoryStatusToProto maps a domain status to its enum value.
func StoryStatusToProto(s story.Status) discussionv1.StoryStatus {
	if s.IsZero() {
		return discussionv1.StoryStatus_STORY_STATUS_UNSPECIFIED
	}
	return discussionv1.StoryStatus(discussionv1.StoryStatus_value["STORY_STATUS_"+strings.ToUpper(s.String())])
}

// StoryStatusFromProto maps an enum value to a domain status (zero for unspecified).
func StoryStatusFromProto(s discussionv1.StoryStatus) story.Status {
	st, _ := story.ParseStatus(strings.ToLower(strings.TrimPrefix(s.String(), "STORY_STATUS_")))
	return st
}

// Story converts a story, rendering its body.
func Story(s *story.Story) *discussionv1.Story {
	return &discussionv1.Story{
		Id:             s.ID,
		Title:          s.Title,
		Body:           s.Body,
		BodyHtml:       render.Markdown(s.Body),
		TwinningId:     s.TwinningID,
		PracticeId:     s.PracticeID,
		AuthorId:       s.AuthorID,
		AuthorName:     s.AuthorName,
		Status:         StoryStatusToProto(s.Status),
		DecisionReason: s.DecisionReason,
		CreateTime:     ts(s.CreatedAt),
		PublishTime:    ts(s.PublishedAt),
	}
}

// StoryDetails reads the writable fields of a story message.
func StoryDetails(m *discussionv1.Story) story.Details {
	return story.Details{Title: m.GetTitle(), Body: m.GetBody(), TwinningID: strings.TrimSpace(m.GetTwinningId()), PracticeID: strings.TrimSpace(m.GetPracticeId())}
}
