package apitest

import (
	"context"
	"crypto/ed25519"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/gemella/gemella/deploy/devstack/demo"
	gateway "github.com/gemella/gemella/gateway/server"
	catalogv1 "github.com/gemella/gemella/proto/gemella/catalog/v1"
	discussionv1 "github.com/gemella/gemella/proto/gemella/discussion/v1"
	twinningv1 "github.com/gemella/gemella/proto/gemella/twinning/v1"
	discussion "github.com/gemella/gemella/services/discussion/service"
	"github.com/gemella/gemella/services/platform/auth"
	"github.com/gemella/gemella/services/platform/config"
	"github.com/gemella/gemella/services/platform/grpcx"
	catalog "github.com/gemella/gemella/services/practice-catalog/service"
	twinning "github.com/gemella/gemella/services/twinning/service"
)

// api is the gateway in front of the three in-memory services, with a
// little data: an organisation and a published practice, a need and an
// offer, a twinning with a transfer, a member with a thread and a post.
type api struct {
	base   string
	issuer *auth.Issuer
	// admin is a bearer token with every role, editor of the organisation.
	admin string
	ids   map[string]string
	// pub verifies the session tokens; addrs are the three services'.
	pub   ed25519.PublicKey
	addrs map[string]string

	catalog    catalogv1.CatalogServiceClient
	twinning   twinningv1.TwinningServiceClient
	reports    twinningv1.ReportServiceClient
	discussion discussionv1.DiscussionServiceClient
}

const callTimeout = 10 * time.Second

type servable interface {
	Listen() error
	Addr() string
	Run(context.Context) error
}

// run serves svc until the test ends.
func run(t *testing.T, name string, svc servable) string {
	t.Helper()
	if err := svc.Listen(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("%s stopped: %v", name, err)
		}
	})
	return svc.Addr()
}

func dial(t *testing.T, addr string) *grpc.ClientConn {
	t.Helper()
	conn, err := grpcx.Dial(addr, callTimeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

func startAPI(t *testing.T) *api {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	key, err := auth.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	issuer, err := auth.NewIssuer(key, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	pub := key.Public().(ed25519.PublicKey)

	cat, err := catalog.NewInMemory(config.GRPCServer{Addr: "127.0.0.1:0"}, quiet, pub)
	if err != nil {
		t.Fatal(err)
	}
	catAddr := run(t, "catalog", cat)
	tw, err := twinning.NewInMemory(config.GRPCServer{Addr: "127.0.0.1:0"}, catAddr, quiet, pub)
	if err != nil {
		t.Fatal(err)
	}
	twAddr := run(t, "twinning", tw)
	dcfg := discussion.DefaultConfig()
	dcfg.GRPC.Addr = "127.0.0.1:0"
	pem, err := auth.MarshalPrivateKeyPEM(key)
	if err != nil {
		t.Fatal(err)
	}
	dcfg.Auth = auth.KeyConfig{PrivateKey: string(pem)}
	disc, err := discussion.NewInMemory(dcfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	discAddr := run(t, "discussion", disc)

	gcfg := gateway.DefaultConfig()
	gcfg.HTTPAddr = "127.0.0.1:0"
	gcfg.CatalogAddr, gcfg.TwinningAddr, gcfg.DiscussionAddr = catAddr, twAddr, discAddr
	gcfg.NotificationAddr = startNotification(t, pub, catAddr, twAddr, discAddr, quiet)
	gcfg.NATSURL = gateway.BackendDisabled
	// The table sends hundreds of writes from one address.
	gcfg.WritePerMinute, gcfg.WriteBurst = 100000, 100000
	gcfg.RegisterPerMinute, gcfg.RegisterBurst = 100000, 100000
	gcfg.LoginPerMinute, gcfg.LoginBurst = 100000, 100000
	a := &api{
		base: serveGateway(t, gcfg, quiet), issuer: issuer, ids: map[string]string{}, pub: pub,
		addrs:      map[string]string{"catalog": catAddr, "twinning": twAddr, "discussion": discAddr},
		catalog:    catalogv1.NewCatalogServiceClient(dial(t, catAddr)),
		twinning:   twinningv1.NewTwinningServiceClient(dial(t, twAddr)),
		reports:    twinningv1.NewReportServiceClient(dial(t, twAddr)),
		discussion: discussionv1.NewDiscussionServiceClient(dial(t, discAddr)),
	}
	a.seed(t, disc.GrantRoles)
	// The demo moderator follows Tos.Ca., so that reading that follow
	// answers 200.
	if r := a.send(t, http.MethodPut, "/v1/me/follows/twinning/"+a.ids["twinning"], "{}", map[string]string{"Authorization": "Bearer " + a.memberToken(t)}); r.status != http.StatusOK {
		t.Fatalf("follow Tos.Ca.: %d %s", r.status, r.body)
	}
	return a
}

// serveGateway runs a gateway until the test ends and returns its URL.
func serveGateway(t *testing.T, gcfg gateway.Config, quiet *slog.Logger) string {
	t.Helper()
	gw, err := gateway.New(context.Background(), gcfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	if err := gw.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	gwDone := make(chan error, 1)
	go func() { gwDone <- gw.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-gwDone; err != nil {
			t.Errorf("gateway: %v", err)
		}
		_ = gw.Close()
	})
	return "http://" + gw.Addr()
}

// token signs a token of a member with every role, editor of orgIDs.
func (a *api) token(t *testing.T, orgIDs ...string) string {
	t.Helper()
	tok, _, err := a.issuer.Issue(auth.Caller{
		MemberID: "apitest-admin", DisplayName: "API test",
		Roles:         []string{auth.RoleMember, auth.RoleEditor, auth.RoleCoordinator, auth.RoleModerator, auth.RoleAdministrator},
		Organizations: orgIDs,
	})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// seed loads the demo data through the services' gRPC APIs, as make run
// does, and notes an id of each kind of resource.
func (a *api) seed(t *testing.T, grant demo.GrantFunc) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	asAdmin := auth.WithBearerToken(ctx, a.token(t))
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("seed %s: %v", what, err)
		}
	}
	must("catalogue", demo.Load(asAdmin, a.catalog, quiet, demo.AsEditorOf(func(_ context.Context, orgIDs []string) (context.Context, error) {
		return auth.WithBearerToken(ctx, a.token(t, orgIDs...)), nil
	})))
	orgs, err := a.catalog.ListOrganizations(asAdmin, &catalogv1.ListOrganizationsRequest{PageSize: 100})
	must("organisations", err)
	var orgIDs []string
	for _, o := range orgs.GetOrganizations() {
		orgIDs = append(orgIDs, o.GetId())
	}
	a.admin = a.token(t, orgIDs...)
	asStaff := auth.WithBearerToken(ctx, a.admin)
	must("twinnings", demo.LoadTwinnings(asStaff, a.twinning, a.catalog, quiet))
	must("needs and offers", demo.LoadSeekOffer(asStaff, a.catalog, quiet))
	must("community", demo.LoadCommunity(ctx, a.discussion, grant, quiet))
	must("accounts", demo.LoadAccounts(asAdmin, a.discussion, a.catalog, quiet))

	a.ids["organization"] = orgIDs[0]
	practices, err := a.catalog.ListPractices(ctx, &catalogv1.ListPracticesRequest{})
	must("practices", err)
	a.ids["practice"], a.ids["practice_slug"] = practices.GetPractices()[0].GetId(), practices.GetPractices()[0].GetSlug()
	tw, err := a.twinning.GetTwinning(ctx, &twinningv1.GetTwinningRequest{Id: demo.TosCaCode})
	must("Tos.Ca.", err)
	a.ids["twinning"] = tw.GetId()
	if len(tw.GetTransfers()) > 0 {
		a.ids["transfer"] = tw.GetTransfers()[0].GetId()
	}
	if len(tw.GetActivities()) > 0 {
		a.ids["activity"] = tw.GetActivities()[0].GetId()
	}
	// An approved report of Tos.Ca., public like the twinning.
	rep, err := a.reports.CreateReport(asStaff, &twinningv1.CreateReportRequest{TwinningId: tw.GetId(), Kind: twinningv1.ReportKind_REPORT_KIND_QUARTERLY, Quarter: "2015-Q2"})
	must("report", err)
	_, err = a.reports.SubmitReport(asStaff, &twinningv1.TransitionReportRequest{TwinningId: tw.GetId(), Id: rep.GetId()})
	must("submit the report", err)
	_, err = a.reports.ApproveReport(asStaff, &twinningv1.TransitionReportRequest{TwinningId: tw.GetId(), Id: rep.GetId()})
	must("approve the report", err)
	a.ids["report"] = rep.GetId()
	needs, err := a.catalog.ListNeeds(ctx, &catalogv1.ListNeedsRequest{})
	must("needs", err)
	a.ids["need"] = needs.GetNeeds()[0].GetId()
	offers, err := a.catalog.ListOffers(ctx, &catalogv1.ListOffersRequest{})
	must("offers", err)
	a.ids["offer"] = offers.GetOffers()[0].GetId()
	threads, err := a.discussion.ListThreads(ctx, &discussionv1.ListThreadsRequest{})
	must("threads", err)
	a.ids["thread"] = threads.GetThreads()[0].GetId()
	posts, err := a.discussion.ListPosts(ctx, &discussionv1.ListPostsRequest{ThreadId: a.ids["thread"]})
	must("posts", err)
	a.ids["post"] = posts.GetPosts()[0].GetId()
	a.ids["member"] = posts.GetPosts()[0].GetAuthorId()
	stories, err := a.discussion.ListStories(ctx, &discussionv1.ListStoriesRequest{})
	must("stories", err)
	if len(stories.GetStories()) > 0 {
		a.ids["story"] = stories.GetStories()[0].GetId()
	}
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

var client = &http.Client{Timeout: 20 * time.Second}

// send makes one request; a nil header map sends none.
func (a *api) send(t *testing.T, method, target, body string, header map[string]string) reply {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, a.base+target, rd)
	if err != nil {
		// A few targets are not even a URL Go's client accepts.
		t.Fatalf("request %s %q: %v", method, target, err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: raw}
}

// memberToken logs the demo moderator in.
// adminToken is a session token of the demo administrator.
func (a *api) adminToken(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), callTimeout)
	defer cancel()
	s, err := a.discussion.CreateSession(ctx, &discussionv1.CreateSessionRequest{Email: "admin@demo.gemella.test", Password: demo.AccountPassword})
	if err != nil {
		t.Fatalf("log in the demo administrator: %v", err)
	}
	return s.GetToken()
}

func (a *api) memberToken(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), callTimeout)
	defer cancel()
	s, err := a.discussion.CreateSession(ctx, &discussionv1.CreateSessionRequest{Email: demo.DemoModeratorEmail, Password: demo.DemoPassword})
	if err != nil {
		t.Fatalf("log in the demo moderator: %v", err)
	}
	return s.GetToken()
}
