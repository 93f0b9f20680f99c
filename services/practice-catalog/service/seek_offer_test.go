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
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	gateway "github.com/gemella/gemella/gateway/server"
	catalogv1 "github.com/gemella/gemella/proto/gemella/catalog/v1"
	eventsv1 "github.com/gemella/gemella/proto/gemella/events/v1"
	twinningv1 "github.com/gemella/gemella/proto/gemella/twinning/v1"
	"github.com/gemella/gemella/services/platform/embedded"
	"github.com/gemella/gemella/services/platform/events"
	"github.com/gemella/gemella/services/platform/grpcx"
	"github.com/gemella/gemella/services/practice-catalog/service"
)

// catalogUnderTest is one running catalog on shared FerretDB and NATS.
type catalogUnderTest struct {
	svc    *service.Service
	client catalogv1.CatalogServiceClient
	stop   func()
}

// runCatalog starts a catalog whose search index lives in searchDir
// ("" in memory); stop ends it and waits for it, releasing the index.
func runCatalog(t *testing.T, mongoURI, natsURL, searchDir string) *catalogUnderTest {
	t.Helper()
	cfg := service.DefaultConfig()
	cfg.GRPC.Addr = "127.0.0.1:0"
	cfg.Mongo.URI = mongoURI
	cfg.Mongo.DocLocks = config.DocLocksLease // the embedded FerretDB writes non-atomically
	cfg.NATS.URL = natsURL
	cfg.Search.Dir = searchDir
	cfg.Auth.PublicKeys = testStaff.publicKey()
	svc, err := service.New(context.Background(), cfg, seekQuiet)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	conn, err := grpcx.Dial(svc.Addr(), 10*time.Second, testStaff.dialOption())
	if err != nil {
		t.Fatal(err)
	}
	c := &catalogUnderTest{svc: svc, client: catalogv1.NewCatalogServiceClient(conn)}
	stopped := false
	c.stop = func() {
		if !stopped {
			stopped = true
			_ = conn.Close()
			cancel()
			<-done
		}
	}
	t.Cleanup(c.stop)
	waitReady(t, svc)
	return c
}

var seekQuiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// catalogSubjects counts the catalog stream's messages by subject.
func catalogSubjects(ctx context.Context, t *testing.T, js jetstream.JetStream) map[string]int {
	t.Helper()
	stream, err := js.Stream(ctx, service.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	info, err := stream.Info(ctx, jetstream.WithSubjectFilter("catalog.>"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for subject, n := range info.State.Subjects {
		out[subject] = int(n)
	}
	return out
}

func integration(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: needs the embedded FerretDB and NATS")
	}
}

// eventually polls check until it holds or the deadline passes.
func eventually(t *testing.T, what string, check func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !check() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 30s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// seedPractice creates and publishes a practice over gRPC.
func seedPractice(ctx context.Context, t *testing.T, c catalogv1.CatalogServiceClient, p *catalogv1.Practice) *catalogv1.Practice {
	t.Helper()
	created, err := c.CreatePractice(ctx, &catalogv1.CreatePracticeRequest{Practice: p})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.SubmitPractice(ctx, &catalogv1.SubmitPracticeRequest{Id: created.Id}); err != nil {
		t.Fatal(err)
	}
	published, err := c.PublishPractice(ctx, &catalogv1.PublishPracticeRequest{Id: created.Id})
	if err != nil {
		t.Fatal(err)
	}
	return published
}

func orgOf(ctx context.Context, t *testing.T, c catalogv1.CatalogServiceClient, name string, kind catalogv1.OrganizationKind, code string) string {
	t.Helper()
	o, err := c.CreateOrganization(ctx, &catalogv1.CreateOrganizationRequest{Organization: &catalogv1.Organization{
		Name: name, Kind: kind, Territory: &catalogv1.Territory{Code: code, Name: name},
	}})
	if err != nil {
		t.Fatal(err)
	}
	return o.Id
}

func practiceSearch(ctx context.Context, t *testing.T, c catalogv1.CatalogServiceClient, q string) []string {
	t.Helper()
	res, err := c.SearchPractices(ctx, &catalogv1.SearchPracticesRequest{Q: q})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, h := range res.Hits {
		ids = append(ids, h.Practice.Id)
	}
	return ids
}

func hasID(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// rest calls the gateway and decodes the JSON answer.
func restCall(t *testing.T, method, u, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	testStaff.authorize(req)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s %s: not JSON: %s", method, u, raw)
	}
	testStaff.sawCreated(method, req.URL.Path, resp.StatusCode, out)
	return resp.StatusCode, out
}

func jsonList(m map[string]any, key string) []any {
	l, _ := m[key].([]any)
	return l
}

func jsonObj(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func violationFields(body map[string]any) []string {
	var out []string
	for _, v := range errbody.BadRequestViolations(body) {
		f, _ := v["field"].(string)
		out = append(out, f)
	}
	return out
}

func TestSeekAndOfferOverRESTThroughTheGateway(t *testing.T) {
	integration(t)
	ctx := context.Background()
	ns := embedded.NATSForTest(t)
	fdb := embedded.FerretDBForTest(t)
	cat := runCatalog(t, fdb.URI(), ns.URL(), "")

	gcfg := gateway.DefaultConfig()
	gcfg.HTTPAddr = "127.0.0.1:0"
	gcfg.CatalogAddr = cat.svc.Addr()
	gcfg.TwinningAddr, gcfg.DiscussionAddr = gateway.BackendDisabled, gateway.BackendDisabled
	gcfg.NATSURL = ns.URL()
	gw, err := gateway.New(ctx, gcfg, seekQuiet)
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
	base := "http://" + gw.Addr()

	c := cat.client
	toscana := orgOf(ctx, t, c, "Regione Toscana", catalogv1.OrganizationKind_ORGANIZATION_KIND_REGION, "ITI1")
	firenze := orgOf(ctx, t, c, "Comune di Firenze", catalogv1.OrganizationKind_ORGANIZATION_KIND_MUNICIPALITY, "048017")
	ptp := orgOf(ctx, t, c, "Polo Tecnico Professionale della meccanica di Pistoia", catalogv1.OrganizationKind_ORGANIZATION_KIND_NETWORK, "ITI13")
	vibo := orgOf(ctx, t, c, "Comune di Vibo Valentia", catalogv1.OrganizationKind_ORGANIZATION_KIND_MUNICIPALITY, "102047")
	tosca := seedPractice(ctx, t, c, &catalogv1.Practice{
		Title:   "Tos.Ca. – Valorizzare le competenze dei cittadini",
		Summary: "Libretto formativo, repertorio delle competenze e servizi sociali e per il lavoro integrati.",
		Description: "Il modello di integrazione dei servizi sociali e per il lavoro del Comune di Firenze accompagna i cittadini; " +
			"la Regione certifica le competenze <acquisite> sul lavoro.",
		Problem: "Servizi sociali e per il lavoro separati.", Results: "Cittadini presi in carico insieme.",
		OwnerOrganizationIds: []string{toscana, firenze}, Themes: []string{"lavoro", "politiche sociali", "certificazione delle competenze"},
		Territory: &catalogv1.Territory{Code: "ITI1", Name: "Toscana"}, Languages: []string{"it"},
		Models: []*catalogv1.Model{{Code: "B", Title: "Libretto formativo del cittadino"}, {Code: "D", Title: "Servizi territoriali integrati", OwnerOrganizationId: firenze}},
	})
	meccanica := seedPractice(ctx, t, c, &catalogv1.Practice{
		Title:   "Polo tecnico professionale della meccanica",
		Summary: "Scuole, imprese e ITS formano insieme tecnici delle macchine CNC.", Description: "Laboratori condivisi e stage in azienda.",
		Problem: "Le imprese meccaniche non trovano tecnici.", Results: "Diplomati assunti.",
		OwnerOrganizationIds: []string{ptp}, Themes: []string{"istruzione e formazione", "lavoro"}, Sectors: []string{"meccanica"},
		Territory: &catalogv1.Territory{Code: "ITI13", Name: "Pistoia"}, Languages: []string{"it"},
		Models: []*catalogv1.Model{{Code: "A", Title: "Rete scuola-impresa"}},
	})
	draft, err := c.CreatePractice(ctx, &catalogv1.CreatePracticeRequest{Practice: &catalogv1.Practice{Title: "Bozza", OwnerOrganizationIds: []string{toscana}}})
	if err != nil {
		t.Fatal(err)
	}

	// Search with facets, once the index has caught up with the events.
	// The index follows the events, which the outbox relay publishes
	// collection by collection: poll until it has caught up with all.
	var found map[string]any
	facets := map[string]map[string]float64{}
	eventually(t, "published practices searchable, with their owners' kinds", func() bool {
		_, found = restCall(t, "GET", base+"/v1/search/practices?q=competenza&page_size=5", "")
		for _, f := range jsonList(found, "facets") {
			counts := map[string]float64{}
			for _, fc := range jsonList(jsonObj(f), "counts") {
				counts[jsonObj(fc)["value"].(string)] = jsonObj(fc)["count"].(float64)
			}
			facets[jsonObj(f)["field"].(string)] = counts
		}
		return found["total"] == float64(1) && facets["owner_kind"]["municipality"] == 1
	})
	hit := jsonObj(jsonList(found, "hits")[0])
	if jsonObj(hit["practice"])["id"] != tosca.Id || len(jsonList(hit, "highlights")) == 0 {
		t.Fatalf("hit = %v", hit)
	}
	if facets["owner_kind"]["region"] != 1 || facets["theme"]["lavoro"] != 1 || facets["territory"]["ITI1"] != 1 || len(facets["sector"]) != 0 {
		t.Fatalf("facets = %v", facets)
	}
	highlightText, _ := json.Marshal(jsonList(hit, "highlights"))
	if !strings.Contains(string(highlightText), `\u003cmark\u003e`) && !strings.Contains(string(highlightText), "<mark>") {
		t.Fatalf("highlights without <mark>: %s", highlightText)
	}
	var status int
	var body map[string]any
	eventually(t, "facet filters", func() bool {
		status, body = restCall(t, "GET", base+"/v1/search/practices?theme=lavoro&owner_kind=network", "")
		return status == 200 && body["total"] == float64(1) && jsonObj(jsonObj(jsonList(body, "hits")[0])["practice"])["id"] == meccanica.Id
	})
	status, body = restCall(t, "GET", base+"/v1/search/practices?page_size=1", "")
	if status != 200 || body["total"] != float64(2) || body["next_page_token"] == "" {
		t.Fatalf("first page of all: %d %v", status, body)
	}
	status, body = restCall(t, "GET", base+"/v1/search/practices?page_size=1&page_token="+url.QueryEscape(body["next_page_token"].(string)), "")
	if status != 200 || len(jsonList(body, "hits")) != 1 || body["next_page_token"] != "" {
		t.Fatalf("second page of all: %d %v", status, body)
	}
	if status, body = restCall(t, "GET", base+"/v1/search/practices?owner_kind=galaxy", ""); status != 400 || !hasID(violationFields(body), "owner_kind[0]") {
		t.Fatalf("unknown owner kind: %d %v", status, body)
	}

	// A need: every bad field named at once, then a good one.
	status, body = restCall(t, "POST", base+"/v1/needs", `{"organization_id":"nobody!","desired_start":"soon","language":"Italian"}`)
	for _, f := range []string{"organization_id", "title", "problem", "desired_start", "language"} {
		if status != 400 || !hasID(violationFields(body), f) {
			t.Fatalf("bad need: %d, %s not named in %v", status, f, violationFields(body))
		}
	}
	status, body = restCall(t, "POST", base+"/v1/needs", fmt.Sprintf(`{"need":null,"request_id":"x"}`))
	if status != 400 {
		t.Fatalf("need without body: %d %v", status, body)
	}
	needBody := fmt.Sprintf(`{"organization_id":%q,"title":"Servizi sociali e per il lavoro integrati",
		"problem":"Il Comune cerca un modello per integrare i servizi sociali e i servizi per il lavoro dei cittadini.",
		"themes":["politiche sociali","lavoro"],"territory":{"code":"102047","name":"Vibo Valentia"},"desired_start":"2025-02-01"}`, vibo)
	status, body = restCall(t, "POST", base+"/v1/needs", needBody)
	if status != 200 || body["status"] != "NEED_STATUS_OPEN" || body["language"] != "it" {
		t.Fatalf("create need: %d %v", status, body)
	}
	needID, needEtag := body["id"].(string), body["etag"].(string)
	if status, body = restCall(t, "GET", base+"/v1/needs/"+needID, ""); status != 200 || body["title"] != "Servizi sociali e per il lavoro integrati" {
		t.Fatalf("get need: %d %v", status, body)
	}
	if status, body = restCall(t, "PATCH", base+"/v1/needs/"+needID, `{"desired_start":"2025-03-01","etag":"\"9\""}`); status != 412 {
		t.Fatalf("stale etag: %d %v", status, body)
	}
	status, body = restCall(t, "PATCH", base+"/v1/needs/"+needID, fmt.Sprintf(`{"desired_start":"2025-03-01","etag":%q}`, needEtag))
	if status != 200 || body["desired_start"] != "2025-03-01" || body["title"] != "Servizi sociali e per il lavoro integrati" {
		t.Fatalf("patch need: %d %v", status, body)
	}
	if status, body = restCall(t, "GET", base+"/v1/needs?organization_id="+vibo+"&status=NEED_STATUS_OPEN", ""); status != 200 || len(jsonList(body, "needs")) != 1 {
		t.Fatalf("list needs: %d %v", status, body)
	}

	// Offers: checked against their practice.
	status, body = restCall(t, "POST", base+"/v1/offers", fmt.Sprintf(`{"organization_id":%q,"practice_id":%q,"model_codes":["B","Z"],"capacity":2}`, ptp, tosca.Id))
	if status != 400 || !hasID(violationFields(body), "organization_id") || !hasID(violationFields(body), "model_codes[1]") {
		t.Fatalf("offer by a non-owner of a missing model: %d %v", status, body)
	}
	if status, body = restCall(t, "POST", base+"/v1/offers", fmt.Sprintf(`{"organization_id":%q,"practice_id":%q,"capacity":1}`, toscana, draft.Id)); status != 409 {
		t.Fatalf("offer of a draft: %d %v", status, body)
	}
	status, body = restCall(t, "POST", base+"/v1/offers", fmt.Sprintf(`{"offer":null}`))
	if status != 400 {
		t.Fatalf("empty offer: %d %v", status, body)
	}
	offerBody := fmt.Sprintf(`{"organization_id":%q,"practice_id":%q,"model_codes":["B","D"],"capacity":2,"languages":["it"],"conditions":"Visite di studio a Firenze"}`, toscana, tosca.Id)
	status, body = restCall(t, "POST", base+"/v1/offers?request_id=offer-1", offerBody)
	if status != 200 || body["status"] != "OFFER_STATUS_OPEN" || body["practice_title"] != tosca.Title {
		t.Fatalf("create offer: %d %v", status, body)
	}
	offerID := body["id"].(string)
	if _, again := restCall(t, "POST", base+"/v1/offers?request_id=offer-1", offerBody); again["id"] != offerID {
		t.Fatalf("a retried offer made another: %v", again)
	}
	if status, body = restCall(t, "GET", base+"/v1/offers?organization_id="+toscana, ""); status != 200 || len(jsonList(body, "offers")) != 1 {
		t.Fatalf("list offers: %d %v", status, body)
	}

	// Matches of the need, each with its reasons.
	status, body = restCall(t, "GET", base+"/v1/needs/"+needID+"/matches", "")
	if status != 200 || len(jsonList(body, "matches")) == 0 {
		t.Fatalf("matches: %d %v", status, body)
	}
	first := jsonObj(jsonList(body, "matches")[0])
	reasons := jsonObj(first["reasons"])
	if jsonObj(first["practice"])["id"] != tosca.Id || reasons["open_offer_id"] != offerID || len(jsonList(reasons, "matched_terms")) == 0 ||
		len(jsonList(reasons, "shared_themes")) != 2 || reasons["territorial_closeness"] != "same country" {
		t.Fatalf("best match: %v", first)
	}
	// The open needs that fit Regione Toscana's offer.
	status, body = restCall(t, "GET", base+"/v1/organizations/"+toscana+"/matching-needs", "")
	if status != 200 || len(jsonList(body, "matches")) != 1 || jsonObj(jsonObj(jsonList(body, "matches")[0])["need"])["id"] != needID || jsonObj(jsonList(body, "matches")[0])["offer_id"] != offerID {
		t.Fatalf("matching needs: %d %v", status, body)
	}
	eventually(t, "open need searchable", func() bool {
		_, body = restCall(t, "GET", base+"/v1/search/needs?q=integrare&territory_code=102047", "")
		return body["total"] == float64(1)
	})

	// Closing.
	if status, body = restCall(t, "POST", base+"/v1/offers/"+offerID+":close", `{"reason":"capacità esaurita"}`); status != 200 || body["status"] != "OFFER_STATUS_CLOSED" {
		t.Fatalf("close offer: %d %v", status, body)
	}
	if status, body = restCall(t, "POST", base+"/v1/needs/"+needID+":close", `{"reason":"risolto"}`); status != 200 || body["status"] != "NEED_STATUS_CLOSED" {
		t.Fatalf("close need: %d %v", status, body)
	}
	if status, body = restCall(t, "POST", base+"/v1/needs/"+needID+":close", `{}`); status != 409 {
		t.Fatalf("close a closed need: %d %v", status, body)
	}
	eventually(t, "closed need leaves the search", func() bool {
		_, body = restCall(t, "GET", base+"/v1/search/needs?q=integrare", "")
		return body["total"] == float64(0)
	})
	if status, body = restCall(t, "GET", base+"/v1/needs/does-not-exist", ""); status != 404 {
		t.Fatalf("unknown need: %d %v", status, body)
	}
}

func TestIndexFollowsTheStreamAndIsRebuiltAtStart(t *testing.T) {
	integration(t)
	ctx := context.Background()
	ns := embedded.NATSForTest(t)
	fdb := embedded.FerretDBForTest(t)
	dir := filepath.Join(t.TempDir(), "search")
	cat := runCatalog(t, fdb.URI(), ns.URL(), dir)
	org := orgOf(ctx, t, cat.client, "Regione Marche", catalogv1.OrganizationKind_ORGANIZATION_KIND_REGION, "ITI3")
	practiceOf := func(title, summary string) *catalogv1.Practice {
		return &catalogv1.Practice{
			Title: title, Summary: summary, Description: "d", Problem: "p", Results: "r",
			OwnerOrganizationIds: []string{org}, Themes: []string{"lavoro"}, Languages: []string{"it"},
			Models: []*catalogv1.Model{{Code: "A", Title: "Modello A"}},
		}
	}

	// Published while the service runs: findable without a restart.
	gol := seedPractice(ctx, t, cat.client, practiceOf("PAR GOL delle Marche", "Percorsi personalizzati nei centri per l'impiego."))
	eventually(t, "a practice published while running is found", func() bool {
		return hasID(practiceSearch(ctx, t, cat.client, "impiego"), gol.Id)
	})

	// Restarted on its index: kept, and following from where it was.
	cat.stop()
	cat = runCatalog(t, fdb.URI(), ns.URL(), dir)
	if !hasID(practiceSearch(ctx, t, cat.client, "impiego"), gol.Id) {
		t.Fatal("the kept index lost a practice")
	}
	duale := seedPractice(ctx, t, cat.client, practiceOf("Sistema duale e apprendistato", "Alternanza scuola-lavoro."))
	eventually(t, "after a restart new events are applied", func() bool {
		return hasID(practiceSearch(ctx, t, cat.client, "apprendistato"), duale.Id)
	})

	// Deleted while the service is down: rebuilt from the database at start.
	cat.stop()
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	cat = runCatalog(t, fdb.URI(), ns.URL(), dir)
	if got := practiceSearch(ctx, t, cat.client, "impiego apprendistato"); len(got) != 0 {
		t.Fatalf("two words that no practice has together found %v", got)
	}
	for q, id := range map[string]string{"impiego": gol.Id, "apprendistato": duale.Id} {
		if !hasID(practiceSearch(ctx, t, cat.client, q), id) {
			t.Fatalf("the rebuilt index does not find %q", q)
		}
	}
	// Archived: gone from the search.
	if _, err := cat.client.ArchivePractice(ctx, &catalogv1.ArchivePracticeRequest{Id: gol.Id}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "an archived practice leaves the search", func() bool {
		return !hasID(practiceSearch(ctx, t, cat.client, "impiego"), gol.Id)
	})
}

func TestATwinningFromANeedMarksItMatched(t *testing.T) {
	integration(t)
	ctx := context.Background()
	ns := embedded.NATSForTest(t)
	fdb := embedded.FerretDBForTest(t)
	// The twinning stream does not exist when the catalog starts.
	cat := runCatalog(t, fdb.URI(), ns.URL(), "")
	org := orgOf(ctx, t, cat.client, "Regione Calabria", catalogv1.OrganizationKind_ORGANIZATION_KIND_REGION, "ITF6")
	n, err := cat.client.CreateNeed(ctx, &catalogv1.CreateNeedRequest{Need: &catalogv1.Need{
		OrganizationId: org, Title: "Certificazione delle competenze", Problem: "Standard regionali per certificare le competenze dei cittadini.",
	}})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)

	nc, err := nats.Connect(ns.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := events.EnsureStream(ctx, js, events.StreamConfig{Name: service.TwinningStream, Subjects: []string{"twinning.>"}}); err != nil {
		t.Fatal(err)
	}
	publishAs := func(subject string, version int64, tw *eventsv1.TwinningRef) {
		t.Helper()
		var payload proto.Message = &eventsv1.TwinningChanged{Twinning: tw}
		if subject == "twinning.twinning.deleted" {
			payload = &eventsv1.TwinningDeleted{Twinning: tw}
		}
		env, err := events.NewEnvelope(subject, "tester", "twinning", tw.Id, version, payload, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		data, _ := proto.Marshal(env)
		if _, err := js.Publish(ctx, subject, data, jetstream.WithMsgID(env.EventId)); err != nil {
			t.Fatal(err)
		}
	}
	publish := func(tw *eventsv1.TwinningRef) { t.Helper(); publishAs("twinning.twinning.created", 1, tw) }
	publish(&eventsv1.TwinningRef{Id: "tw-direct", Origin: twinningv1.Origin_ORIGIN_DIRECT})
	publish(&eventsv1.TwinningRef{Id: "tw-1", Origin: twinningv1.Origin_ORIGIN_NEED, OriginRef: n.Id})
	publish(&eventsv1.TwinningRef{Id: "tw-1", Origin: twinningv1.Origin_ORIGIN_NEED, OriginRef: n.Id}) // delivered again, as a new event
	publish(&eventsv1.TwinningRef{Id: "tw-2", Origin: twinningv1.Origin_ORIGIN_NEED, OriginRef: "no-such-need"})

	var got *catalogv1.Need
	eventually(t, "the need is matched", func() bool {
		got, err = cat.client.GetNeed(ctx, &catalogv1.GetNeedRequest{Id: n.Id})
		return err == nil && got.Status == catalogv1.NeedStatus_NEED_STATUS_MATCHED
	})
	if got.MatchedTwinningId != "tw-1" {
		t.Fatalf("matched by %q", got.MatchedTwinningId)
	}
	// The repeated event changed nothing more: one matched event.
	eventually(t, "one catalog.need.matched event", func() bool {
		counts := catalogSubjects(ctx, t, js)
		return counts["catalog.need.matched"] == 1 && counts["catalog.need.opened"] == 1
	})
	time.Sleep(1500 * time.Millisecond)
	again, _ := cat.client.GetNeed(ctx, &catalogv1.GetNeedRequest{Id: n.Id})
	if again.Etag != got.Etag {
		t.Fatalf("the repeated event wrote again: etag %s then %s", got.Etag, again.Etag)
	}

	// The twinning is cancelled: the need is open again, and the
	// twinning's creation delivered late does not match it again; a new
	// twinning from it matches it, and its deletion opens it again.
	publishAs("twinning.twinning.cancelled", 3, &eventsv1.TwinningRef{Id: "tw-1", Origin: twinningv1.Origin_ORIGIN_NEED, OriginRef: n.Id})
	eventually(t, "the need is open again", func() bool {
		got, err = cat.client.GetNeed(ctx, &catalogv1.GetNeedRequest{Id: n.Id})
		return err == nil && got.Status == catalogv1.NeedStatus_NEED_STATUS_OPEN && got.MatchedTwinningId == ""
	})
	publish(&eventsv1.TwinningRef{Id: "tw-1", Origin: twinningv1.Origin_ORIGIN_NEED, OriginRef: n.Id})
	publish(&eventsv1.TwinningRef{Id: "tw-3", Origin: twinningv1.Origin_ORIGIN_NEED, OriginRef: n.Id})
	eventually(t, "the need is matched by the new twinning", func() bool {
		got, err = cat.client.GetNeed(ctx, &catalogv1.GetNeedRequest{Id: n.Id})
		return err == nil && got.Status == catalogv1.NeedStatus_NEED_STATUS_MATCHED
	})
	if got.MatchedTwinningId != "tw-3" {
		t.Fatalf("matched by %q, want tw-3 (tw-1 was cancelled)", got.MatchedTwinningId)
	}
	publishAs("twinning.twinning.deleted", 2, &eventsv1.TwinningRef{Id: "tw-3", Origin: twinningv1.Origin_ORIGIN_NEED, OriginRef: n.Id})
	eventually(t, "the need is open after the deletion", func() bool {
		got, err = cat.client.GetNeed(ctx, &catalogv1.GetNeedRequest{Id: n.Id})
		return err == nil && got.Status == catalogv1.NeedStatus_NEED_STATUS_OPEN
	})
	eventually(t, "two catalog.need.reopened events", func() bool {
		counts := catalogSubjects(ctx, t, js)
		return counts["catalog.need.reopened"] == 2 && counts["catalog.need.matched"] == 2
	})
}
