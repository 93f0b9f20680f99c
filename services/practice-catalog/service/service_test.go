package service_test

import (
	"github.com/gemella/gemella/services/platform/apperr/errbody"
	"github.com/gemella/gemella/services/platform/config"

	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	gateway "github.com/gemella/gemella/gateway/server"
	catalogv1 "github.com/gemella/gemella/proto/gemella/catalog/v1"
	eventsv1 "github.com/gemella/gemella/proto/gemella/events/v1"
	"github.com/gemella/gemella/services/platform/auth"
	"github.com/gemella/gemella/services/platform/embedded"
	"github.com/gemella/gemella/services/platform/grpcx"
	"github.com/gemella/gemella/services/practice-catalog/service"
)

type env struct {
	nats    *embedded.NATS
	svc     *service.Service
	stopSvc context.CancelFunc
	svcDone chan error
	client  catalogv1.CatalogServiceClient
	conn    *grpc.ClientConn
	baseURL string
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func start(t *testing.T) *env {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: needs the embedded FerretDB and NATS")
	}
	return startOn(t, embedded.FerretDBForTest(t).URI())
}

// startOn starts the catalog and the gateway on the store at mongoURI.
func startOn(t *testing.T, mongoURI string) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{nats: embedded.NATSForTest(t)}
	cfg := service.DefaultConfig()
	cfg.GRPC.Addr = "127.0.0.1:0"
	cfg.Mongo.URI = mongoURI
	cfg.Mongo.DocLocks = config.DocLocksLease // the embedded FerretDB writes non-atomically
	cfg.NATS.URL = e.nats.URL()
	cfg.Auth.PublicKeys = testStaff.publicKey()
	svc, err := service.New(ctx, cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Listen(); err != nil {
		t.Fatal(err)
	}
	e.svc = svc
	svcCtx, cancel := context.WithCancel(ctx)
	e.stopSvc, e.svcDone = cancel, make(chan error, 1)
	go func() { e.svcDone <- svc.Run(svcCtx) }()
	t.Cleanup(e.stopService)
	waitReady(t, svc)

	gcfg := gateway.DefaultConfig()
	gcfg.HTTPAddr = "127.0.0.1:0"
	gcfg.CatalogAddr = svc.Addr()
	gcfg.TwinningAddr, gcfg.DiscussionAddr = gateway.BackendDisabled, gateway.BackendDisabled
	gcfg.NATSURL = e.nats.URL()
	gw, err := gateway.New(ctx, gcfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	if err := gw.Listen(); err != nil {
		t.Fatal(err)
	}
	gwCtx, gwCancel := context.WithCancel(ctx)
	gwDone := make(chan struct{})
	go func() { _ = gw.Run(gwCtx); close(gwDone) }()
	t.Cleanup(func() { gwCancel(); <-gwDone; _ = gw.Close() })
	e.baseURL = "http://" + gw.Addr()

	conn, err := grpcx.Dial(svc.Addr(), 10*time.Second, testStaff.dialOption())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	e.client, e.conn = catalogv1.NewCatalogServiceClient(conn), conn
	return e
}

// waitReady waits, bounded, until svc is SERVING: connected to its store
// and NATS, its indexes and streams declared.
func waitReady(t *testing.T, svc interface{ WaitReady(context.Context) error }) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := svc.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
}

func (e *env) stopService() {
	if e.stopSvc != nil {
		e.stopSvc()
		<-e.svcDone
		e.stopSvc = nil
	}
}

type httpResult struct {
	status int
	header http.Header
	body   map[string]any
}

func (e *env) do(t *testing.T, method, path, body string, headers ...string) httpResult {
	t.Helper()
	req, err := http.NewRequest(method, e.baseURL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	testStaff.authorize(req)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := httpResult{status: resp.StatusCode, header: resp.Header}
	if err := json.Unmarshal(raw, &out.body); err != nil {
		t.Fatalf("%s %s: body is not JSON: %s", method, path, raw)
	}
	testStaff.sawCreated(method, path, out.status, out.body)
	return out
}

func (r httpResult) errorFields() []string {
	var fields []string
	for _, v := range errbody.BadRequestViolations(r.body) {
		f, _ := v["field"].(string)
		fields = append(fields, f)
	}
	return fields
}

func (r httpResult) errorStatus() string { return errbody.StatusName(r.body) }

func (r httpResult) message() string {
	s, _ := r.body["message"].(string)
	return s
}

func TestRESTErrorsOverTheRealStack(t *testing.T) {
	e := start(t)
	org := e.do(t, "POST", "/v1/organizations", `{"name":"Regione Toscana","kind":"ORGANIZATION_KIND_REGION","territory":{"code":"ITI1","name":"Toscana"}}`)
	if org.status != 200 {
		t.Fatalf("create organisation: %d %v", org.status, org.body)
	}
	orgID := org.body["id"].(string)
	created := e.do(t, "POST", "/v1/practices", fmt.Sprintf(`{"title":"Tos.Ca. competenze","owner_organization_ids":[%q]}`, orgID))
	if created.status != 200 || created.body["status"] != "PRACTICE_STATUS_DRAFT" {
		t.Fatalf("create practice: %d %v", created.status, created.body)
	}
	id := created.body["id"].(string)
	etag := created.body["etag"].(string)

	cases := []struct {
		name, method, path, body string
		headers                  []string
		status                   int
		grpcStatus               string
		fields                   []string
		inMessage                string
	}{
		{name: "empty practice names title", method: "POST", path: "/v1/practices", body: `{}`, status: 400, grpcStatus: "INVALID_ARGUMENT", fields: []string{"title", "owner_organization_ids"}},
		{name: "every bad field at once", method: "POST", path: "/v1/practices", body: fmt.Sprintf(`{"title":"x","owner_organization_ids":[%q],"start_date":"yesterday","languages":["Italian"],"models":[{"code":"a"}]}`, orgID), status: 400, fields: []string{"start_date", "languages[0]", "models[0].code", "models[0].title"}},
		{name: "unknown owner", method: "POST", path: "/v1/practices", body: `{"title":"Orphan","owner_organization_ids":["nobody"]}`, status: 400, fields: []string{"owner_organization_ids[0]"}},
		{name: "unknown id", method: "GET", path: "/v1/practices/does-not-exist", status: 404, grpcStatus: "NOT_FOUND"},
		{name: "unknown organisation", method: "GET", path: "/v1/organizations/does-not-exist", status: 404},
		{name: "duplicate slug", method: "POST", path: "/v1/practices", body: fmt.Sprintf(`{"title":"Tos.Ca. competenze","owner_organization_ids":[%q]}`, orgID), status: 409, grpcStatus: "ALREADY_EXISTS"},
		{name: "illegal move names the state", method: "POST", path: "/v1/practices/" + id + ":publish", body: `{}`, status: 409, grpcStatus: "FAILED_PRECONDITION", inMessage: "is draft"},
		{name: "stale etag in body", method: "PATCH", path: "/v1/practices/" + id, body: `{"summary":"new","etag":"\"99\""}`, status: 412, grpcStatus: "ABORTED"},
		{name: "stale etag in If-Match", method: "PATCH", path: "/v1/practices/" + id, body: `{"summary":"new"}`, headers: []string{"If-Match", `"42"`}, status: 412},
		{name: "bad page size", method: "GET", path: "/v1/practices?page_size=-1", status: 400, fields: []string{"page_size"}},
		{name: "forged page token", method: "GET", path: "/v1/practices?page_token=abc", status: 400, fields: []string{"page_token"}},
		{name: "unknown JSON field", method: "POST", path: "/v1/practices", body: `{"titel":"typo"}`, status: 400},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.do(t, c.method, c.path, c.body, c.headers...)
			if r.status != c.status {
				t.Fatalf("status = %d, want %d: %v", r.status, c.status, r.body)
			}
			if c.grpcStatus != "" && r.errorStatus() != c.grpcStatus {
				t.Fatalf("error status = %q, want %q", r.errorStatus(), c.grpcStatus)
			}
			got := strings.Join(r.errorFields(), ",")
			for _, f := range c.fields {
				if !strings.Contains(","+got+",", ","+f+",") {
					t.Errorf("field %q not named; violations: %s", f, got)
				}
			}
			if c.inMessage != "" && !strings.Contains(r.message(), c.inMessage) {
				t.Errorf("message %q does not say %q", r.message(), c.inMessage)
			}
		})
	}

	// Nothing refused above changed the practice; a fresh etag works.
	ok := e.do(t, "PATCH", "/v1/practices/"+id, `{"summary":"Una sintesi"}`, "If-Match", etag)
	if ok.status != 200 || ok.body["summary"] != "Una sintesi" || ok.body["title"] != "Tos.Ca. competenze" || ok.body["etag"] == etag {
		t.Fatalf("patch with the current etag: %d %v", ok.status, ok.body)
	}
	bySlug := e.do(t, "GET", "/v1/practices/tos-ca-competenze", "")
	if bySlug.status != 200 || bySlug.body["id"] != id {
		t.Fatalf("get by slug: %d %v", bySlug.status, bySlug.body)
	}

	// With the catalog down the gateway answers 503, not 500.
	e.stopService()
	down := e.do(t, "GET", "/v1/practices/"+id, "")
	if down.status != 503 || down.errorStatus() != "UNAVAILABLE" {
		t.Fatalf("catalog down: %d %v", down.status, down.body)
	}
}

// publishPractice walks a fresh practice from draft to published over gRPC.
func publishPractice(ctx context.Context, t *testing.T, c catalogv1.CatalogServiceClient, orgID string, n int) {
	t.Helper()
	p, err := c.CreatePractice(ctx, &catalogv1.CreatePracticeRequest{Practice: &catalogv1.Practice{
		Title: fmt.Sprintf("Pratica %d", n), Summary: "s", Description: "d", Problem: "p", Results: "r",
		OwnerOrganizationIds: []string{orgID}, Themes: []string{"lavoro"}, Languages: []string{"it"},
		Models: []*catalogv1.Model{{Code: "A", Title: "Modello A"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.SubmitPractice(ctx, &catalogv1.SubmitPracticeRequest{Id: p.Id}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PublishPractice(ctx, &catalogv1.PublishPracticeRequest{Id: p.Id}); err != nil {
		t.Fatal(err)
	}
}

// streamEvents reads every message of the catalog stream.
func streamEvents(t *testing.T, url string) []*eventsv1.Envelope {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stream, err := js.Stream(ctx, service.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []*eventsv1.Envelope
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		msg, err := stream.GetMsg(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		var env eventsv1.Envelope
		if err := proto.Unmarshal(msg.Data, &env); err != nil {
			t.Fatal(err)
		}
		if msg.Header.Get("Nats-Msg-Id") != env.EventId {
			t.Fatalf("Nats-Msg-Id %q is not the event id %q", msg.Header.Get("Nats-Msg-Id"), env.EventId)
		}
		out = append(out, &env)
	}
	return out
}

func countBySubject(evs []*eventsv1.Envelope) (map[string]int, bool) {
	counts := map[string]int{}
	ids := map[string]bool{}
	unique := true
	for _, e := range evs {
		counts[e.Type]++
		if ids[e.EventId] {
			unique = false
		}
		ids[e.EventId] = true
	}
	return counts, unique
}

func waitForEvents(t *testing.T, url string, want map[string]int) []*eventsv1.Envelope {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		evs := streamEvents(t, url)
		counts, _ := countBySubject(evs)
		done := true
		for subj, n := range want {
			if counts[subj] < n {
				done = false
			}
		}
		if done || time.Now().After(deadline) {
			return evs
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestOutboxPublishesEachEventExactlyOnceAcrossANATSRestart(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	org, err := e.client.CreateOrganization(ctx, &catalogv1.CreateOrganizationRequest{Organization: &catalogv1.Organization{Name: "Regione Calabria", Kind: catalogv1.OrganizationKind_ORGANIZATION_KIND_REGION}})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		publishPractice(ctx, t, e.client, org.Id, i)
	}
	evs := waitForEvents(t, e.nats.URL(), map[string]int{"catalog.practice.published": 3})
	if counts, _ := countBySubject(evs); counts["catalog.practice.published"] != 3 || counts["catalog.organisation.created"] != 1 {
		t.Fatalf("before the restart: %v", counts)
	}

	// NATS goes away; writes keep succeeding and their events wait in MongoDB.
	e.nats.Shutdown()
	for i := 3; i < 6; i++ {
		publishPractice(ctx, t, e.client, org.Id, i)
	}
	if err := e.nats.Restart(); err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"catalog.organisation.created": 1, "catalog.practice.submitted": 6, "catalog.practice.published": 6}
	evs = waitForEvents(t, e.nats.URL(), want)
	// Give a late duplicate the chance to show up before counting.
	time.Sleep(2500 * time.Millisecond)
	evs = streamEvents(t, e.nats.URL())
	counts, unique := countBySubject(evs)
	for subj, n := range want {
		if counts[subj] != n {
			t.Errorf("%s: %d messages on the stream, want exactly %d", subj, counts[subj], n)
		}
	}
	if !unique || len(evs) != 13 {
		t.Fatalf("stream holds %d messages (unique ids: %v), want 13 distinct", len(evs), unique)
	}
	for _, ev := range evs {
		if ev.Type == "catalog.practice.published" {
			var p eventsv1.PracticePublished
			if err := ev.Payload.UnmarshalTo(&p); err != nil || p.Practice.GetStatus() != catalogv1.PracticeStatus_PRACTICE_STATUS_PUBLISHED || ev.AggregateId != p.Practice.GetId() {
				t.Fatalf("published event carries %v (%v)", p.Practice, err)
			}
		}
	}
}

func TestWritesNeedTheRightIdentityAndDraftsStayPrivateOverREST(t *testing.T) {
	e := start(t)
	org := e.do(t, "POST", "/v1/organizations", `{"name":"Regione Toscana","kind":"ORGANIZATION_KIND_REGION"}`)
	orgID := org.body["id"].(string)
	body := fmt.Sprintf(`{"title":"Bozza riservata","owner_organization_ids":[%q]}`, orgID)
	editor := "Bearer " + testStaff.tokenOf(auth.Caller{MemberID: "ed", Roles: []string{auth.RoleMember, auth.RoleEditor}, Organizations: []string{orgID}})
	member := "Bearer " + testStaff.tokenOf(auth.Caller{MemberID: "m", Roles: []string{auth.RoleMember}})
	other, _ := auth.GenerateKey()
	otherIssuer, _ := auth.NewIssuer(other, time.Hour)
	foreign, _, _ := otherIssuer.Issue(auth.Caller{MemberID: "ed", Roles: []string{auth.RoleMember, auth.RoleEditor}, Organizations: []string{orgID}})

	// status calls the gateway with exactly the authorization given ("" for none).
	status := func(method, path, body, authorization string) int {
		t.Helper()
		req, _ := http.NewRequest(method, e.baseURL+path, strings.NewReader(body))
		if authorization != "" {
			req.Header.Set("Authorization", authorization)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		return resp.StatusCode
	}
	for name, tt := range map[string]struct {
		authorization string
		status        int
	}{
		"no token": {"", 401}, "a token of another key": {"Bearer " + foreign, 401}, "a member": {member, 403},
	} {
		if got := status("POST", "/v1/practices", body, tt.authorization); got != tt.status {
			t.Errorf("create a practice with %s: %d, want %d", name, got, tt.status)
		}
	}
	created := e.do(t, "POST", "/v1/practices", body, "Authorization", editor)
	if created.status != 200 {
		t.Fatalf("create as the owner's editor: %d %v", created.status, created.body)
	}
	id := created.body["id"].(string)
	for name, tt := range map[string]struct {
		authorization string
		status        int
	}{
		"anonymous": {"", 404}, "a member": {member, 404}, "the owner's editor": {editor, 200},
	} {
		if got := status("GET", "/v1/practices/"+id, "", tt.authorization); got != tt.status {
			t.Errorf("%s reads the draft: %d, want %d", name, got, tt.status)
		}
	}
	list := e.do(t, "GET", "/v1/practices", "", "Authorization", member)
	if items, _ := list.body["practices"].([]any); list.status != 200 || len(items) != 0 {
		t.Errorf("a member lists drafts: %d %v", list.status, list.body)
	}
	if got := status("POST", "/v1/practices/"+id+":submit", `{}`, member); got != 404 {
		t.Errorf("a member submits a draft they cannot see: %d", got)
	}
	if got := status("POST", "/v1/practices/"+id+":publish", `{}`, editor); got != 403 {
		t.Errorf("the editor publishes: %d", got)
	}
}
