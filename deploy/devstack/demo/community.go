package demo

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	discussionv1 "github.com/gemella/gemella/proto/gemella/discussion/v1"
)

// The community around the seed twinning (seeds/002): a few members of the
// seed's organisations, with invented names and the role titles the portal
// shows ("Project manager", "Funzionario", "Docente"); the Tos.Ca. general
// discussion with posts and replies about its five models; one published
// story. The demo members log in with DemoPassword.

// Emails are the addresses of every demo account and demo member: the
// devstack's own, which it marks verified (no confirmation banner).
func Emails() []string {
	out := make([]string, 0, len(Accounts)+len(demoMembers))
	for _, a := range Accounts {
		out = append(out, a.Email)
	}
	for _, m := range demoMembers {
		out = append(out, m.email)
	}
	return out
}

// DemoPassword is the password of every demo member, for trying the portal.
const DemoPassword = "gemella-demo-2015"

// Demo accounts with roles, for trying moderation and administration.
const (
	DemoModeratorEmail     = "elisa.ferraro@firenze.example"
	DemoAdministratorEmail = "amministrazione@gemella.example"
)

// TosCaThreadTitle is the title of the Tos.Ca. general discussion, the one
// the discussion service gives a twinning's thread when it is approved.
const TosCaThreadTitle = "Discussione generale relativa al gemellaggio Tos.Ca. – Valorizzare le competenze dei cittadini"

const (
	threadRequestID       = "demo-thread-tosca"
	postRequestPrefix     = "demo-post-"
	storyRequestID        = "demo-story-libretto-vibo"
	tosCaPracticeFallback = TosCaSlug
)

type demoMember struct {
	key, name, email, organization, roleTitle string
	roles                                     []string
}

var demoMembers = []demoMember{
	{"giovanna", "Giovanna Martelli", "giovanna.martelli@toscana.example", "Regione Toscana", "Project manager", nil},
	{"elisa", "Elisa Ferraro", DemoModeratorEmail, "Comune di Firenze", "Funzionario", []string{"moderator"}},
	{"antonio", "Antonio Greco", "antonio.greco@calabria.example", "Regione Calabria", "Funzionario", nil},
	{"francesca", "Francesca Lombardi", "francesca.lombardi@vibovalentia.example", "Comune di Vibo Valentia", "Funzionario", nil},
	{"paolo", "Paolo Innocenti", "paolo.innocenti@icvinci.example", "Istituto Comprensivo Vinci (FI)", "Docente", nil},
	{"marco", "Marco Zanetti", "marco.zanetti@pordenone.example", "Comune di Pordenone", "Project manager", nil},
	{"admin", "Amministrazione Gemella", DemoAdministratorEmail, "Gemella", "Amministratore della piattaforma", []string{"administrator", "moderator"}},
}

// demoPosts are written in order; a reply names the key of its parent.
var demoPosts = []struct{ key, author, parent, body string }{
	{"antonio-libretto", "antonio", "",
		"Buongiorno a tutti. In Regione Calabria stiamo preparando l'adozione del **Libretto formativo del cittadino** (modello B).\n" +
			"Qualcuno ha esperienza sulla registrazione delle competenze acquisite in contesti non formali e informali?"},
	{"giovanna-libretto", "giovanna", "antonio-libretto",
		"Ciao Antonio, in Toscana il Libretto è lo strumento cardine delle politiche attive per i lavoratori in CIG e in mobilità.\n" +
			"Possiamo condividere le linee guida per gli operatori dei centri per l'impiego e il **repertorio delle competenze** (modello C) su cui si appoggia."},
	{"francesca-infanzia", "francesca", "",
		"Per il Comune di Vibo Valentia il punto più urgente sono i **servizi per la prima infanzia** (modello E). " +
			"Sarebbe utile una visita di studio agli asili nido di Firenze."},
	{"elisa-infanzia", "elisa", "francesca-infanzia",
		"Volentieri: possiamo organizzare la visita insieme all'Istituto degli Innocenti. Vi proponiamo a breve alcune date."},
	{"paolo-trio", "paolo", "",
		"Da docente: la piattaforma e-learning **Trio** (modello A) è gratuita e aperta a tutti, la usiamo per i moduli di aggiornamento del personale.\n" +
			"Consiglio di partire dai corsi sulle competenze digitali di base."},
	{"marco-trio", "marco", "paolo-trio",
		"Grazie Paolo. Anche a Pordenone ci interessa: i moduli si possono integrare con la piattaforma del Comune?"},
}

var demoStory = struct{ author, title, body string }{
	"francesca",
	"Il primo libretto formativo a Vibo Valentia",
	"Quando abbiamo consegnato il primo libretto formativo allo sportello del Comune, la signora che lo ha ricevuto " +
		"ha detto che per la prima volta vedeva scritto quello che sapeva fare.\n\n" +
		"Ci sono voluti mesi di lavoro con i colleghi della Regione Toscana e di Firenze, ma ora il servizio è aperto due giorni a settimana.",
}

// GrantFunc gives roles to the member registered with an e-mail address;
// the discussion service's GrantRoles is one.
type GrantFunc func(ctx context.Context, email string, roles ...string) error

// CommunityOption adjusts LoadCommunity.
type CommunityOption func(*communityOptions)

type communityOptions struct {
	twinningID string
	wait       time.Duration
}

// WithTosCaTwinning names the Tos.Ca. twinning the twinning service holds.
// Its approval makes the discussion service open the twinning's general
// thread, asynchronously through events: LoadCommunity waits for that
// thread up to wait and writes the posts there, and ties the story to the
// twinning.
func WithTosCaTwinning(twinningID string, wait time.Duration) CommunityOption {
	return func(o *communityOptions) { o.twinningID, o.wait = twinningID, wait }
}

// LoadCommunity registers the demo members (granting the moderator's and
// administrator's roles), writes the Tos.Ca. general discussion and
// publishes one story, through the discussion service's public API. It is
// idempotent: members are registered once, every create carries a request
// id, and a story already decided is left as it is.
//
// Without WithTosCaTwinning the posts go to a twinning thread with the Tos.Ca.
// title if the discussion service has one, and otherwise to a thread with
// that title that LoadCommunity opens on the general board.
func LoadCommunity(ctx context.Context, d discussionv1.DiscussionServiceClient, grant GrantFunc, logger *slog.Logger, opts ...CommunityOption) error {
	if logger == nil {
		logger = slog.Default()
	}
	var o communityOptions
	for _, opt := range opts {
		opt(&o)
	}
	sessions := map[string]context.Context{}
	for _, m := range demoMembers {
		if err := registerDemoMember(ctx, d, m); err != nil {
			return err
		}
		if len(m.roles) > 0 {
			if err := grant(ctx, m.email, m.roles...); err != nil {
				return fmt.Errorf("grant %v to demo member %s: %w", m.roles, m.key, err)
			}
		}
		// Logged in after the grant, so that the token carries the roles.
		callCtx, cancel := context.WithTimeout(ctx, callTimeout)
		s, err := d.CreateSession(callCtx, &discussionv1.CreateSessionRequest{Email: m.email, Password: DemoPassword})
		cancel()
		if err != nil {
			return fmt.Errorf("log in demo member %s: %w", m.key, err)
		}
		sessions[m.key] = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+s.GetToken())
	}

	thread, err := tosCaThread(ctx, d, sessions["giovanna"], o)
	if err != nil {
		return err
	}
	posted := map[string]string{}
	for _, p := range demoPosts {
		callCtx, cancel := context.WithTimeout(sessions[p.author], callTimeout)
		created, err := d.AddPost(callCtx, &discussionv1.AddPostRequest{
			ThreadId: thread.GetId(), RequestId: postRequestPrefix + p.key,
			Post: &discussionv1.Post{ParentId: posted[p.parent], Body: p.body},
		})
		cancel()
		if err != nil {
			return fmt.Errorf("write demo post %s: %w", p.key, err)
		}
		posted[p.key] = created.GetId()
	}

	story := &discussionv1.Story{Title: demoStory.title, Body: demoStory.body}
	switch {
	case o.twinningID != "":
		story.TwinningId = o.twinningID
	case thread.GetScope() == discussionv1.Scope_SCOPE_TWINNING:
		story.TwinningId = thread.GetScopeId()
	default:
		// The catalog finds a practice by its slug as by its id.
		story.PracticeId = tosCaPracticeFallback
	}
	callCtx, cancel := context.WithTimeout(sessions[demoStory.author], callTimeout)
	submitted, err := d.SubmitStory(callCtx, &discussionv1.SubmitStoryRequest{Story: story, RequestId: storyRequestID})
	cancel()
	if err != nil {
		return fmt.Errorf("submit the demo story: %w", err)
	}
	if submitted.GetStatus() == discussionv1.StoryStatus_STORY_STATUS_PENDING {
		callCtx, cancel := context.WithTimeout(sessions["elisa"], callTimeout)
		_, err := d.PublishStory(callCtx, &discussionv1.DecideStoryRequest{Id: submitted.GetId(), Reason: "Una testimonianza concreta del trasferimento."})
		cancel()
		if err != nil {
			return fmt.Errorf("publish the demo story: %w", err)
		}
	}
	// The password is in the README and the code, never in a log.
	logger.Info("demo community loaded", "members", len(demoMembers), "thread", thread.GetId(), "posts", len(demoPosts),
		"moderator", DemoModeratorEmail)
	return nil
}

// registerDemoMember signs the member up unless the address is taken
// already (by an earlier run).
func registerDemoMember(ctx context.Context, d discussionv1.DiscussionServiceClient, m demoMember) error {
	callCtx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	_, err := d.RegisterMember(callCtx, &discussionv1.RegisterMemberRequest{
		Member:   &discussionv1.Member{DisplayName: m.name, Email: m.email, OrganizationName: m.organization, RoleTitle: m.roleTitle},
		Password: DemoPassword, PrivacyConsent: true,
	})
	if status.Code(err) == codes.AlreadyExists {
		return nil
	}
	if err != nil {
		return fmt.Errorf("register demo member %s: %w", m.key, err)
	}
	return nil
}

// tosCaThread finds the Tos.Ca. general discussion, or opens it.
func tosCaThread(ctx context.Context, d discussionv1.DiscussionServiceClient, author context.Context, o communityOptions) (*discussionv1.Thread, error) {
	if o.twinningID != "" {
		deadline := time.Now().Add(o.wait)
		for {
			callCtx, cancel := context.WithTimeout(ctx, callTimeout)
			page, err := d.ListThreads(callCtx, &discussionv1.ListThreadsRequest{TwinningId: o.twinningID, PageSize: 100})
			cancel()
			if err != nil {
				return nil, fmt.Errorf("list the threads of twinning %s: %w", o.twinningID, err)
			}
			for _, t := range page.GetThreads() {
				if t.GetAuthorId() == "" { // opened by the platform on approval
					return t, nil
				}
			}
			if time.Now().After(deadline) {
				return nil, fmt.Errorf("the general thread of twinning %s did not appear within %s: is the twinning approved and the discussion service consuming its events?", o.twinningID, o.wait)
			}
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
	callCtx, cancel := context.WithTimeout(ctx, callTimeout)
	page, err := d.ListThreads(callCtx, &discussionv1.ListThreadsRequest{Scope: discussionv1.Scope_SCOPE_TWINNING, PageSize: 100})
	cancel()
	if err != nil {
		return nil, fmt.Errorf("list twinning threads: %w", err)
	}
	for _, t := range page.GetThreads() {
		if t.GetTitle() == TosCaThreadTitle {
			return t, nil
		}
	}
	callCtx, cancel = context.WithTimeout(author, callTimeout)
	defer cancel()
	t, err := d.CreateThread(callCtx, &discussionv1.CreateThreadRequest{RequestId: threadRequestID, Thread: &discussionv1.Thread{
		Scope: discussionv1.Scope_SCOPE_GENERAL, Title: TosCaThreadTitle,
		Body: "Questa è una discussione generale relativa al gemellaggio. Partecipa anche tu e lascia la tua testimonianza.",
	}})
	if err != nil {
		return nil, fmt.Errorf("open the Tos.Ca. discussion: %w", err)
	}
	return t, nil
}
