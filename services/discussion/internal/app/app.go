// Package app holds one handler per command and query of the community
// service. A handler checks who the caller is and what they may do, loads
// aggregates through the repositories, lets the domain decide, and saves;
// it knows no transport and no database.
package app

import (
	"context"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"github.com/gemella/gemella/services/discussion/internal/domain/login"
	"github.com/gemella/gemella/services/discussion/internal/domain/member"
	"github.com/gemella/gemella/services/discussion/internal/domain/moderation"
	"github.com/gemella/gemella/services/discussion/internal/domain/onetime"
	"github.com/gemella/gemella/services/discussion/internal/domain/post"
	"github.com/gemella/gemella/services/discussion/internal/domain/session"
	"github.com/gemella/gemella/services/discussion/internal/domain/story"
	"github.com/gemella/gemella/services/discussion/internal/domain/thread"
	"github.com/gemella/gemella/services/discussion/internal/domain/validate"
	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/auth"
)

// Passwords hashes and checks passwords (package password is the real one).
type Passwords interface {
	Hash(ctx context.Context, password string) (string, error)
	// Verify reports whether password matches encoded, and whether encoded
	// should be replaced by a hash with the current parameters.
	Verify(ctx context.Context, password, encoded string) (match, rehash bool, err error)
	// VerifyNothing spends what a Verify spends, for an unknown e-mail.
	VerifyNothing(ctx context.Context, password string) error
}

// Tokens signs session tokens (auth.Issuer is the real one).
type Tokens interface {
	Issue(c auth.Caller) (token string, claims auth.Claims, err error)
}

// Deps are the ports and settings the application needs.
type Deps struct {
	Members  member.Repository
	Logins   login.Repository
	Threads  thread.Repository
	Posts    post.Repository
	Stories  story.Repository
	Sessions session.Repository
	// Onetime keeps the hashes of mailed single-use links.
	Onetime onetime.Repository
	// Mail mails account links; nil mails none (a warning is logged).
	Mail AccountMail
	// Links are the settings of the mailed links and the reset quotas.
	Links AccountLinks
	// UnverifiedMayWrite says which writes (WriteKinds) a member whose
	// address is not verified may do; nil lets them do everything.
	UnverifiedMayWrite func(kind string) bool
	// Moderation is the moderation log.
	Moderation moderation.Repository
	Passwords  Passwords
	Tokens     Tokens
	// SessionMaxAge is how long after the log-in a session's tokens can
	// still be refreshed; 12 hours when zero.
	SessionMaxAge time.Duration
	// RevokeSession tells every service to refuse an ended session's
	// tokens until until (servicekit.Ports.RevokeSession); nil tells none,
	// and the tokens then live until they expire.
	RevokeSession func(ctx context.Context, sessionID string, until time.Time) error
	// LoginPolicy throttles failed log-ins; login.DefaultPolicy when zero.
	LoginPolicy login.Policy
	// EditWindow is how long after writing a post its author may edit it;
	// 15 minutes when zero.
	EditWindow time.Duration
	// ReportThreshold is how many members' reports hide a post pending
	// review; 3 when zero.
	ReportThreshold int
	// Now is the clock; time.Now when nil. Times are kept to the
	// millisecond, which is what MongoDB stores.
	Now func() time.Time
	// NewID makes an id: a name-based one for a non-empty name, so that a
	// retried create (same request id) finds the first; a time-ordered one
	// otherwise. NewID when nil.
	NewID func(name string) string
	// Logger records failures that do not fail the call.
	Logger *slog.Logger

	// Bootstrap keeps the claim of the first administrator; only the
	// bootstrap command needs it.
	Bootstrap Bootstrap
}

// Application is every use case of the community service.
type Application struct {
	RegisterMember          RegisterMemberHandler
	CreateSession           CreateSessionHandler
	RefreshSession          RefreshSessionHandler
	DeleteSession           DeleteSessionHandler
	GetMyProfile            GetMyProfileHandler
	UpdateMyProfile         UpdateMyProfileHandler
	GetMember               GetMemberHandler
	ListMembers             ListMembersHandler
	RequestAffiliation      RequestAffiliationHandler
	DecideAffiliation       DecideAffiliationHandler
	GrantRoles              GrantRolesHandler
	MarkEmailVerified       MarkEmailVerifiedHandler
	RevokeRoles             RevokeRolesHandler
	BlockMember             BlockMemberHandler
	ListAffiliationRequests ListAffiliationRequestsHandler
	RequestPasswordReset    RequestPasswordResetHandler
	ResetPassword           ResetPasswordHandler
	VerifyEmail             VerifyEmailHandler
	SendVerificationEmail   SendVerificationEmailHandler
	ChangePassword          ChangePasswordHandler

	CreateThread       CreateThreadHandler
	OpenTwinningThread OpenTwinningThreadHandler
	GetThread          GetThreadHandler
	ListThreads        ListThreadsHandler

	AddPost           AddPostHandler
	ListPosts         ListPostsHandler
	EditPost          EditPostHandler
	DeletePost        DeletePostHandler
	ReportPost        ReportPostHandler
	ModeratePost      ModeratePostHandler
	ListReportedPosts ListReportedPostsHandler
	ListModerationLog ListModerationLogHandler

	SubmitStory SubmitStoryHandler
	ListStories ListStoriesHandler
	GetStory    GetStoryHandler
	DecideStory DecideStoryHandler

	// TwinningFigures counts a twinning's discussion in a period.
	TwinningFigures TwinningFiguresHandler

	// BootstrapAdministrator is no API call: see its command.
	BootstrapAdministrator BootstrapAdministratorHandler
}

// New wires the handlers.
func New(d Deps) Application {
	now := d.Now
	if now == nil {
		now = time.Now
	}
	d.Now = func() time.Time { return now().UTC().Truncate(time.Millisecond) }
	if d.NewID == nil {
		d.NewID = NewID
	}
	if d.LoginPolicy == (login.Policy{}) {
		d.LoginPolicy = login.DefaultPolicy()
	}
	if d.SessionMaxAge <= 0 {
		d.SessionMaxAge = DefaultSessionMaxAge
	}
	if d.EditWindow <= 0 {
		d.EditWindow = 15 * time.Minute
	}
	if d.ReportThreshold <= 0 {
		d.ReportThreshold = 3
	}
	d.Links = d.Links.withDefaults()
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	return Application{
		RegisterMember:          RegisterMemberHandler{d},
		CreateSession:           CreateSessionHandler{d},
		RefreshSession:          RefreshSessionHandler{d},
		DeleteSession:           DeleteSessionHandler{d},
		GetMyProfile:            GetMyProfileHandler{d},
		UpdateMyProfile:         UpdateMyProfileHandler{d},
		GetMember:               GetMemberHandler{d},
		ListMembers:             ListMembersHandler{d},
		RequestAffiliation:      RequestAffiliationHandler{d},
		DecideAffiliation:       DecideAffiliationHandler{d},
		GrantRoles:              GrantRolesHandler{d},
		MarkEmailVerified:       MarkEmailVerifiedHandler{d},
		RevokeRoles:             RevokeRolesHandler{d},
		BlockMember:             BlockMemberHandler{d},
		ListAffiliationRequests: ListAffiliationRequestsHandler{d},
		RequestPasswordReset:    RequestPasswordResetHandler{d},
		ResetPassword:           ResetPasswordHandler{d},
		VerifyEmail:             VerifyEmailHandler{d},
		SendVerificationEmail:   SendVerificationEmailHandler{d},
		ChangePassword:          ChangePasswordHandler{d},
		CreateThread:            CreateThreadHandler{d},
		OpenTwinningThread:      OpenTwinningThreadHandler{d},
		GetThread:               GetThreadHandler{d},
		ListThreads:             ListThreadsHandler{d},
		AddPost:                 AddPostHandler{d},
		ListPosts:               ListPostsHandler{d},
		EditPost:                EditPostHandler{d},
		DeletePost:              DeletePostHandler{d},
		ReportPost:              ReportPostHandler{d},
		ModeratePost:            ModeratePostHandler{d},
		ListReportedPosts:       ListReportedPostsHandler{d},
		ListModerationLog:       ListModerationLogHandler{d},
		SubmitStory:             SubmitStoryHandler{d},
		ListStories:             ListStoriesHandler{d},
		TwinningFigures:         TwinningFiguresHandler{d},
		GetStory:                GetStoryHandler{d},
		DecideStory:             DecideStoryHandler{d},

		BootstrapAdministrator: BootstrapAdministratorHandler{d},
	}
}

var idNamespace = uuid.MustParse("0b7f3a8e-5c2d-4e61-9f0a-3d8c1b6e2f47")

// NewID returns a time-ordered uuid, or for a name a name-based one.
func NewID(name string) string {
	if name != "" {
		return uuid.NewSHA1(idNamespace, []byte(name)).String()
	}
	return uuid.Must(uuid.NewV7()).String()
}

// requestName is the name of a create's id: the kind of resource, the
// caller and their request id, so that two members' request ids never
// collide. Empty without a request id.
func requestName(kind string, c auth.Caller, requestID string) string {
	if requestID == "" {
		return ""
	}
	return kind + "\x00" + c.MemberID + "\x00" + requestID
}

func validateRequestID(requestID string) error {
	if requestID == "" {
		return nil
	}
	var v apperr.Violations
	validate.Line(&v, "request_id", requestID, false, 100)
	return v.Err()
}

// CallerOf is the caller a session token names for m.
func CallerOf(m *member.Member) auth.Caller {
	c := auth.Caller{MemberID: m.ID, DisplayName: m.DisplayName, Organizations: m.VerifiedOrganizations()}
	for _, r := range m.Roles() {
		c.Roles = append(c.Roles, r.String())
	}
	return c
}
