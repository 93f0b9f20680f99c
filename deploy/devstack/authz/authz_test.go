package authz_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/gemella/gemella/deploy/devstack/demo"
	"github.com/gemella/gemella/deploy/devstack/stack"
	catalogv1 "github.com/gemella/gemella/proto/gemella/catalog/v1"
	discussionv1 "github.com/gemella/gemella/proto/gemella/discussion/v1"
	notificationv1 "github.com/gemella/gemella/proto/gemella/notification/v1"
	twinningv1 "github.com/gemella/gemella/proto/gemella/twinning/v1"
	notification "github.com/gemella/gemella/services/notification/service"
	"github.com/gemella/gemella/services/platform/auth"
	"github.com/gemella/gemella/services/platform/grpcx"
)

// persona is one kind of caller; each cell of the matrix is a persona
// calling a row's RPC.
type persona string

const (
	anonymous     persona = "anonymous"
	member        persona = "member"
	editorOther   persona = "editor of another organisation"
	editorRight   persona = "editor of the right organisation"
	coordinator   persona = "coordinator"
	moderator     persona = "moderator"
	administrator persona = "administrator"
	expired       persona = "expired token"
	foreignKey    persona = "token signed with another key"
)

var personas = []persona{anonymous, member, editorOther, editorRight, coordinator, moderator, administrator, expired, foreignKey}

// target is what a row's setup made: ids by name, and the organisations
// its "right" editor speaks for.
type target struct {
	ids   map[string]string
	right []string
}

// row is one mutating RPC: who may call it, and how.
type row struct {
	service string // "catalog", "twinning", "report", "discussion" or "notification"
	rpc     string
	allowed []persona
	// hidden: the target is a draft that only its editors and coordinators
	// see; an identified caller who does not see it is answered NotFound,
	// as for an id that does not exist.
	hidden bool
	// right names the right editor's organisations when setup does not
	// (demo organisation names); Regione Toscana by default.
	right []string
	setup func(t *testing.T, f *fixture) target
	call  func(ctx context.Context, f *fixture, tg target) error
}

// fixture is the running devstack and what the rows need of it.
type fixture struct {
	st         *stack.Stack
	admin      context.Context // the demo loader: every role, every organisation at start
	catalog    catalogv1.CatalogServiceClient
	twinning   twinningv1.TwinningServiceClient
	reports    twinningv1.ReportServiceClient
	discussion discussionv1.DiscussionServiceClient
	notify     notificationv1.NotificationServiceClient
	issuer     *auth.Issuer
	foreign    *auth.Issuer
	orgs       map[string]string // demo organisations by name
	tosCa      *catalogv1.Practice
	members    map[persona]string // the demo accounts' member ids
	n          atomic.Int64
}

// next is a number unique in this test run, for names and request ids.
func (f *fixture) next() int64 { return f.n.Add(1) }

func (f *fixture) org(name string) string { return f.orgs[name] }

func newFixture(t *testing.T) *fixture {
	t.Helper()
	if testing.Short() {
		t.Skip("runs the whole devstack on the embedded FerretDB and NATS")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	st, err := stack.Start(ctx, stack.Options{
		DataDir: t.TempDir(), HTTPAddr: "127.0.0.1:0", CatalogAddr: "127.0.0.1:0", TwinningAddr: "127.0.0.1:0", DiscussionAddr: "127.0.0.1:0",
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})), LoadDemo: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := st.Stop(); err != nil {
			t.Errorf("stop the stack: %v", err)
		}
	})
	f := &fixture{st: st, orgs: map[string]string{}, members: map[persona]string{}}
	dial := func(addr string) *grpc.ClientConn {
		conn, err := grpcx.Dial(addr, 20*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = conn.Close() })
		return conn
	}
	urls := st.URLs()
	f.catalog = catalogv1.NewCatalogServiceClient(dial(urls.Catalog))
	f.twinning = twinningv1.NewTwinningServiceClient(dial(urls.Twinning))
	f.reports = twinningv1.NewReportServiceClient(dial(urls.Twinning))
	f.discussion = discussionv1.NewDiscussionServiceClient(dial(urls.Discussion))
	f.notify = notificationv1.NewNotificationServiceClient(dial(urls.Notification))
	if f.admin, err = st.AdminContext(context.Background()); err != nil {
		t.Fatal(err)
	}

	// Tokens are minted with the stack's own signing key, with exactly the
	// claims each persona needs; the foreign ones with a key nobody trusts.
	key, err := auth.LoadKeyFile(st.SigningKeyFile())
	if err != nil {
		t.Fatal(err)
	}
	if f.issuer, err = auth.NewIssuer(key, 15*time.Minute); err != nil {
		t.Fatal(err)
	}
	otherKey, _ := auth.GenerateKey()
	f.foreign, _ = auth.NewIssuer(otherKey, 15*time.Minute)
	if f.issuer.PublicKey().Equal(f.foreign.PublicKey()) {
		t.Fatal("two keys are one")
	}

	page, err := f.catalog.ListOrganizations(f.admin, &catalogv1.ListOrganizationsRequest{PageSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range page.GetOrganizations() {
		f.orgs[o.GetName()] = o.GetId()
	}
	if f.tosCa, err = f.catalog.GetPractice(context.Background(), &catalogv1.GetPracticeRequest{Id: demo.TosCaSlug}); err != nil {
		t.Fatal(err)
	}
	// The personas are the demo accounts: real members, so that the
	// community's rows (one's own profile, one's own posts) mean something.
	for p, email := range map[persona]string{
		member: "member@demo.gemella.test", editorRight: "editor.toscana@demo.gemella.test", editorOther: "editor.calabria@demo.gemella.test",
		coordinator: "coordinator@demo.gemella.test", moderator: "moderator@demo.gemella.test", administrator: "admin@demo.gemella.test",
	} {
		s, err := f.discussion.CreateSession(context.Background(), &discussionv1.CreateSessionRequest{Email: email, Password: demo.AccountPassword})
		if err != nil {
			t.Fatalf("log in as %s: %v", email, err)
		}
		f.members[p] = s.GetMember().GetId()
	}
	return f
}

// as is a context carrying p's token for a row whose right editor speaks
// for right (organisation ids); other editors speak for Regione Marche.
func (f *fixture) as(t *testing.T, p persona, right []string) context.Context {
	t.Helper()
	if p == anonymous {
		return context.Background()
	}
	c := auth.Caller{MemberID: f.members[p], Roles: []string{auth.RoleMember}}
	issuer := f.issuer
	switch p {
	case editorRight:
		c.Roles, c.Organizations = append(c.Roles, auth.RoleEditor), right
	case editorOther:
		c.Roles, c.Organizations = append(c.Roles, auth.RoleEditor), []string{f.org("Regione Marche")}
	case coordinator:
		c.Roles = append(c.Roles, auth.RoleCoordinator)
	case moderator:
		c.Roles = append(c.Roles, auth.RoleModerator)
	case administrator:
		c.Roles = append(c.Roles, auth.RoleAdministrator)
	case expired, foreignKey:
		// Claims that would allow everything: only the token is wrong.
		c.MemberID = f.members[administrator]
		c.Roles = append(c.Roles, auth.RoleEditor, auth.RoleCoordinator, auth.RoleModerator, auth.RoleAdministrator)
		c.Organizations = right
		if p == expired {
			issuer = f.issuer.WithClock(func() time.Time { return time.Now().Add(-time.Hour) })
		} else {
			issuer = f.foreign
		}
	}
	token, _, err := issuer.Issue(c)
	if err != nil {
		t.Fatal(err)
	}
	return auth.WithBearerToken(context.Background(), token)
}

// sees reports whether p may see a hidden (draft) target.
func sees(p persona) bool { return p == editorRight || p == coordinator }

func TestEveryMutatingRPCAuthorizesEveryKindOfCaller(t *testing.T) {
	f := newFixture(t)
	table := rows()
	checkEveryRPCHasARow(t, table)

	for _, r := range table {
		t.Run(r.service+"/"+r.rpc, func(t *testing.T) {
			tg := target{ids: map[string]string{}}
			if r.setup != nil {
				tg = r.setup(t, f)
			}
			if tg.right == nil {
				names := r.right
				if names == nil {
					names = []string{"Regione Toscana"}
				}
				for _, n := range names {
					tg.right = append(tg.right, f.org(n))
				}
			}
			// Refusals first: an allowed call may move the target on (a
			// publish, a cancel), and a refusal must not depend on that.
			order := slices.Clone(personas)
			slices.SortStableFunc(order, func(a, b persona) int {
				return boolInt(slices.Contains(r.allowed, a)) - boolInt(slices.Contains(r.allowed, b))
			})
			for _, p := range order {
				err := r.call(f.as(t, p, tg.right), f, tg)
				got := status.Code(err)
				if slices.Contains(r.allowed, p) {
					// Allowed: not refused. It may fail for another reason
					// (a previous allowed call moved the state on).
					if got == codes.Unauthenticated || got == codes.PermissionDenied || got == codes.NotFound {
						t.Errorf("%s: refused with %s: %v", p, got, err)
					}
					continue
				}
				want := codes.PermissionDenied
				switch {
				case p == anonymous || p == expired || p == foreignKey:
					want = codes.Unauthenticated
				case r.hidden && !sees(p):
					want = codes.NotFound
				}
				if got != want {
					t.Errorf("%s: %s (%v), want %s", p, got, err, want)
				}
			}
		})
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// checkEveryRPCHasARow fails for a mutating RPC (one whose name does not
// start with Get, List, Search or Render) that the table leaves out, so that a new
// RPC cannot ship without its authorization being tested.
func checkEveryRPCHasARow(t *testing.T, table []row) {
	t.Helper()
	have := map[string]bool{}
	for _, r := range table {
		key := r.service + "/" + r.rpc
		if have[key] {
			t.Errorf("two rows for %s", key)
		}
		have[key] = true
	}
	want := map[string]bool{}
	for service, desc := range map[string]grpc.ServiceDesc{
		"catalog": catalogv1.CatalogService_ServiceDesc, "twinning": twinningv1.TwinningService_ServiceDesc, "discussion": discussionv1.DiscussionService_ServiceDesc,
		"notification": notificationv1.NotificationService_ServiceDesc, "report": twinningv1.ReportService_ServiceDesc,
	} {
		var names []string
		for _, m := range desc.Methods {
			names = append(names, m.MethodName)
		}
		for _, s := range desc.Streams {
			names = append(names, s.StreamName)
		}
		for _, name := range names {
			if strings.HasPrefix(name, "Get") || strings.HasPrefix(name, "List") || strings.HasPrefix(name, "Search") || strings.HasPrefix(name, "Render") {
				continue
			}
			key := service + "/" + name
			want[key] = true
			if !have[key] {
				t.Errorf("mutating RPC %s has no row in the authorization table", key)
			}
		}
	}
	for key := range have {
		if !want[key] {
			t.Errorf("row %s names no mutating RPC", key)
		}
	}
	if len(want) < 40 {
		t.Fatalf("only %d mutating RPCs found: the service descriptors were not read", len(want))
	}
}

// mask is a field mask of paths.
func mask(paths ...string) *fieldmaskpb.FieldMask { return &fieldmaskpb.FieldMask{Paths: paths} }

// result is a call's answer, for must.
type result[T any] struct {
	v   T
	err error
}

func try[T any](v T, err error) result[T] { return result[T]{v, err} }

// must is the answer, or the end of the test.
func (r result[T]) must(t *testing.T, what string) T {
	t.Helper()
	if r.err != nil {
		t.Fatalf("setup: %s: %v", what, r.err)
	}
	return r.v
}

// --- catalog fixtures ---

// draftPractice creates a complete draft owned by Regione Toscana.
func (f *fixture) draftPractice(t *testing.T) *catalogv1.Practice {
	t.Helper()
	n := f.next()
	return try(f.catalog.CreatePractice(f.admin, &catalogv1.CreatePracticeRequest{Practice: &catalogv1.Practice{
		Title: fmt.Sprintf("Pratica di prova numero %d", n), Summary: "Sintesi", Description: "Descrizione", Problem: "Problema", Results: "Risultati",
		OwnerOrganizationIds: []string{f.org("Regione Toscana")}, Themes: []string{"lavoro"}, Languages: []string{"it"},
		Models: []*catalogv1.Model{{Code: "A", Title: "Modello A", OwnerOrganizationId: f.org("Regione Toscana")}},
	}})).must(t, "create a practice")
}

func (f *fixture) submittedPractice(t *testing.T) *catalogv1.Practice {
	p := f.draftPractice(t)
	return try(f.catalog.SubmitPractice(f.admin, &catalogv1.SubmitPracticeRequest{Id: p.GetId()})).must(t, "submit")
}

func (f *fixture) publishedPractice(t *testing.T) *catalogv1.Practice {
	p := f.submittedPractice(t)
	return try(f.catalog.PublishPractice(f.admin, &catalogv1.PublishPracticeRequest{Id: p.GetId()})).must(t, "publish")
}

func (f *fixture) need(t *testing.T) *catalogv1.Need {
	return try(f.catalog.CreateNeed(f.admin, &catalogv1.CreateNeedRequest{Need: &catalogv1.Need{
		OrganizationId: f.org("Regione Toscana"), Title: fmt.Sprintf("Cerchiamo aiuto numero %d", f.next()), Problem: "Servono competenze digitali",
		Themes: []string{"lavoro"}, Language: "it",
	}})).must(t, "open a need")
}

// --- twinning fixtures ---

// twinningDetails is a complete twinning from Regione Toscana to Regione Calabria.
func (f *fixture) twinningDetails() *twinningv1.Twinning {
	return &twinningv1.Twinning{
		Code: fmt.Sprintf("AUTHZ-%d", f.next()), Title: "Gemellaggio di prova", Summary: "Sintesi",
		Objectives:              []*twinningv1.Objective{{Level: "regionale", Text: "Obiettivo"}},
		OfferingOrganizationIds: []string{f.org("Regione Toscana")}, ReceivingOrganizationIds: []string{f.org("Regione Calabria")},
		StartDate: "2025-01-15",
	}
}

// twinningIn creates a twinning and moves it to the status the moves lead to.
func (f *fixture) twinningIn(t *testing.T, moves ...string) *twinningv1.Twinning {
	t.Helper()
	tw := try(f.twinning.CreateTwinning(f.admin, &twinningv1.CreateTwinningRequest{Twinning: f.twinningDetails()})).must(t, "create a twinning")
	for _, m := range moves {
		req := &twinningv1.TransitionTwinningRequest{Id: tw.GetId(), Reason: "prova"}
		var err error
		switch m {
		case "propose":
			tw, err = f.twinning.ProposeTwinning(f.admin, req)
		case "approve":
			tw, err = f.twinning.ApproveTwinning(f.admin, req)
		case "activate":
			tw, err = f.twinning.ActivateTwinning(f.admin, req)
		case "suspend":
			tw, err = f.twinning.SuspendTwinning(f.admin, req)
		}
		if err != nil {
			t.Fatalf("setup: %s: %v", m, err)
		}
	}
	return tw
}

var toActive = []string{"propose", "approve", "activate"}

func (f *fixture) transferA(t *testing.T, tw *twinningv1.Twinning) *twinningv1.Transfer {
	return try(f.twinning.AddTransfer(f.admin, &twinningv1.AddTransferRequest{TwinningId: tw.GetId(), Transfer: &twinningv1.Transfer{
		PracticeId: f.tosCa.GetId(), ModelCode: "A", FromOrganizationId: f.org("Regione Toscana"), ToOrganizationId: f.org("Regione Calabria"),
	}})).must(t, "add a transfer")
}

// --- discussion fixtures ---

// asAuthor is a context of the right editor's account, who writes the
// posts the rows edit.
func (f *fixture) asAuthor(t *testing.T) context.Context { return f.as(t, editorRight, nil) }

func (f *fixture) thread(t *testing.T) *discussionv1.Thread {
	return try(f.discussion.CreateThread(f.asAuthor(t), &discussionv1.CreateThreadRequest{Thread: &discussionv1.Thread{
		Scope: discussionv1.Scope_SCOPE_GENERAL, Title: fmt.Sprintf("Discussione di prova %d", f.next()), Body: "Apriamo la discussione.",
	}})).must(t, "open a thread")
}

func (f *fixture) post(t *testing.T) *discussionv1.Post {
	th := f.thread(t)
	return try(f.discussion.AddPost(f.asAuthor(t), &discussionv1.AddPostRequest{ThreadId: th.GetId(), Post: &discussionv1.Post{Body: "Un messaggio."}})).must(t, "write a post")
}

// newcomer registers a member nobody has decided anything about, and logs in.
func (f *fixture) newcomer(t *testing.T) (id string, session context.Context) {
	t.Helper()
	email := fmt.Sprintf("newcomer-%d@example.it", f.next())
	try(f.discussion.RegisterMember(context.Background(), &discussionv1.RegisterMemberRequest{
		Member: &discussionv1.Member{DisplayName: "Nuovo Iscritto", Email: email, OrganizationName: "Regione Marche", RoleTitle: "Funzionario"}, Password: "una password abbastanza lunga",
		PrivacyConsent: true,
	})).must(t, "register")
	s := try(f.discussion.CreateSession(context.Background(), &discussionv1.CreateSessionRequest{Email: email, Password: "una password abbastanza lunga"})).must(t, "log in")
	return s.GetMember().GetId(), auth.WithBearerToken(context.Background(), s.GetToken())
}

func (f *fixture) story(t *testing.T) *discussionv1.Story {
	return try(f.discussion.SubmitStory(f.as(t, member, nil), &discussionv1.SubmitStoryRequest{Story: &discussionv1.Story{
		Title: fmt.Sprintf("La mia storia %d", f.next()), Body: "Ho visto il trasferimento da vicino.", PracticeId: demo.TosCaSlug,
	}})).must(t, "submit a story")
}

var everyone = []persona{anonymous, member, editorOther, editorRight, coordinator, moderator, administrator}
var members = []persona{member, editorOther, editorRight, coordinator, moderator, administrator}

// rows is the authorization matrix, as ARCHITECTURE.md's "Identity and
// access" and the services' policy.go files say.
func rows() []row {
	return []row{
		// --- catalog ---
		{service: "catalog", rpc: "CreateOrganization", allowed: []persona{coordinator, administrator},
			call: func(ctx context.Context, f *fixture, _ target) error {
				_, err := f.catalog.CreateOrganization(ctx, &catalogv1.CreateOrganizationRequest{Organization: &catalogv1.Organization{
					Name: fmt.Sprintf("Comune di prova %d", f.next()), Kind: catalogv1.OrganizationKind_ORGANIZATION_KIND_MUNICIPALITY,
				}})
				return err
			}},
		{service: "catalog", rpc: "UpdateOrganization", allowed: []persona{editorRight, administrator},
			setup: func(t *testing.T, f *fixture) target {
				o := try(f.catalog.CreateOrganization(f.admin, &catalogv1.CreateOrganizationRequest{Organization: &catalogv1.Organization{
					Name: fmt.Sprintf("Comune da aggiornare %d", f.next()), Kind: catalogv1.OrganizationKind_ORGANIZATION_KIND_MUNICIPALITY,
				}})).must(t, "create an organisation")
				return target{ids: map[string]string{"org": o.GetId()}, right: []string{o.GetId()}}
			},
			call: func(ctx context.Context, f *fixture, tg target) error {
				_, err := f.catalog.UpdateOrganization(ctx, &catalogv1.UpdateOrganizationRequest{
					Organization: &catalogv1.Organization{Id: tg.ids["org"], Website: "https://www.example.it"}, UpdateMask: mask("website"),
				})
				return err
			}},
		{service: "catalog", rpc: "CreatePractice", allowed: []persona{editorRight},
			call: func(ctx context.Context, f *fixture, _ target) error {
				_, err := f.catalog.CreatePractice(ctx, &catalogv1.CreatePracticeRequest{Practice: &catalogv1.Practice{
					Title: fmt.Sprintf("Nuova pratica numero %d", f.next()), OwnerOrganizationIds: []string{f.org("Regione Toscana")},
				}})
				return err
			}},
		{service: "catalog", rpc: "UpdatePractice", allowed: []persona{editorRight}, hidden: true,
			setup: func(t *testing.T, f *fixture) target {
				return target{ids: map[string]string{"p": f.draftPractice(t).GetId()}}
			},
			call: func(ctx context.Context, f *fixture, tg target) error {
				_, err := f.catalog.UpdatePractice(ctx, &catalogv1.UpdatePracticeRequest{Practice: &catalogv1.Practice{Id: tg.ids["p"], Summary: "Nuova sintesi"}, UpdateMask: mask("summary")})
				return err
			}},
		{service: "catalog", rpc: "SubmitPractice", allowed: []persona{editorRight}, hidden: true,
			setup: func(t *testing.T, f *fixture) target {
				return target{ids: map[string]string{"p": f.draftPractice(t).GetId()}}
			},
			call: func(ctx context.Context, f *fixture, tg target) error {
				_, err := f.catalog.SubmitPractice(ctx, &catalogv1.SubmitPracticeRequest{Id: tg.ids["p"]})
				return err
			}},
		{service: "catalog", rpc: "PublishPractice", allowed: []persona{coordinator}, hidden: true,
			setup: func(t *testing.T, f *fixture) target {
				return target{ids: map[string]string{"p": f.submittedPractice(t).GetId()}}
			},
			call: func(ctx context.Context, f *fixture, tg target) error {
				_, err := f.catalog.PublishPractice(ctx, &catalogv1.PublishPracticeRequest{Id: tg.ids["p"]})
				return err
			}},
		{service: "catalog", rpc: "ArchivePractice", allowed: []persona{editorRight, coordinator},
			setup: func(t *testing.T, f *fixture) target {
				return target{ids: map[string]string{"p": f.publishedPractice(t).GetId()}}
			},
			call: func(ctx context.Context, f *fixture, tg target) error {
				_, err := f.catalog.ArchivePractice(ctx, &catalogv1.ArchivePracticeRequest{Id: tg.ids["p"], Reason: "superata"})
				return err
			}},
		{service: "catalog", rpc: "RevisePractice", allowed: []persona{editorRight},
			setup: func(t *testing.T, f *fixture) target {
				return target{ids: map[string]string{"p": f.publishedPractice(t).GetId()}}
			},
			call: func(ctx context.Context, f *fixture, tg target) error {
				_, err := f.catalog.RevisePractice(ctx, &catalogv1.RevisePracticeRequest{
					Practice: &catalogv1.Practice{Id: tg.ids["p"], Results: "Risultati aggiornati"}, UpdateMask: mask("results"), Note: "aggiornamento",
				})
				return err
			}},
		// A draft is deleted by its owners' editors only: the coordinator,
		// who sees it, did not write it.
		{service: "catalog", rpc: "DeletePractice", allowed: []persona{editorRight}, hidden: true,
			setup: func(t *testing.T, f *fixture) target {
				return target{ids: map[string]string{"p": f.draftPractice(t).GetId()}}
			},
			call: func(ctx context.Context, f *fixture, tg target) error {
				_, err := f.catalog.DeletePractice(ctx, &catalogv1.DeletePracticeRequest{Id: tg.ids["p"]})
				return err
			}},
		{service: "catalog", rpc: "CreateNeed", allowed: []persona{editorRight},
			call: func(ctx context.Context, f *fixture, _ target) error {
				_, err := f.catalog.CreateNeed(ctx, &catalogv1.CreateNeedRequest{Need: &catalogv1.Need{
					OrganizationId: f.org("Regione Toscana"), Title: fmt.Sprintf("Cerco numero %d", f.next()), Problem: "Un problema", Language: "it",
				}})
				return err
			}},
		{service: "catalog", rpc: "UpdateNeed", allowed: []persona{editorRight},
			setup: func(t *testing.T, f *fixture) target { return target{ids: map[string]string{"n": f.need(t).GetId()}} },
			call: func(ctx context.Context, f *fixture, tg target) error {
				_, err := f.catalog.UpdateNeed(ctx, &catalogv1.UpdateNeedRequest{Need: &catalogv1.Need{Id: tg.ids["n"], Problem: "Più chiaro"}, UpdateMask: mask("problem")})
				return err
			}},
		{service: "catalog", rpc: "CloseNeed", allowed: []persona{editorRight, coordinator},
			setup: func(t *testing.T, f *fixture) target { return target{ids: map[string]string{"n": f.need(t).GetId()}} },
			call: func(ctx context.Context, f *fixture, tg target) error {
				_, err := f.catalog.CloseNeed(ctx, &catalogv1.CloseNeedRequest{Id: tg.ids["n"], Reason: "risolto"})
				return err
			}},
		{service: "catalog", rpc: "CreateOffer", allowed: []persona{editorRight},
			setup: func(t *testing.T, f *fixture) target {
				return target{ids: map[string]string{"p": f.publishedPractice(t).GetId()}}
			},
			call: func(ctx context.Context, f *fixture, tg target) error {
				_, err := f.catalog.CreateOffer(ctx, &catalogv1.CreateOfferRequest{Offer: &catalogv1.Offer{
					OrganizationId: f.org("Regione Toscana"), PracticeId: tg.ids["p"], Capacity: 1, Languages: []string{"it"},
				}})
				return err
			}},
		{service: "catalog", rpc: "CloseOffer", allowed: []persona{editorRight},
			setup: func(t *testing.T, f *fixture) target {
				o := try(f.catalog.CreateOffer(f.admin, &catalogv1.CreateOfferRequest{Offer: &catalogv1.Offer{
					OrganizationId: f.org("Regione Toscana"), PracticeId: f.publishedPractice(t).GetId(), Capacity: 1, Languages: []string{"it"},
				}})).must(t, "offer")
				return target{ids: map[string]string{"o": o.GetId()}}
			},
			call: func(ctx context.Context, f *fixture, tg target) error {
				_, err := f.catalog.CloseOffer(ctx, &catalogv1.CloseOfferRequest{Id: tg.ids["o"], Reason: "ritirata"})
				return err
			}},

		// --- twinning ---
		{service: "twinning", rpc: "CreateTwinning", allowed: []persona{editorRight, coordinator},
			call: func(ctx context.Context, f *fixture, _ target) error {
				_, err := f.twinning.CreateTwinning(ctx, &twinningv1.CreateTwinningRequest{Twinning: f.twinningDetails()})
				return err
			}},
		{service: "twinning", rpc: "UpdateTwinning", allowed: []persona{editorRight, coordinator}, hidden: true,
			setup: func(t *testing.T, f *fixture) target {
				return target{ids: map[string]string{"tw": f.twinningIn(t).GetId()}}
			},
			call: func(ctx context.Context, f *fixture, tg target) error {
				_, err := f.twinning.UpdateTwinning(ctx, &twinningv1.UpdateTwinningRequest{Twinning: &twinningv1.Twinning{Id: tg.ids["tw"], Summary: "Nuova sintesi"}, UpdateMask: mask("summary")})
				return err
			}},
		{service: "twinning", rpc: "DeleteTwinning", allowed: []persona{editorRight}, hidden: true,
			setup: func(t *testing.T, f *fixture) target {
				return target{ids: map[string]string{"tw": f.twinningIn(t).GetId()}}
			},
			call: func(ctx context.Context, f *fixture, tg target) error {
				_, err := f.twinning.DeleteTwinning(ctx, &twinningv1.DeleteTwinningRequest{Id: tg.ids["tw"]})
				return err
			}},
		transition("ProposeTwinning", nil, true, []persona{editorRight}, (twinningv1.TwinningServiceClient).ProposeTwinning),
		transition("ApproveTwinning", []string{"propose"}, false, []persona{coordinator}, (twinningv1.TwinningServiceClient).ApproveTwinning),
		transition("ActivateTwinning", []string{"propose", "approve"}, false, []persona{editorRight, coordinator}, (twinningv1.TwinningServiceClient).ActivateTwinning),
		transition("SuspendTwinning", toActive, false, []persona{editorRight, coordinator}, (twinningv1.TwinningServiceClient).SuspendTwinning),
		transition("ResumeTwinning", append(slices.Clone(toActive), "suspend"), false, []persona{editorRight, coordinator}, (twinningv1.TwinningServiceClient).ResumeTwinning),
		transition("CompleteTwinning", toActive, false, []persona{coordinator}, (twinningv1.TwinningServiceClient).CompleteTwinning),
		transition("CancelTwinning", []string{"propose"}, false, []persona{coordinator}, (twinningv1.TwinningServiceClient).CancelTwinning),
		{service: "twinning", rpc: "AddTransfer", allowed: []persona{editorRight, coordinator},
			setup: func(t *testing.T, f *fixture) target {
				return target{ids: map[string]string{"tw": f.twinningIn(t, toActive...).GetId()}}
			},
			call: func(ctx context.Context, f *fixture, tg target) error {
				_, err := f.twinning.AddTransfer(ctx, &twinningv1.AddTransferRequest{TwinningId: tg.ids["tw"], Transfer: &twinningv1.Transfer{
					PracticeId: f.tosCa.GetId(), ModelCode: "A", FromOrganizationId: f.org("Regione Toscana"), ToOrganizationId: f.org("Regione Calabria"),
				}})
				return err
			}},
		// The receiving side reports its adoption: the right editor here is
		// Regione Calabria's (the offering side's may too, see policy.go).
		{service: "twinning", rpc: "UpdateTransfer", allowed: []persona{editorRight, coordinator}, right: []string{"Regione Calabria"},
			setup: func(t *testing.T, f *fixture) target {
				tw := f.twinningIn(t, toActive...)
				return target{ids: map[string]string{"tw": tw.GetId(), "tr": f.transferA(t, tw).GetId()}}
			},
			call: func(ctx context.Context, f *fixture, tg target) error {
				_, err := f.twinning.UpdateTransfer(ctx, &twinningv1.UpdateTransferRequest{
					TwinningId: tg.ids["tw"], Transfer: &twinningv1.Transfer{Id: tg.ids["tr"]}, Note: fmt.Sprintf("Avanzamento %d", f.next()),
				})
				return err
			}},
		{service: "twinning", rpc: "LogActivity", allowed: []persona{editorRight, coordinator},
			setup: func(t *testing.T, f *fixture) target {
				return target{ids: map[string]string{"tw": f.twinningIn(t, toActive...).GetId()}}
			},
			call: func(ctx context.Context, f *fixture, tg target) error {
				_, err := f.twinning.LogActivity(ctx, &twinningv1.LogActivityRequest{TwinningId: tg.ids["tw"], Activity: &twinningv1.Activity{
					Kind: twinningv1.ActivityKind_ACTIVITY_KIND_WORKSHOP, Title: "Workshop", Date: "2025-02-10",
				}})
				return err
			}},
		{service: "twinning", rpc: "UpdateActivity", allowed: []persona{editorRight, coordinator},
			setup: func(t *testing.T, f *fixture) target {
				tw := f.twinningIn(t, toActive...)
				a := try(f.twinning.LogActivity(f.admin, &twinningv1.LogActivityRequest{TwinningId: tw.GetId(), Activity: &twinningv1.Activity{
					Kind: twinningv1.ActivityKind_ACTIVITY_KIND_WORKSHOP, Title: "Workshop", Date: "2025-02-10",
				}})).must(t, "log an activity")
				return target{ids: map[string]string{"tw": tw.GetId(), "a": a.GetId()}}
			},
			call: func(ctx context.Context, f *fixture, tg target) error {
				_, err := f.twinning.UpdateActivity(ctx, &twinningv1.UpdateActivityRequest{
					TwinningId: tg.ids["tw"], Activity: &twinningv1.Activity{Id: tg.ids["a"], Outcome: "Buono"}, UpdateMask: mask("outcome"),
				})
				return err
			}},

		// --- reports (served by the twinning service) ---
		{service: "report", rpc: "CreateReport", allowed: []persona{editorRight, coordinator},
			setup: func(t *testing.T, f *fixture) target {
				return target{ids: map[string]string{"tw": f.twinningIn(t, toActive...).GetId()}}
			},
			call: func(ctx context.Context, f *fixture, tg target) error {
				_, err := f.reports.CreateReport(ctx, &twinningv1.CreateReportRequest{TwinningId: tg.ids["tw"], Kind: twinningv1.ReportKind_REPORT_KIND_QUARTERLY, Quarter: "2025-Q1"})
				return err
			}},
		// A report that is not approved is seen only by the parties' editors
		// and the coordinators: NotFound to anyone else.
		{service: "report", rpc: "UpdateReport", allowed: []persona{editorRight, coordinator}, hidden: true,
			setup: func(t *testing.T, f *fixture) target { return f.reportIn(t) },
			call: func(ctx context.Context, f *fixture, tg target) error {
				_, err := f.reports.UpdateReport(ctx, &twinningv1.UpdateReportRequest{TwinningId: tg.ids["tw"], Report: &twinningv1.Report{
					Id: tg.ids["r"], Sections: []*twinningv1.ReportSection{{Key: "summary", Markdown: fmt.Sprintf("Sintesi %d", f.next())}},
				}})
				return err
			}},
		reportMove("SubmitReport", nil, []persona{editorRight}, (twinningv1.ReportServiceClient).SubmitReport),
		reportMove("ApproveReport", []string{"submit"}, []persona{coordinator}, (twinningv1.ReportServiceClient).ApproveReport),
		reportMove("ReturnReport", []string{"submit"}, []persona{coordinator}, (twinningv1.ReportServiceClient).ReturnReport),

		// --- discussion ---
		{service: "discussion", rpc: "RegisterMember", allowed: everyone,
			call: func(ctx context.Context, f *fixture, _ target) error {
				_, err := f.discussion.RegisterMember(ctx, &discussionv1.RegisterMemberRequest{
					Member:   &discussionv1.Member{DisplayName: "Iscritta di prova", Email: fmt.Sprintf("iscritta-%d@example.it", f.next())},
					Password: "una password abbastanza lunga", PrivacyConsent: true,
				})
				return err
			}},
		{service: "discussion", rpc: "CreateSession", allowed: everyone,
			call: func(ctx context.Context, f *fixture, _ target) error {
				_, err := f.discussion.CreateSession(ctx, &discussionv1.CreateSessionRequest{Email: "member@demo.gemella.test", Password: demo.AccountPassword})
				return err
			}},
		// A link is the credential of these: anyone may present one (a
		// made-up token is INVALID_ARGUMENT, no refusal of the caller).
		{service: "discussion", rpc: "RequestPasswordReset", allowed: everyone,
			call: func(ctx context.Context, f *fixture, _ target) error {
				_, err := f.discussion.RequestPasswordReset(ctx, &discussionv1.RequestPasswordResetRequest{Email: fmt.Sprintf("dimenticata-%d@example.it", f.next())})
				return err
			}},
		{service: "discussion", rpc: "ResetPassword", allowed: everyone,
			call: func(ctx context.Context, f *fixture, _ target) error {
				_, err := f.discussion.ResetPassword(ctx, &discussionv1.ResetPasswordRequest{Token: "nessuno-lo-ha-emesso", NewPassword: "una password abbastanza lunga"})
				return err
			}},
		{service: "discussion", rpc: "VerifyEmail", allowed: everyone,
			call: func(ctx context.Context, f *fixture, _ target) error {
				_, err := f.discussion.VerifyEmail(ctx, &discussionv1.VerifyEmailRequest{Token: "nessuno-lo-ha-emesso"})
				return err
			}},
		// A wrong current password is INVALID_ARGUMENT: an answer to a
		// member, not a refusal; anonymous callers are refused first.
		{service: "discussion", rpc: "ChangePassword", allowed: members,
			call: func(ctx context.Context, f *fixture, _ target) error {
				_, err := f.discussion.ChangePassword(ctx, &discussionv1.ChangePasswordRequest{CurrentPassword: "non è la sua", NewPassword: "una password abbastanza lunga"})
				return err
			}},
		{service: "discussion", rpc: "SendVerificationEmail", allowed: members,
			call: func(ctx context.Context, f *fixture, _ target) error {
				_, err := f.discussion.SendVerificationEmail(ctx, &discussionv1.SendVerificationEmailRequest{})
				return err
			}},
		{service: "discussion", rpc: "RefreshSession", allowed: members,
			call: func(ctx context.Context, f *fixture, _ target) error {
				// The minted tokens come from no log-in: FailedPrecondition,
				// which is not a refusal of the caller.
				_, err := f.discussion.RefreshSession(ctx, &discussionv1.RefreshSessionRequest{})
				return err
			}},
		{service: "discussion", rpc: "DeleteSession", allowed: members,
			call: func(ctx context.Context, f *fixture, _ target) error {
				_, err := f.discussion.DeleteSession(ctx, &discussionv1.DeleteSessionRequest{})
				return err
			}},
		{service: "discussion", rpc: "UpdateMyProfile", allowed: members,
			call: func(ctx context.Context, f *fixture, _ target) error {
				_, err := f.discussion.UpdateMyProfile(ctx, &discussionv1.UpdateMyProfileRequest{Member: &discussionv1.Member{RoleTitle: "Funzionario"}, UpdateMask: mask("role_title")})
				return err
			}},
		{service: "discussion", rpc: "RequestAffiliation", allowed: members,
			call: func(ctx context.Context, f *fixture, _ target) error {
				_, err := f.discussion.RequestAffiliation(ctx, &discussionv1.RequestAffiliationRequest{OrganizationId: f.org("Regione Marche")})
				return err
			}},
		{service: "discussion", rpc: "DecideAffiliation", allowed: []persona{administrator},
			setup: func(t *testing.T, f *fixture) target {
				id, session := f.newcomer(t)
				try(f.discussion.RequestAffiliation(session, &discussionv1.RequestAffiliationRequest{OrganizationId: f.org("Regione Marche")})).must(t, "ask")
				return target{ids: map[string]string{"m": id}}
			},
			call: func(ctx context.Context, f *fixture, tg target) error {
				_, err := f.discussion.DecideAffiliation(ctx, &discussionv1.DecideAffiliationRequest{MemberId: tg.ids["m"], OrganizationId: f.org("Regione Marche"), Verify: true})
				return err
			}},
		{service: "discussion", rpc: "GrantRoles", allowed: []persona{administrator},
			setup: func(t *testing.T, f *fixture) target {
				id, _ := f.newcomer(t)
				return target{ids: map[string]string{"m": id}}
			},
			call: func(ctx context.Context, f *fixture, tg target) error {
				_, err := f.discussion.GrantRoles(ctx, &discussionv1.GrantRolesRequest{MemberId: tg.ids["m"], Roles: []discussionv1.Role{discussionv1.Role_ROLE_MODERATOR}})
				return err
			}},
		{service: "discussion", rpc: "RevokeRoles", allowed: []persona{administrator},
			setup: func(t *testing.T, f *fixture) target {
				id, _ := f.newcomer(t)
				try(f.discussion.GrantRoles(f.admin, &discussionv1.GrantRolesRequest{MemberId: id, Roles: []discussionv1.Role{discussionv1.Role_ROLE_MODERATOR}})).must(t, "grant")
				return target{ids: map[string]string{"m": id}}
			},
			call: func(ctx context.Context, f *fixture, tg target) error {
				_, err := f.discussion.RevokeRoles(ctx, &discussionv1.RevokeRolesRequest{MemberId: tg.ids["m"], Roles: []discussionv1.Role{discussionv1.Role_ROLE_MODERATOR}, Reason: "non modera più"})
				return err
			}},
		{service: "discussion", rpc: "BlockMember", allowed: []persona{administrator},
			setup: func(t *testing.T, f *fixture) target {
				id, _ := f.newcomer(t)
				return target{ids: map[string]string{"m": id}}
			},
			call: func(ctx context.Context, f *fixture, tg target) error {
				_, err := f.discussion.BlockMember(ctx, &discussionv1.BlockMemberRequest{MemberId: tg.ids["m"], Reason: "messaggi pubblicitari"})
				return err
			}},
		{service: "discussion", rpc: "UnblockMember", allowed: []persona{administrator},
			setup: func(t *testing.T, f *fixture) target {
				id, _ := f.newcomer(t)
				try(f.discussion.BlockMember(f.admin, &discussionv1.BlockMemberRequest{MemberId: id, Reason: "prova"})).must(t, "block")
				return target{ids: map[string]string{"m": id}}
			},
			call: func(ctx context.Context, f *fixture, tg target) error {
				_, err := f.discussion.UnblockMember(ctx, &discussionv1.UnblockMemberRequest{MemberId: tg.ids["m"], Reason: "chiarito"})
				return err
			}},
		{service: "discussion", rpc: "CreateThread", allowed: members,
			call: func(ctx context.Context, f *fixture, _ target) error {
				_, err := f.discussion.CreateThread(ctx, &discussionv1.CreateThreadRequest{Thread: &discussionv1.Thread{
					Scope: discussionv1.Scope_SCOPE_GENERAL, Title: fmt.Sprintf("Domanda %d", f.next()), Body: "Qualcuno sa?",
				}})
				return err
			}},
		{service: "discussion", rpc: "AddPost", allowed: members,
			setup: func(t *testing.T, f *fixture) target {
				return target{ids: map[string]string{"th": f.thread(t).GetId()}}
			},
			call: func(ctx context.Context, f *fixture, tg target) error {
				_, err := f.discussion.AddPost(ctx, &discussionv1.AddPostRequest{ThreadId: tg.ids["th"], Post: &discussionv1.Post{Body: "Rispondo."}})
				return err
			}},
		// The right persona of the posts' rows is their author.
		{service: "discussion", rpc: "EditPost", allowed: []persona{editorRight},
			setup: func(t *testing.T, f *fixture) target { return target{ids: map[string]string{"p": f.post(t).GetId()}} },
			call: func(ctx context.Context, f *fixture, tg target) error {
				_, err := f.discussion.EditPost(ctx, &discussionv1.EditPostRequest{Id: tg.ids["p"], Body: "Corretto."})
				return err
			}},
		{service: "discussion", rpc: "DeletePost", allowed: []persona{editorRight},
			setup: func(t *testing.T, f *fixture) target { return target{ids: map[string]string{"p": f.post(t).GetId()}} },
			call: func(ctx context.Context, f *fixture, tg target) error {
				_, err := f.discussion.DeletePost(ctx, &discussionv1.DeletePostRequest{Id: tg.ids["p"]})
				return err
			}},
		{service: "discussion", rpc: "ReportPost", allowed: members,
			setup: func(t *testing.T, f *fixture) target { return target{ids: map[string]string{"p": f.post(t).GetId()}} },
			call: func(ctx context.Context, f *fixture, tg target) error {
				_, err := f.discussion.ReportPost(ctx, &discussionv1.ReportPostRequest{Id: tg.ids["p"], Reason: "fuori tema"})
				return err
			}},
		{service: "discussion", rpc: "HidePost", allowed: []persona{moderator},
			setup: func(t *testing.T, f *fixture) target { return target{ids: map[string]string{"p": f.post(t).GetId()}} },
			call: func(ctx context.Context, f *fixture, tg target) error {
				_, err := f.discussion.HidePost(ctx, &discussionv1.ModeratePostRequest{Id: tg.ids["p"], Reason: "offensivo"})
				return err
			}},
		{service: "discussion", rpc: "RestorePost", allowed: []persona{moderator},
			setup: func(t *testing.T, f *fixture) target {
				p := f.post(t)
				try(f.discussion.HidePost(f.admin, &discussionv1.ModeratePostRequest{Id: p.GetId(), Reason: "da verificare"})).must(t, "hide")
				return target{ids: map[string]string{"p": p.GetId()}}
			},
			call: func(ctx context.Context, f *fixture, tg target) error {
				_, err := f.discussion.RestorePost(ctx, &discussionv1.ModeratePostRequest{Id: tg.ids["p"], Reason: "verificato"})
				return err
			}},
		{service: "discussion", rpc: "DismissReports", allowed: []persona{moderator},
			setup: func(t *testing.T, f *fixture) target {
				p := f.post(t)
				_, session := f.newcomer(t)
				try(f.discussion.ReportPost(session, &discussionv1.ReportPostRequest{Id: p.GetId(), Reason: "fuori tema"})).must(t, "report")
				return target{ids: map[string]string{"p": p.GetId()}}
			},
			call: func(ctx context.Context, f *fixture, tg target) error {
				_, err := f.discussion.DismissReports(ctx, &discussionv1.ModeratePostRequest{Id: tg.ids["p"], Reason: "segnalazione infondata"})
				return err
			}},
		{service: "discussion", rpc: "SubmitStory", allowed: members,
			call: func(ctx context.Context, f *fixture, _ target) error {
				_, err := f.discussion.SubmitStory(ctx, &discussionv1.SubmitStoryRequest{Story: &discussionv1.Story{
					Title: fmt.Sprintf("Storia %d", f.next()), Body: "Racconto.", PracticeId: demo.TosCaSlug,
				}})
				return err
			}},
		{service: "discussion", rpc: "PublishStory", allowed: []persona{moderator},
			setup: func(t *testing.T, f *fixture) target { return target{ids: map[string]string{"s": f.story(t).GetId()}} },
			call: func(ctx context.Context, f *fixture, tg target) error {
				_, err := f.discussion.PublishStory(ctx, &discussionv1.DecideStoryRequest{Id: tg.ids["s"]})
				return err
			}},
		{service: "discussion", rpc: "RejectStory", allowed: []persona{moderator},
			setup: func(t *testing.T, f *fixture) target { return target{ids: map[string]string{"s": f.story(t).GetId()}} },
			call: func(ctx context.Context, f *fixture, tg target) error {
				_, err := f.discussion.RejectStory(ctx, &discussionv1.DecideStoryRequest{Id: tg.ids["s"], Reason: "non pertinente"})
				return err
			}},

		// --- notification: every call is the caller's own ---
		{service: "notification", rpc: "PutFollow", allowed: members,
			call: func(ctx context.Context, f *fixture, _ target) error {
				_, err := f.notify.PutFollow(ctx, &notificationv1.PutFollowRequest{Kind: "practice", Id: f.tosCa.GetId()})
				return err
			}},
		{service: "notification", rpc: "DeleteFollow", allowed: members,
			call: func(ctx context.Context, f *fixture, _ target) error {
				_, err := f.notify.DeleteFollow(ctx, &notificationv1.DeleteFollowRequest{Kind: "practice", Id: f.tosCa.GetId()})
				return err
			}},
		{service: "notification", rpc: "MarkRead", allowed: members,
			call: func(ctx context.Context, f *fixture, _ target) error {
				_, err := f.notify.MarkRead(ctx, &notificationv1.MarkReadRequest{All: true})
				return err
			}},
		{service: "notification", rpc: "UpdatePreferences", allowed: members,
			call: func(ctx context.Context, f *fixture, _ target) error {
				_, err := f.notify.UpdatePreferences(ctx, &notificationv1.UpdatePreferencesRequest{Preferences: &notificationv1.Preferences{Language: "it"}})
				return err
			}},
		{service: "notification", rpc: "WatchNotifications", allowed: members,
			call: func(ctx context.Context, f *fixture, _ target) error {
				ctx, cancel := context.WithCancel(ctx)
				defer cancel()
				stream, err := f.notify.WatchNotifications(ctx, &notificationv1.WatchNotificationsRequest{})
				if err == nil {
					_, err = stream.Recv() // the first message, or the refusal
				}
				return err
			}},
		// Unsubscribe acts by the e-mail's signed token, not by a session:
		// anyone holding the link may use it.
		{service: "notification", rpc: "Unsubscribe", allowed: everyone,
			call: func(ctx context.Context, f *fixture, _ target) error {
				key, err := f.st.UnsubscribeKey()
				if err != nil {
					return err
				}
				_, err = f.notify.Unsubscribe(ctx, &notificationv1.UnsubscribeRequest{Token: notification.UnsubscribeToken(key, f.members[member])})
				return err
			}},
	}
}

// transition is the row of a twinning state move, from a twinning brought
// to its state by moves.
func transition(rpc string, moves []string, hidden bool, allowed []persona,
	call func(twinningv1.TwinningServiceClient, context.Context, *twinningv1.TransitionTwinningRequest, ...grpc.CallOption) (*twinningv1.Twinning, error)) row {
	return row{service: "twinning", rpc: rpc, allowed: allowed, hidden: hidden,
		setup: func(t *testing.T, f *fixture) target {
			return target{ids: map[string]string{"tw": f.twinningIn(t, moves...).GetId()}}
		},
		call: func(ctx context.Context, f *fixture, tg target) error {
			_, err := call(f.twinning, ctx, &twinningv1.TransitionTwinningRequest{Id: tg.ids["tw"], Reason: "motivo"})
			return err
		}}
}

// reportIn drafts a report of an active twinning of Regione Toscana, moved
// on by the demo loader as moves say.
func (f *fixture) reportIn(t *testing.T, moves ...string) target {
	t.Helper()
	tw := f.twinningIn(t, toActive...)
	r := try(f.reports.CreateReport(f.admin, &twinningv1.CreateReportRequest{
		TwinningId: tw.GetId(), Kind: twinningv1.ReportKind_REPORT_KIND_QUARTERLY, Quarter: "2025-Q1",
	})).must(t, "draft a report")
	for _, m := range moves {
		if m == "submit" {
			try(f.reports.SubmitReport(f.admin, &twinningv1.TransitionReportRequest{TwinningId: tw.GetId(), Id: r.GetId()})).must(t, "submit the report")
		}
	}
	return target{ids: map[string]string{"tw": tw.GetId(), "r": r.GetId()}}
}

// reportMove is the row of a report's state move.
func reportMove(rpc string, moves []string, allowed []persona,
	call func(twinningv1.ReportServiceClient, context.Context, *twinningv1.TransitionReportRequest, ...grpc.CallOption) (*twinningv1.Report, error)) row {
	return row{service: "report", rpc: rpc, allowed: allowed, hidden: true,
		setup: func(t *testing.T, f *fixture) target { return f.reportIn(t, moves...) },
		call: func(ctx context.Context, f *fixture, tg target) error {
			_, err := call(f.reports, ctx, &twinningv1.TransitionReportRequest{TwinningId: tg.ids["tw"], Id: tg.ids["r"], Reason: "da completare"})
			return err
		}}
}

// TestReadRules: public content for anyone, drafts for their editors and
// coordinators, hidden posts for moderators.
func TestReadRules(t *testing.T) {
	f := newFixture(t)
	right := []string{f.org("Regione Toscana")}
	draft := f.draftPractice(t)
	tw := f.twinningIn(t)
	post := f.post(t)
	try(f.discussion.HidePost(f.admin, &discussionv1.ModeratePostRequest{Id: post.GetId(), Reason: "da verificare"})).must(t, "hide")

	for _, p := range []persona{anonymous, member, editorOther, moderator, administrator, editorRight, coordinator} {
		ctx := f.as(t, p, right)
		_, errPractice := f.catalog.GetPractice(ctx, &catalogv1.GetPracticeRequest{Id: draft.GetId()})
		_, errTwinning := f.twinning.GetTwinning(ctx, &twinningv1.GetTwinningRequest{Id: tw.GetId()})
		// A draft's lineage is as hidden as the draft.
		_, errLineage := f.catalog.GetPracticeLineage(ctx, &catalogv1.GetPracticeLineageRequest{Id: draft.GetId()})
		if sees(p) {
			if errPractice != nil || errTwinning != nil || errLineage != nil {
				t.Errorf("%s does not see the drafts: %v / %v / %v", p, errPractice, errTwinning, errLineage)
			}
		} else if status.Code(errPractice) != codes.NotFound || status.Code(errTwinning) != codes.NotFound || status.Code(errLineage) != codes.NotFound {
			t.Errorf("%s sees a draft: %v / %v / %v", p, errPractice, errTwinning, errLineage)
		}
		practices := try(f.catalog.ListPractices(ctx, &catalogv1.ListPracticesRequest{PageSize: 100})).must(t, "list practices")
		listed := slices.ContainsFunc(practices.GetPractices(), func(x *catalogv1.Practice) bool { return x.GetId() == draft.GetId() })
		twinnings := try(f.twinning.ListTwinnings(ctx, &twinningv1.ListTwinningsRequest{PageSize: 100})).must(t, "list twinnings")
		listedTw := slices.ContainsFunc(twinnings.GetTwinnings(), func(x *twinningv1.Twinning) bool { return x.GetId() == tw.GetId() })
		if listed != sees(p) || listedTw != sees(p) {
			t.Errorf("%s: draft practice listed %v, draft twinning listed %v", p, listed, listedTw)
		}
		if !slices.ContainsFunc(practices.GetPractices(), func(x *catalogv1.Practice) bool { return x.GetId() == f.tosCa.GetId() }) {
			t.Errorf("%s does not see the published Tos.Ca.", p)
		}

		posts := try(f.discussion.ListPosts(ctx, &discussionv1.ListPostsRequest{ThreadId: post.GetThreadId()})).must(t, "list posts")
		shown := slices.ContainsFunc(posts.GetPosts(), func(x *discussionv1.Post) bool { return x.GetId() == post.GetId() })
		if shown != (p == moderator) {
			t.Errorf("%s: hidden post shown %v", p, shown)
		}
	}
}

// TestReadmeCurlExamples runs the README's examples: creating a practice
// without a token is 401, with a plain member's token 403, with the right
// editor's 200.
func TestReadmeCurlExamples(t *testing.T) {
	f := newFixture(t)
	base := f.st.GatewayURL()
	login := func(email string) string {
		t.Helper()
		status, body := post(t, base+"/v1/sessions", "", `{"email":"`+email+`","password":"`+demo.AccountPassword+`"}`)
		if status != 200 {
			t.Fatalf("log in as %s: %d %s", email, status, body)
		}
		_, token, _ := strings.Cut(body, `"token":"`)
		token, _, _ = strings.Cut(token, `"`)
		return token
	}
	practice := `{"title":"Sportello unico digitale","owner_organization_ids":["` + f.org("Regione Toscana") + `"]}`
	if status, body := post(t, base+"/v1/practices", "", practice); status != 401 || statusCode(body) != codes.Unauthenticated {
		t.Errorf("without a token: %d %s", status, body)
	}
	if status, body := post(t, base+"/v1/practices", login("member@demo.gemella.test"), practice); status != 403 || statusCode(body) != codes.PermissionDenied {
		t.Errorf("a member: %d %s", status, body)
	}
	if status, body := post(t, base+"/v1/practices", login("editor.toscana@demo.gemella.test"), practice); status != 200 || !strings.Contains(body, "PRACTICE_STATUS_DRAFT") {
		t.Errorf("the editor of Regione Toscana: %d %s", status, body)
	}
}

// statusCode is the gRPC code of an error body (a google.rpc.Status).
func statusCode(body string) codes.Code {
	var st struct{ Code int32 }
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		return codes.Unknown
	}
	return codes.Code(st.Code)
}

func post(t *testing.T, url, token, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw)
}
