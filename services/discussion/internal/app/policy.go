package app

import (
	"github.com/gemella/gemella/services/discussion/internal/domain/member"
	"github.com/gemella/gemella/services/discussion/internal/domain/post"
	"github.com/gemella/gemella/services/discussion/internal/domain/story"
	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/auth"
)

// Who may do what in the community: the one place that decides it. A
// handler asks before it changes anything. Anyone may read public content,
// register and log in; a caller without a session who tries anything more
// gets Unauthenticated, a member without the right PermissionDenied.
//
//	UpdateMyProfile, RequestAffiliation (own), CreateThread, AddPost,
//	ReportPost, SubmitStory, RefreshSession, DeleteSession   a member
//	EditPost, DeletePost                                    the post's author
//	HidePost, RestorePost, DismissReports, ListReportedPosts,
//	ListModerationLog, PublishStory, RejectStory, stories
//	not published                                           a moderator
//	DecideAffiliation, GrantRoles, RevokeRoles,
//	BlockMember, UnblockMember                              an administrator
//	ListAffiliationRequests                                 an administrator or a coordinator
//	OpenTwinningThread                                      the service itself (its consumer of approvals)
//
// Hidden posts' bodies, and who reported a post and why, are shown to
// moderators only, a story not published to its author and moderators
// only, a member's e-mail, affiliations and privacy consent to the member
// and administrators only, and the member's decision log to them and to
// coordinators.

// ServiceName is the discussion service's name as a System caller.
const ServiceName = "discussion"

// SystemActor is how the service records what it does on its own.
var SystemActor = auth.System(ServiceName).Actor()

// requireMember refuses a caller without a session: every write needs one.
func requireMember(c auth.Caller) error {
	if !c.IsMember() {
		return apperr.Unauthenticated("log in first: this needs a session token")
	}
	return nil
}

// requireRole refuses a caller without role.
func requireRole(c auth.Caller, role member.Role) error {
	if err := requireMember(c); err != nil {
		return err
	}
	if !c.HasRole(role.String()) {
		return apperr.PermissionDenied("only a %s may do this", role).WithReason(apperr.ReasonRoleRequired)
	}
	return nil
}

// mayChangePost lets the author edit or delete a post; moderators hide it
// instead.
func mayChangePost(c auth.Caller, p *post.Post) error {
	if err := requireMember(c); err != nil {
		return err
	}
	if c.MemberID != p.AuthorID {
		return apperr.PermissionDenied("only the author may change post %s", p.ID).WithReason(apperr.ReasonNotAuthor)
	}
	return nil
}

// mayModerate lets moderators hide and restore posts, see the moderation
// queue and decide stories.
func mayModerate(c auth.Caller) error { return requireRole(c, member.RoleModerator) }

// mayDecideAffiliation lets administrators verify who speaks for an
// organisation.
func mayDecideAffiliation(c auth.Caller) error { return requireRole(c, member.RoleAdministrator) }

// mayGrantRoles lets administrators grant roles, and the service itself:
// the in-process Service.GrantRoles makes the first administrator of a new
// installation (no network call can act as the service).
func mayGrantRoles(c auth.Caller) error {
	if c.IsService(ServiceName) {
		return nil
	}
	return requireRole(c, member.RoleAdministrator)
}

// mayBlockMembers lets administrators block and unblock members.
func mayBlockMembers(c auth.Caller) error { return requireRole(c, member.RoleAdministrator) }

// mayRevokeRoles lets administrators revoke roles.
func mayRevokeRoles(c auth.Caller) error { return requireRole(c, member.RoleAdministrator) }

// mayListAffiliationRequests lets administrators, who decide them, and
// coordinators, who follow who joins the programme, see the pending
// requests.
func mayListAffiliationRequests(c auth.Caller) error {
	if err := requireMember(c); err != nil {
		return err
	}
	if !c.HasRole(auth.RoleAdministrator) && !c.HasRole(auth.RoleCoordinator) {
		return apperr.PermissionDenied("only an administrator or a coordinator sees the affiliation requests").WithReason(apperr.ReasonRoleRequired)
	}
	return nil
}

// mayRequestAffiliation lets a member ask for themself only.
func mayRequestAffiliation(c auth.Caller, memberID string) error {
	if err := requireMember(c); err != nil {
		return err
	}
	if memberID != "" && memberID != c.MemberID {
		return apperr.PermissionDenied("a member asks for affiliations for themself only")
	}
	return nil
}

// mayOpenTwinningThread lets only the service's own consumer of twinning
// approvals open a twinning's general thread.
func mayOpenTwinningThread(c auth.Caller) error {
	if !c.IsService(ServiceName) {
		return apperr.PermissionDenied("a twinning's general thread is opened by the platform when the twinning is approved")
	}
	return nil
}

// canSeeHiddenPosts: moderators see hidden posts and their bodies.
func canSeeHiddenPosts(c auth.Caller) bool { return c.HasRole(auth.RoleModerator) }

// visiblePost is the post as the caller may see it: moderators see
// everything, others not the body of a deleted or hidden post.
func visiblePost(c auth.Caller, p *post.Post) *post.Post {
	if canSeeHiddenPosts(c) {
		return p
	}
	return p.Redacted()
}

// canSeeStory: a published story is public; one pending or rejected is
// its author's and the moderators'.
func canSeeStory(c auth.Caller, s *story.Story) bool {
	return s.Status == story.Published || (c.IsMember() && s.AuthorID == c.MemberID) || c.HasRole(auth.RoleModerator)
}

// mayListStories: anyone lists published stories, moderators the others.
func mayListStories(c auth.Caller, status story.Status) error {
	if status == story.Published {
		return nil
	}
	if err := mayModerate(c); err != nil {
		if apperr.KindOf(err) == apperr.KindPermissionDenied {
			return apperr.PermissionDenied("only moderators see %s stories", status).WithReason(apperr.ReasonRoleRequired)
		}
		return err
	}
	return nil
}

// visibleMember shows the e-mail and every affiliation only to the member
// and to administrators, and the decision log to coordinators too.
func visibleMember(c auth.Caller, m *member.Member) *member.Member {
	if (c.IsMember() && c.MemberID == m.ID) || c.HasRole(auth.RoleAdministrator) {
		return m.Private()
	}
	pub := m.Public()
	if c.HasRole(auth.RoleCoordinator) {
		pub.Decisions = m.Private().Decisions
	}
	return pub
}
