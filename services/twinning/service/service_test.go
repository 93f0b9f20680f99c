package service_test

import (
	"github.com/gemella/gemella/services/platform/apperr/errbody"
	"github.com/gemella/gemella/services/platform/config"

	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	gateway "github.com/gemella/gemella/gateway/server"
	catalogv1 "github.com/gemella/gemella/proto/gemella/catalog/v1"
	eventsv1 "github.com/gemella/gemella/proto/gemella/events/v1"
	"github.com/gemella/gemella/services/platform/auth"
	"github.com/gemella/gemella/services/platform/embedded"
	"github.com/gemella/gemella/services/platform/grpcx"
	catalog "github.com/gemella/gemella/services/practice-catalog/service"
	"github.com/gemella/gemella/services/twinning/service"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// running is a service started by a test, stopped by cancel.
type running struct {
	cancel context.CancelFunc
	done   chan error
}

func (r *running) stop() {
	if r != nil && r.cancel != nil {
		r.cancel()
		<-r.done
		r.cancel = nil
	}
}

func run(t *testing.T, listen func() error, serve func(ctx context.Context) error) *running {
	t.Helper()
	if err := listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- serve(ctx) }()
	t.Cleanup(r.stop)
	return r
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

// stack is the real thing: the catalogue and the twinning service on one
// embedded NATS and one embedded FerretDB, behind the real gateway.
type stack struct {
	nats       *embedded.NATS
	catalogCfg catalog.Config
	catalog    *running
	twinning   *running
	catalogRPC catalogv1.CatalogServiceClient
	baseURL    string

	// issuer signs the tests' session tokens with the key both services
	// verify; staff is a token of a coordinator who edits the four
	// seeded organisations, sent by do unless a test says otherwise.
	issuer *auth.Issuer
	staff  string

	// The seeded organisations and the published practice.
	orgs       map[string]string
	practiceID string
}

func start(t *testing.T) *stack {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: needs the embedded FerretDB and NATS")
	}
	ctx := context.Background()
	s := &stack{nats: embedded.NATSForTest(t)}
	fdb := embedded.FerretDBForTest(t)
	key, err := auth.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	if s.issuer, err = auth.NewIssuer(key, time.Hour); err != nil {
		t.Fatal(err)
	}
	publicKey := base64.StdEncoding.EncodeToString(s.issuer.PublicKey())

	s.catalogCfg = catalog.DefaultConfig()
	s.catalogCfg.GRPC.Addr = "127.0.0.1:0"
	s.catalogCfg.Mongo.URI = fdb.URI()
	s.catalogCfg.Mongo.DocLocks = config.DocLocksLease // the embedded FerretDB writes non-atomically
	s.catalogCfg.NATS.URL = s.nats.URL()
	s.catalogCfg.Auth.PublicKeys = publicKey
	s.startCatalog(t)

	cfg := service.DefaultConfig()
	cfg.GRPC.Addr = "127.0.0.1:0"
	cfg.Mongo.URI = fdb.URI()
	cfg.Mongo.DocLocks = config.DocLocksLease // the embedded FerretDB writes non-atomically
	cfg.NATS.URL = s.nats.URL()
	cfg.Auth.PublicKeys = publicKey
	cfg.CatalogAddr = s.catalogCfg.GRPC.Addr
	tw, err := service.New(ctx, cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	s.twinning = run(t, tw.Listen, tw.Run)
	waitReady(t, tw)

	gcfg := gateway.DefaultConfig()
	gcfg.HTTPAddr = "127.0.0.1:0"
	gcfg.CatalogAddr = s.catalogCfg.GRPC.Addr
	gcfg.TwinningAddr = tw.Addr()
	gcfg.DiscussionAddr = gateway.BackendDisabled
	gcfg.NATSURL = s.nats.URL()
	gw, err := gateway.New(ctx, gcfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	run(t, gw.Listen, gw.Run)
	t.Cleanup(func() { _ = gw.Close() })
	s.baseURL = "http://" + gw.Addr()

	conn, err := grpcx.Dial(s.catalogCfg.GRPC.Addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	s.catalogRPC = catalogv1.NewCatalogServiceClient(conn)
	s.seed(t)
	return s
}

// startCatalog (re)starts the catalogue; after the first start it keeps
// its address, so that the gateway and the twinning service find it again.
func (s *stack) startCatalog(t *testing.T) {
	t.Helper()
	svc, err := catalog.New(context.Background(), s.catalogCfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	s.catalog = run(t, svc.Listen, svc.Run)
	s.catalogCfg.GRPC.Addr = svc.Addr()
	waitReady(t, svc)
}

// token signs a session token for c.
func (s *stack) token(t *testing.T, c auth.Caller) string {
	t.Helper()
	token, _, err := s.issuer.Issue(c)
	if err != nil {
		t.Fatal(err)
	}
	return token
}

// editorOf is a verified editor of the seeded organisations named.
func (s *stack) editorOf(t *testing.T, keys ...string) string {
	t.Helper()
	c := auth.Caller{MemberID: "editor-" + strings.Join(keys, "-"), Roles: []string{auth.RoleMember, auth.RoleEditor}}
	for _, k := range keys {
		c.Organizations = append(c.Organizations, s.orgs[k])
	}
	return s.token(t, c)
}

// staffID is the member the staff token names, recorded as the actor.
const staffID = "staff-coordinator"

// seed registers the four administrations of the seed twinning and
// publishes Tos.Ca. with its five models.
func (s *stack) seed(t *testing.T) {
	t.Helper()
	ctx := auth.WithBearerToken(context.Background(), s.token(t, auth.Caller{
		MemberID: "catalog-admin", Roles: []string{auth.RoleMember, auth.RoleAdministrator, auth.RoleCoordinator},
	}))
	s.orgs = map[string]string{}
	for _, o := range []struct {
		key, name string
		kind      catalogv1.OrganizationKind
		territory string
	}{
		{"toscana", "Regione Toscana", catalogv1.OrganizationKind_ORGANIZATION_KIND_REGION, "ITI1"},
		{"firenze", "Comune di Firenze", catalogv1.OrganizationKind_ORGANIZATION_KIND_MUNICIPALITY, "048017"},
		{"calabria", "Regione Calabria", catalogv1.OrganizationKind_ORGANIZATION_KIND_REGION, "ITF6"},
		{"vibo", "Comune di Vibo Valentia", catalogv1.OrganizationKind_ORGANIZATION_KIND_MUNICIPALITY, "102047"},
	} {
		created, err := s.catalogRPC.CreateOrganization(ctx, &catalogv1.CreateOrganizationRequest{Organization: &catalogv1.Organization{
			Name: o.name, Kind: o.kind, Territory: &catalogv1.Territory{Code: o.territory, Name: o.name},
		}})
		if err != nil {
			t.Fatal(err)
		}
		s.orgs[o.key] = created.Id
	}
	staff := auth.Caller{MemberID: staffID, Roles: []string{auth.RoleMember, auth.RoleEditor, auth.RoleCoordinator}}
	for _, k := range []string{"toscana", "firenze", "calabria", "vibo"} {
		staff.Organizations = append(staff.Organizations, s.orgs[k])
	}
	s.staff = s.token(t, staff)
	ctx = auth.WithBearerToken(context.Background(), s.staff)
	p, err := s.catalogRPC.CreatePractice(ctx, &catalogv1.CreatePracticeRequest{Practice: &catalogv1.Practice{
		Title: "Tos.Ca. – Valorizzare le competenze dei cittadini", Summary: "s", Description: "d", Problem: "p", Results: "r",
		OwnerOrganizationIds: []string{s.orgs["toscana"], s.orgs["firenze"]}, Themes: []string{"lavoro"}, Languages: []string{"it"},
		Models: []*catalogv1.Model{
			{Code: "A", Title: "Piattaforma e-learning Trio", OwnerOrganizationId: s.orgs["toscana"]},
			{Code: "B", Title: "Libretto formativo del cittadino", OwnerOrganizationId: s.orgs["toscana"]},
			{Code: "C", Title: "Sistema regionale delle competenze", OwnerOrganizationId: s.orgs["toscana"]},
			{Code: "D", Title: "Servizi territoriali integrati", OwnerOrganizationId: s.orgs["firenze"]},
			{Code: "E", Title: "Servizi per la prima infanzia", OwnerOrganizationId: s.orgs["firenze"]},
		},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.catalogRPC.SubmitPractice(ctx, &catalogv1.SubmitPracticeRequest{Id: p.Id}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.catalogRPC.PublishPractice(ctx, &catalogv1.PublishPracticeRequest{Id: p.Id}); err != nil {
		t.Fatal(err)
	}
	s.practiceID = p.Id
}

type httpResult struct {
	status int
	body   map[string]any
}

func (s *stack) do(t *testing.T, method, path string, body any) httpResult {
	t.Helper()
	return s.doAs(t, s.staff, method, path, body)
}

// doAs calls the gateway with token ("" for none).
func (s *stack) doAs(t *testing.T, token, method, path string, body any) httpResult {
	t.Helper()
	var reader io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		reader = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		reader = strings.NewReader(string(raw))
	}
	req, err := http.NewRequest(method, s.baseURL+path, reader)
	if err != nil {
		t.Fatal(err)
	}
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
	out := httpResult{status: resp.StatusCode}
	if err := json.Unmarshal(raw, &out.body); err != nil {
		t.Fatalf("%s %s: body is not JSON: %s", method, path, raw)
	}
	return out
}

// ok fails the test unless the call answered 200.
func (s *stack) ok(t *testing.T, method, path string, body any) map[string]any {
	t.Helper()
	r := s.do(t, method, path, body)
	if r.status != 200 {
		t.Fatalf("%s %s: %d %v", method, path, r.status, r.body)
	}
	return r.body
}

// errorField reads the error body: "status" is the gRPC code's name,
// "message" the message.
func (r httpResult) errorField(name string) string {
	if name == "status" {
		return errbody.StatusName(r.body)
	}
	s, _ := r.body[name].(string)
	return s
}

func (r httpResult) violations() string {
	var out []string
	for _, m := range errbody.BadRequestViolations(r.body) {
		out = append(out, fmt.Sprint(m["field"], ": ", m["description"]))
	}
	return strings.Join(out, "; ")
}

// createActiveTwinning creates the Tos.Ca. twinning over REST and brings
// it to active.
func (s *stack) createActiveTwinning(t *testing.T) string {
	t.Helper()
	created := s.ok(t, "POST", "/v1/twinnings?request_id=tosca-1", s.tosca())
	if created["status"] != "TWINNING_STATUS_DRAFT" || fmt.Sprint(created["territory_codes"]) != "[ITI1 048017 ITF6 102047]" {
		t.Fatalf("created: %v", created)
	}
	id := created["id"].(string)
	for _, move := range []string{"propose", "approve", "activate"} {
		s.ok(t, "POST", "/v1/twinnings/"+id+":"+move, `{}`)
	}
	return id
}

// tosca is the body that creates the Tos.Ca. twinning.
func (s *stack) tosca() map[string]any {
	return map[string]any{
		"code": "TOSCA", "title": "Tos.Ca. – Valorizzare le competenze dei cittadini", "summary": "Trasferimento di buone pratiche",
		"objectives": []map[string]string{
			{"level": "regionale", "text": "Sviluppo di logiche e strumenti di programmazione regionale"},
			{"level": "comunale", "text": "Servizi standard al cittadino"},
		},
		"expected_results":           []string{"Standard regionali di certificazione delle competenze"},
		"programme":                  map[string]any{"name": "AGIRE POR 2007-2013", "priorities": []string{"1", "4", "10"}},
		"origin":                     "ORIGIN_DIRECT",
		"offering_organization_ids":  []string{s.orgs["toscana"], s.orgs["firenze"]},
		"receiving_organization_ids": []string{s.orgs["calabria"], s.orgs["vibo"]},
		"start_date":                 "2012-06-01",
	}
}

func (s *stack) addTransfer(t *testing.T, twinningID, model, from, to string) string {
	t.Helper()
	tr := s.ok(t, "POST", "/v1/twinnings/"+twinningID+"/transfers", map[string]string{
		"practice_id": s.practiceID, "model_code": model, "from_organization_id": s.orgs[from], "to_organization_id": s.orgs[to],
	})
	if tr["status"] != "TRANSFER_STATUS_PLANNED" {
		t.Fatalf("new transfer: %v", tr)
	}
	return tr["id"].(string)
}

func (s *stack) moveTransfer(t *testing.T, twinningID, transferID, status string) {
	t.Helper()
	tr := s.ok(t, "PATCH", "/v1/twinnings/"+twinningID+"/transfers/"+transferID, map[string]any{
		"transfer": map[string]string{"status": "TRANSFER_STATUS_" + status}, "note": "ora " + strings.ToLower(status),
	})
	if tr["status"] != "TRANSFER_STATUS_"+status {
		t.Fatalf("moved transfer: %v", tr)
	}
}

// figures renders adoption figures as the tests compare them.
func figures(a any) string {
	m, _ := a.(map[string]any)
	var receivers []string
	list, _ := m["receiving_organization_ids"].([]any)
	for _, r := range list {
		receivers = append(receivers, r.(string))
	}
	sort.Strings(receivers)
	return fmt.Sprintf("twinnings=%v receivers=%v in_progress=%v adopted=%v partially=%v dropped=%v",
		m["twinnings"], receivers, m["in_progress"], m["adopted"], m["partially_adopted"], m["dropped"])
}

func (s *stack) receivers(keys ...string) []string {
	var ids []string
	for _, k := range keys {
		ids = append(ids, s.orgs[k])
	}
	sort.Strings(ids)
	return ids
}

// waitForFigures reads the practice from the catalogue through the gateway
// until its figures are want (and those of the models, by code), or fails
// after a deadline.
func (s *stack) waitForFigures(t *testing.T, want string, models map[string]string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var last string
	for {
		r := s.do(t, "GET", "/v1/practices/"+s.practiceID, nil)
		if r.status == 200 {
			last = "practice " + figures(r.body["adoption"])
			match := last == "practice "+want
			ms, _ := r.body["models"].([]any)
			for _, m := range ms {
				model := m.(map[string]any)
				code := model["code"].(string)
				if w, ok := models[code]; ok {
					got := figures(model["adoption"])
					last += "; " + code + " " + got
					match = match && got == w
				}
			}
			if match {
				return r.body
			}
		} else {
			last = fmt.Sprintf("status %d %v", r.status, r.body)
		}
		if time.Now().After(deadline) {
			t.Fatalf("adoption figures did not arrive:\n got %s\nwant practice %s; models %v", last, want, models)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestWalkFromDraftToCompletedKeepsTheCataloguesFigures(t *testing.T) {
	s := start(t)
	id := s.createActiveTwinning(t)

	// The same request id with the same body gives back the same
	// twinning; with another body it is refused, naming request_id.
	again := s.ok(t, "POST", "/v1/twinnings?request_id=tosca-1", s.tosca())
	if again["id"] != id {
		t.Fatalf("a retried create made another twinning: %v", again["id"])
	}
	if r := s.do(t, "POST", "/v1/twinnings?request_id=tosca-1", map[string]any{"code": "TOSCA", "title": "x"}); r.status != http.StatusConflict || !strings.HasPrefix(r.violations(), "request_id: ") {
		t.Fatalf("the request id again with another body: %d %s", r.status, r.body)
	}
	patched := s.ok(t, "PATCH", "/v1/twinnings/"+id, map[string]any{"live_stream_url": "https://live.example.org/tosca"})
	if patched["live_stream_url"] != "https://live.example.org/tosca" || patched["title"] != "Tos.Ca. – Valorizzare le competenze dei cittadini" {
		t.Fatalf("a patch changes what it names only: %v", patched)
	}

	trA := s.addTransfer(t, id, "A", "toscana", "calabria")
	trB := s.addTransfer(t, id, "B", "toscana", "calabria")
	trD := s.addTransfer(t, id, "D", "firenze", "vibo")
	s.waitForFigures(t, fmt.Sprintf("twinnings=1 receivers=%v in_progress=0 adopted=0 partially=0 dropped=0", s.receivers("calabria", "vibo")),
		map[string]string{"C": "twinnings=0 receivers=[] in_progress=0 adopted=0 partially=0 dropped=0"})

	for _, tr := range []string{trA, trB, trD} {
		s.moveTransfer(t, id, tr, "IN_PROGRESS")
	}
	s.ok(t, "POST", "/v1/twinnings/"+id+"/activities", map[string]any{
		"kind": "ACTIVITY_KIND_WORKSHOP", "title": "Workshop di avvio a Catanzaro", "date": "2012-07-10",
		"participants": []string{"Regione Toscana", "Regione Calabria"}, "outcome": "Piano di lavoro condiviso",
	})
	milestone := s.ok(t, "POST", "/v1/twinnings/"+id+"/activities", map[string]any{
		"kind": "ACTIVITY_KIND_MILESTONE", "title": "Rapporto finale", "due_date": "2013-12-31",
	})
	if milestone["milestone_state"] != "MILESTONE_STATE_OVERDUE" {
		t.Fatalf("a milestone past its due date is overdue: %v", milestone)
	}
	done := s.ok(t, "PATCH", "/v1/twinnings/"+id+"/activities/"+milestone["id"].(string), map[string]any{"done": true})
	if done["milestone_state"] != "MILESTONE_STATE_DONE" || done["title"] != "Rapporto finale" {
		t.Fatalf("marked done: %v", done)
	}
	s.moveTransfer(t, id, trA, "ADOPTED")
	s.moveTransfer(t, id, trB, "PARTIALLY_ADOPTED")
	s.moveTransfer(t, id, trD, "ADOPTED")
	completed := s.ok(t, "POST", "/v1/twinnings/"+id+":complete", map[string]string{"reason": "tutti i modelli trasferiti"})
	if completed["status"] != "TWINNING_STATUS_COMPLETED" {
		t.Fatalf("completed: %v", completed)
	}
	history, _ := completed["history"].([]any)
	if len(history) != 5 {
		t.Fatalf("history has %d moves, want created, proposed, approved, activated, completed", len(history))
	}
	last := history[4].(map[string]any)
	if last["from"] != "TWINNING_STATUS_ACTIVE" || last["actor"] != staffID || last["reason"] != "tutti i modelli trasferiti" || last["time"] == nil {
		t.Fatalf("the last move records who, when and why: %v", last)
	}

	s.waitForFigures(t, fmt.Sprintf("twinnings=1 receivers=%v in_progress=0 adopted=2 partially=1 dropped=0", s.receivers("calabria", "vibo")), map[string]string{
		"A": fmt.Sprintf("twinnings=1 receivers=%v in_progress=0 adopted=1 partially=0 dropped=0", s.receivers("calabria")),
		"B": fmt.Sprintf("twinnings=1 receivers=%v in_progress=0 adopted=0 partially=1 dropped=0", s.receivers("calabria")),
		"D": fmt.Sprintf("twinnings=1 receivers=%v in_progress=0 adopted=1 partially=0 dropped=0", s.receivers("vibo")),
		"E": "twinnings=0 receivers=[] in_progress=0 adopted=0 partially=0 dropped=0",
	})

	byCode := s.ok(t, "GET", "/v1/twinnings/tosca", nil)
	if byCode["id"] != id || len(byCode["transfers"].([]any)) != 3 || len(byCode["activities"].([]any)) != 2 {
		t.Fatalf("by code: %v", byCode)
	}
	for _, query := range []string{
		"status=TWINNING_STATUS_COMPLETED", "practice_id=" + s.practiceID, "organization_id=" + s.orgs["vibo"],
		"territory_code=ITF6", "programme=AGIRE%20POR%202007-2013", "",
	} {
		list := s.ok(t, "GET", "/v1/twinnings?"+query, nil)
		items, _ := list["twinnings"].([]any)
		if len(items) != 1 || items[0].(map[string]any)["id"] != id {
			t.Errorf("list ?%s: %v", query, list)
		}
	}
	if list := s.ok(t, "GET", "/v1/twinnings?status=TWINNING_STATUS_ACTIVE", nil); len(list["twinnings"].([]any)) != 0 {
		t.Errorf("no active twinning is left: %v", list)
	}
	activities := s.ok(t, "GET", "/v1/twinnings/"+id+"/activities", nil)
	if acts := activities["activities"].([]any); len(acts) != 2 || acts[0].(map[string]any)["kind"] != "ACTIVITY_KIND_WORKSHOP" {
		t.Fatalf("activities by date: %v", activities)
	}
	// The log pages.
	first := s.ok(t, "GET", "/v1/twinnings/"+id+"/activities?page_size=1", nil)
	token, _ := first["next_page_token"].(string)
	if len(first["activities"].([]any)) != 1 || token == "" {
		t.Fatalf("first page of one: %v", first)
	}
	second := s.ok(t, "GET", "/v1/twinnings/"+id+"/activities?page_size=1&page_token="+url.QueryEscape(token), nil)
	if acts := second["activities"].([]any); len(acts) != 1 || acts[0].(map[string]any)["milestone"] != true || second["next_page_token"] != "" {
		t.Fatalf("second and last page: %v", second)
	}
}

func TestRefusalsOverREST(t *testing.T) {
	s := start(t)
	draft := s.ok(t, "POST", "/v1/twinnings", map[string]any{
		"code": "BOZZA", "title": "Bozza", "offering_organization_ids": []string{s.orgs["toscana"]}, "receiving_organization_ids": []string{s.orgs["calabria"]},
	})
	draftID := draft["id"].(string)
	id := s.createActiveTwinning(t)

	cases := []struct {
		name, method, path string
		body               any
		status             int
		grpcStatus         string
		says               []string
		field              string
	}{
		{name: "illegal move names the state and the moves allowed", method: "POST", path: "/v1/twinnings/" + draftID + ":approve", body: `{}`,
			status: 409, grpcStatus: "FAILED_PRECONDITION", says: []string{"is draft", "propose", "delete"}},
		{name: "cancel without a reason", method: "POST", path: "/v1/twinnings/" + id + ":cancel", body: `{}`, status: 400, field: "reason"},
		{name: "unknown model", method: "POST", path: "/v1/twinnings/" + id + "/transfers",
			body:   map[string]string{"practice_id": s.practiceID, "model_code": "Z", "from_organization_id": s.orgs["toscana"], "to_organization_id": s.orgs["calabria"]},
			status: 400, grpcStatus: "INVALID_ARGUMENT", says: []string{`model "Z"`}, field: "model_code"},
		{name: "unknown transfer", method: "PATCH", path: "/v1/twinnings/" + id + "/transfers/nope",
			body: map[string]any{"transfer": map[string]string{"status": "TRANSFER_STATUS_ADOPTED"}}, status: 404},
		{name: "unknown organisation", method: "POST", path: "/v1/twinnings",
			body:   map[string]any{"code": "X", "title": "x", "offering_organization_ids": []string{"ghost"}},
			status: 400, field: "offering_organization_ids[0]"},
		{name: "duplicate code", method: "POST", path: "/v1/twinnings", body: map[string]any{"code": "tosca", "title": "x"}, status: 409, grpcStatus: "ALREADY_EXISTS"},
		{name: "unknown twinning", method: "GET", path: "/v1/twinnings/NESSUNO", status: 404},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := s.do(t, c.method, c.path, c.body)
			if r.status != c.status {
				t.Fatalf("status = %d, want %d: %v", r.status, c.status, r.body)
			}
			if c.grpcStatus != "" && r.errorField("status") != c.grpcStatus {
				t.Errorf("error status = %q, want %q", r.errorField("status"), c.grpcStatus)
			}
			for _, say := range c.says {
				if !strings.Contains(r.errorField("message"), say) {
					t.Errorf("message %q does not say %q", r.errorField("message"), say)
				}
			}
			if c.field != "" && !strings.Contains(r.violations(), c.field+":") {
				t.Errorf("violations %q do not name %s", r.violations(), c.field)
			}
		})
	}
	tr := s.addTransfer(t, id, "A", "toscana", "calabria")
	r := s.do(t, "PATCH", "/v1/twinnings/"+id+"/transfers/"+tr, map[string]any{"transfer": map[string]string{"status": "TRANSFER_STATUS_ADOPTED"}})
	if r.status != 409 || !strings.Contains(r.errorField("message"), "is planned") {
		t.Fatalf("a planned transfer cannot be adopted at once: %d %v", r.status, r.body)
	}
}

// readStream returns every message of the twinning stream.
func readStream(t *testing.T, js jetstream.JetStream) []*jetstream.RawStreamMsg {
	t.Helper()
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
	var out []*jetstream.RawStreamMsg
	for seq := info.State.FirstSeq; info.State.Msgs > 0 && seq <= info.State.LastSeq; seq++ {
		msg, err := stream.GetMsg(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, msg)
	}
	return out
}

// waitConsumed waits until the catalogue's consumer has handled every
// message of the stream.
func waitConsumed(t *testing.T, js jetstream.JetStream) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		stream, err := js.Stream(ctx, service.StreamName)
		if err != nil {
			t.Fatal(err)
		}
		sinfo, err := stream.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		cons, err := js.Consumer(ctx, service.StreamName, catalog.AdoptionConsumer)
		if err == nil {
			info, err := cons.Info(ctx)
			if err == nil && info.NumPending == 0 && info.NumAckPending == 0 && info.AckFloor.Stream >= sinfo.State.LastSeq {
				return
			}
		}
		select {
		case <-ctx.Done():
			t.Fatal("the catalogue did not consume the twinning stream in time")
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func TestARepeatedTransferEventCountsOnce(t *testing.T) {
	s := start(t)
	id := s.createActiveTwinning(t)
	tr := s.addTransfer(t, id, "A", "toscana", "calabria")
	s.moveTransfer(t, id, tr, "IN_PROGRESS")
	s.moveTransfer(t, id, tr, "ADOPTED")
	want := fmt.Sprintf("twinnings=1 receivers=%v in_progress=0 adopted=1 partially=0 dropped=0", s.receivers("calabria"))
	before := s.waitForFigures(t, want, map[string]string{"A": want})

	nc, err := nats.Connect(s.nats.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	waitConsumed(t, js)
	// Deliver every transfer event again, the adoption and the older ones,
	// under new message ids so that JetStream does not drop them.
	republished := 0
	for _, msg := range readStream(t, js) {
		if msg.Subject != "twinning.transfer.status_changed" {
			continue
		}
		var env eventsv1.Envelope
		if err := proto.Unmarshal(msg.Data, &env); err != nil {
			t.Fatal(err)
		}
		var payload eventsv1.TransferStatusChanged
		if err := env.Payload.UnmarshalTo(&payload); err != nil {
			t.Fatal(err)
		}
		if payload.Transfer.GetId() != tr {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := js.Publish(ctx, msg.Subject, msg.Data, jetstream.WithMsgID(uuid.NewString()))
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		republished++
	}
	if republished != 3 {
		t.Fatalf("republished %d transfer events, want planned, in progress and adopted", republished)
	}
	waitConsumed(t, js)
	after := s.waitForFigures(t, want, map[string]string{"A": want})
	if after["etag"] != before["etag"] {
		t.Fatalf("repeated events wrote the practice again: etag %v → %v", before["etag"], after["etag"])
	}
}

func TestTheCatalogueCatchesUpAndTransfersWaitForIt(t *testing.T) {
	s := start(t)
	id := s.createActiveTwinning(t)
	trA := s.addTransfer(t, id, "A", "toscana", "calabria")
	trD := s.addTransfer(t, id, "D", "firenze", "vibo")
	s.waitForFigures(t, fmt.Sprintf("twinnings=1 receivers=%v in_progress=0 adopted=0 partially=0 dropped=0", s.receivers("calabria", "vibo")), nil)

	s.catalog.stop()
	// Moving transfers needs no catalogue: their events wait in the stream.
	s.moveTransfer(t, id, trA, "IN_PROGRESS")
	s.moveTransfer(t, id, trA, "PARTIALLY_ADOPTED")
	s.moveTransfer(t, id, trD, "DROPPED")
	// Adding one does: the answer is 503 and nothing is stored.
	r := s.do(t, "POST", "/v1/twinnings/"+id+"/transfers", map[string]string{
		"practice_id": s.practiceID, "model_code": "B", "from_organization_id": s.orgs["toscana"], "to_organization_id": s.orgs["calabria"],
	})
	if r.status != 503 || r.errorField("status") != "UNAVAILABLE" {
		t.Fatalf("add a transfer with the catalogue down: %d %v", r.status, r.body)
	}
	tw := s.ok(t, "GET", "/v1/twinnings/"+id, nil)
	if n := len(tw["transfers"].([]any)); n != 2 {
		t.Fatalf("the refused transfer was stored: %d transfers", n)
	}

	s.startCatalog(t)
	s.waitForFigures(t, fmt.Sprintf("twinnings=1 receivers=%v in_progress=0 adopted=0 partially=1 dropped=1", s.receivers("calabria", "vibo")), map[string]string{
		"A": fmt.Sprintf("twinnings=1 receivers=%v in_progress=0 adopted=0 partially=1 dropped=0", s.receivers("calabria")),
		"D": fmt.Sprintf("twinnings=1 receivers=%v in_progress=0 adopted=0 partially=0 dropped=1", s.receivers("vibo")),
	})
	// With the catalogue back, the request succeeds; a client retries it
	// with the same request id, so a retry never adds it twice.
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := s.do(t, "POST", "/v1/twinnings/"+id+"/transfers?request_id=add-b", map[string]string{
			"practice_id": s.practiceID, "model_code": "B", "from_organization_id": s.orgs["toscana"], "to_organization_id": s.orgs["calabria"],
		})
		if r.status == 200 {
			break
		}
		if r.status != 503 || time.Now().After(deadline) {
			t.Fatalf("add a transfer with the catalogue back: %d %v", r.status, r.body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.do(t, "POST", "/v1/twinnings/"+id+"/transfers?request_id=add-b", map[string]string{
		"practice_id": s.practiceID, "model_code": "B", "from_organization_id": s.orgs["toscana"], "to_organization_id": s.orgs["calabria"],
	})
	if n := len(s.ok(t, "GET", "/v1/twinnings/"+id, nil)["transfers"].([]any)); n != 3 {
		t.Fatalf("%d transfers after the retried add, want 3", n)
	}
}

func TestOnlyTheRightPeopleChangeTwinningsOverREST(t *testing.T) {
	s := start(t)
	body := map[string]any{
		"code": "BOZZA", "title": "Bozza", "offering_organization_ids": []string{s.orgs["toscana"]}, "receiving_organization_ids": []string{s.orgs["calabria"]},
	}
	member := s.token(t, auth.Caller{MemberID: "m-plain", Roles: []string{auth.RoleMember}})
	expiredIssuer := s.issuer.WithClock(func() time.Time { return time.Now().Add(-2 * time.Hour) })
	expired, _, _ := expiredIssuer.Issue(auth.Caller{MemberID: staffID, Roles: []string{auth.RoleMember, auth.RoleCoordinator}})
	otherKey, _ := auth.GenerateKey()
	otherIssuer, _ := auth.NewIssuer(otherKey, time.Hour)
	foreign, _, _ := otherIssuer.Issue(auth.Caller{MemberID: staffID, Roles: []string{auth.RoleMember, auth.RoleCoordinator}})

	for name, tt := range map[string]struct {
		token  string
		status int
	}{
		"anonymous": {"", 401}, "expired token": {expired, 401}, "token of another key": {foreign, 401},
		"member": {member, 403}, "editor of a third party": {s.editorOf(t, "vibo"), 403},
	} {
		r := s.doAs(t, tt.token, "POST", "/v1/twinnings", body)
		if r.status != tt.status {
			t.Errorf("create as %s: %d %v, want %d", name, r.status, r.body, tt.status)
		}
	}
	toscana := s.editorOf(t, "toscana")
	created := s.doAs(t, toscana, "POST", "/v1/twinnings", body)
	if created.status != 200 || created.body["history"].([]any)[0].(map[string]any)["actor"] != "editor-toscana" {
		t.Fatalf("create as the offering party's editor: %d %v", created.status, created.body)
	}
	id := created.body["id"].(string)

	// The draft exists for its parties' editors and coordinators only.
	for name, tt := range map[string]struct {
		token  string
		status int
	}{
		"anonymous": {"", 404}, "member": {member, 404}, "editor of a third party": {s.editorOf(t, "vibo"), 404},
		"receiving editor": {s.editorOf(t, "calabria"), 200}, "coordinator": {s.staff, 200},
	} {
		if r := s.doAs(t, tt.token, "GET", "/v1/twinnings/BOZZA", nil); r.status != tt.status {
			t.Errorf("read the draft as %s: %d, want %d", name, r.status, tt.status)
		}
		list := s.doAs(t, tt.token, "GET", "/v1/twinnings", nil)
		items, _ := list.body["twinnings"].([]any)
		if (len(items) == 1) != (tt.status == 200) {
			t.Errorf("list as %s shows %d twinnings", name, len(items))
		}
	}
	if r := s.doAs(t, member, "POST", "/v1/twinnings/"+id+":propose", `{}`); r.status != 404 {
		t.Fatalf("a member proposes a draft they cannot see: %d %v", r.status, r.body)
	}
	if r := s.doAs(t, s.staff, "POST", "/v1/twinnings/"+id+":propose", `{}`); r.status != 400 {
		t.Fatalf("the staff token edits every party, so it may propose (and learns what is missing): %d %v", r.status, r.body)
	}
	// A draft is deleted by its parties, never cancelled: a cancelled
	// twinning is public, and its dropped transfers count in the figures.
	if r := s.doAs(t, s.staff, "POST", "/v1/twinnings/"+id+":cancel", map[string]string{"reason": "doppione"}); r.status != 409 ||
		!strings.Contains(fmt.Sprint(r.body), "delete") {
		t.Fatalf("a coordinator cancels a draft: %d %v, want 409 naming delete", r.status, r.body)
	}
	if r := s.doAs(t, "", "GET", "/v1/twinnings/"+id, nil); r.status != 404 {
		t.Fatalf("the draft is public after a refused cancel: %d", r.status)
	}
	if r := s.doAs(t, toscana, "DELETE", "/v1/twinnings/"+id, nil); r.status != 200 {
		t.Fatalf("the offering party's editor deletes the draft: %d %v", r.status, r.body)
	}
}

func TestTheCallersIdentityReachesTheCatalogue(t *testing.T) {
	s := start(t)
	id := s.createActiveTwinning(t)
	ctx := auth.WithBearerToken(context.Background(), s.staff)
	draft, err := s.catalogRPC.CreatePractice(ctx, &catalogv1.CreatePracticeRequest{Practice: &catalogv1.Practice{
		Title: "Bozza toscana", Summary: "s", OwnerOrganizationIds: []string{s.orgs["toscana"]}, Languages: []string{"it"},
		Models: []*catalogv1.Model{{Code: "A", Title: "Modello", OwnerOrganizationId: s.orgs["toscana"]}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if r := s.doAs(t, "", "GET", "/v1/practices/"+draft.Id, nil); r.status != 404 {
		t.Fatalf("the catalogue shows a draft to anyone: %d", r.status)
	}
	// The twinning service asks the catalogue with the caller's token: the
	// staff sees the draft, so the answer is that it is not published, not
	// that it does not exist.
	r := s.do(t, "POST", "/v1/twinnings/"+id+"/transfers", map[string]string{
		"practice_id": draft.Id, "model_code": "A", "from_organization_id": s.orgs["toscana"], "to_organization_id": s.orgs["calabria"],
	})
	if r.status != 409 || !strings.Contains(r.errorField("message"), "only a published practice") {
		t.Fatalf("transfer of a draft practice: %d %v", r.status, r.body)
	}
}
