package stack

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/gemella/gemella/deploy/devstack/demo"
	gateway "github.com/gemella/gemella/gateway/server"
	catalogv1 "github.com/gemella/gemella/proto/gemella/catalog/v1"
	discussionv1 "github.com/gemella/gemella/proto/gemella/discussion/v1"
	"github.com/gemella/gemella/services/platform/grpcx"
	catalog "github.com/gemella/gemella/services/practice-catalog/service"
)

// The story of `make run`: a fresh data directory gets the demo data, the
// gateway serves it, loading it again changes nothing, and a restart on the
// same directory finds it all again.
func TestStackServesDemoDataAndKeepsItAcrossRestart(t *testing.T) {
	dataDir := t.TempDir()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()

	// The gateway listens before the demo data is loaded: a script that
	// logs in at /readyz's first 200 must find the demo accounts.
	// The hook runs once the gateway's port is chosen (and held), before
	// the gateway starts.
	var firstReady func() (int, int, error)
	st := startWith(ctx, t, dataDir, true, func(c *gateway.Config) { firstReady = loginAtFirstReady(ctx, "http://"+c.HTTPAddr) })
	if starting, login, err := firstReady(); err != nil || login != http.StatusOK {
		t.Errorf("log in at /readyz's first 200 (after %d answers 503): status %d, %v; want 200", starting, login, err)
	} else {
		t.Logf("/readyz answered 503 %d times while the demo data loaded", starting)
	}

	practices := listPracticesOverHTTP(ctx, t, st.GatewayURL())
	tosCa := findPractice(t, practices, demo.TosCaSlug)
	if tosCa.Status != "PRACTICE_STATUS_PUBLISHED" {
		t.Errorf("Tos.Ca. status = %s, want PRACTICE_STATUS_PUBLISHED", tosCa.Status)
	}
	if got, want := tosCa.modelCodes(), []string{"A", "B", "C", "D", "E"}; !slices.Equal(got, want) {
		t.Errorf("Tos.Ca. models = %v, want %v", got, want)
	}
	if len(tosCa.Owners) != 2 {
		t.Errorf("Tos.Ca. has %d owners, want 2 (Regione Toscana, Comune di Firenze)", len(tosCa.Owners))
	}
	for _, p := range practices {
		if p.Status != "PRACTICE_STATUS_PUBLISHED" {
			t.Errorf("demo practice %s is %s, want published", p.Slug, p.Status)
		}
	}

	checkTosCaTwinning(ctx, t, st.GatewayURL())
	checkCommunity(ctx, t, st.GatewayURL())
	checkSearch(ctx, t, st.GatewayURL())

	client := catalogClient(t, st.CatalogAddr())
	wantOrgs, wantPractices := demo.Counts()
	orgs, prs := count(ctx, t, client)
	if orgs != wantOrgs || prs != wantPractices {
		t.Fatalf("after the first load: %d organisations, %d practices; want %d, %d", orgs, prs, wantOrgs, wantPractices)
	}
	asAdmin, err := st.AdminContext(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := demo.Load(asAdmin, client, testLogger()); err != nil {
		t.Fatalf("second demo load: %v", err)
	}
	conn, err := grpcx.Dial(st.URLs().Discussion, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	if err := demo.LoadAccounts(asAdmin, discussionv1.NewDiscussionServiceClient(conn), client, testLogger()); err != nil {
		t.Fatalf("second load of the demo accounts: %v", err)
	}
	checkDemoAccounts(ctx, t, st.GatewayURL())
	if orgs2, prs2 := count(ctx, t, client); orgs2 != orgs || prs2 != prs {
		t.Fatalf("the second load changed the counts: %d→%d organisations, %d→%d practices", orgs, orgs2, prs, prs2)
	}

	waitForCatalogEvents(ctx, t, st.NATSURL())

	if err := st.Stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if err, open := <-st.Wait(); open {
		t.Fatalf("Wait after a clean Stop delivered %v, want a closed channel", err)
	}

	restarted := startForTest(ctx, t, dataDir, false)
	client = catalogClient(t, restarted.CatalogAddr())
	if orgs3, prs3 := count(ctx, t, client); orgs3 != orgs || prs3 != prs {
		t.Fatalf("after restart: %d organisations, %d practices; want %d, %d", orgs3, prs3, orgs, prs)
	}
	again := findPractice(t, listPracticesOverHTTP(ctx, t, restarted.GatewayURL()), demo.TosCaSlug)
	if again.ID != tosCa.ID || again.Status != "PRACTICE_STATUS_PUBLISHED" {
		t.Errorf("after restart Tos.Ca. is %s (%s), want %s (PRACTICE_STATUS_PUBLISHED)", again.ID, again.Status, tosCa.ID)
	}
}

func TestOptionsReportEveryProblem(t *testing.T) {
	err := Options{HTTPAddr: "8080", CatalogAddr: "localhost", NATSPort: -1}.validate()
	if err == nil {
		t.Fatal("validate accepted bad options")
	}
	for _, want := range []string{"DataDir", "HTTPAddr", "CatalogAddr", "NATSPort"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
}

func TestDialableReplacesWildcardHosts(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"127.0.0.1:8080", "127.0.0.1:8080"},
		{"0.0.0.0:8080", "127.0.0.1:8080"},
		{":8080", "127.0.0.1:8080"},
		{"[::]:8080", "[::1]:8080"},
		{"localhost:9091", "localhost:9091"},
	} {
		if got := dialable(tc.in); got != tc.want {
			t.Errorf("dialable(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// waitForCatalogEvents checks that the catalog's outbox relay reached the
// stack's NATS: the demo's creations and state moves are events.
func waitForCatalogEvents(ctx context.Context, t *testing.T, natsURL string) {
	t.Helper()
	nc, err := nats.Connect(natsURL)
	if err != nil {
		t.Fatalf("connect to nats: %v", err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatalf("jetstream: %v", err)
	}
	for {
		stream, err := js.Stream(ctx, catalog.StreamName)
		if err == nil && stream.CachedInfo().State.Msgs > 0 {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("no catalog events in stream %s (last error: %v)", catalog.StreamName, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func startForTest(ctx context.Context, t *testing.T, dataDir string, loadDemo bool) *Stack {
	t.Helper()
	return startWith(ctx, t, dataDir, loadDemo, nil)
}

// startWith is startForTest with a hook on the gateway's configuration.
func startWith(ctx context.Context, t *testing.T, dataDir string, loadDemo bool, hook func(*gateway.Config)) *Stack {
	t.Helper()
	st, err := Start(ctx, Options{
		DataDir:        dataDir,
		HTTPAddr:       "127.0.0.1:0",
		CatalogAddr:    "127.0.0.1:0",
		TwinningAddr:   "127.0.0.1:0",
		DiscussionAddr: "127.0.0.1:0",
		NATSPort:       0,
		Logger:         testLogger(),
		LoadDemo:       loadDemo,
		Gateway:        hook,
	})
	if err != nil {
		t.Fatalf("start stack: %v", err)
	}
	t.Cleanup(func() {
		if err := st.Stop(); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	return st
}

// testLogger shows only warnings: the stack's goroutines may log while a
// test stops it, when t.Log may no longer be used.
func testLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

func catalogClient(t *testing.T, addr string) catalogv1.CatalogServiceClient {
	t.Helper()
	conn, err := grpcx.Dial(addr, 10*time.Second)
	if err != nil {
		t.Fatalf("dial catalog: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return catalogv1.NewCatalogServiceClient(conn)
}

// count pages through every organisation and practice.
func count(ctx context.Context, t *testing.T, client catalogv1.CatalogServiceClient) (organizations, practices int) {
	t.Helper()
	for token := ""; ; {
		resp, err := client.ListOrganizations(ctx, &catalogv1.ListOrganizationsRequest{PageSize: 100, PageToken: token})
		if err != nil {
			t.Fatalf("list organisations: %v", err)
		}
		organizations += len(resp.GetOrganizations())
		if token = resp.GetNextPageToken(); token == "" {
			break
		}
	}
	for token := ""; ; {
		resp, err := client.ListPractices(ctx, &catalogv1.ListPracticesRequest{PageSize: 100, PageToken: token})
		if err != nil {
			t.Fatalf("list practices: %v", err)
		}
		practices += len(resp.GetPractices())
		if token = resp.GetNextPageToken(); token == "" {
			break
		}
	}
	return organizations, practices
}

// practiceJSON is the part of a practice the tests read, as the gateway
// writes it (proto field names).
type practiceJSON struct {
	ID     string   `json:"id"`
	Slug   string   `json:"slug"`
	Status string   `json:"status"`
	Owners []string `json:"owner_organization_ids"`
	Models []struct {
		Code  string `json:"code"`
		Owner string `json:"owner_organization_id"`
	} `json:"models"`
}

func (p practiceJSON) modelCodes() []string {
	var codes []string
	for _, m := range p.Models {
		codes = append(codes, m.Code)
	}
	slices.Sort(codes)
	return codes
}

func listPracticesOverHTTP(ctx context.Context, t *testing.T, gatewayURL string) []practiceJSON {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, gatewayURL+"/v1/practices?page_size=100", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET /v1/practices: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /v1/practices: %s", resp.Status)
	}
	var body struct {
		Practices []practiceJSON `json:"practices"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("decode /v1/practices: %v", err)
	}
	return body.Practices
}

func findPractice(t *testing.T, practices []practiceJSON, slug string) practiceJSON {
	t.Helper()
	for _, p := range practices {
		if p.Slug == slug {
			return p
		}
	}
	t.Fatalf("no practice %s among %d listed", slug, len(practices))
	return practiceJSON{}
}

// checkTosCaTwinning reads GET /v1/twinnings as a newcomer would after
// make run: Tos.Ca. with models A, B, C from Regione Toscana to Regione
// Calabria and D, E from Comune di Firenze to Comune di Vibo Valentia.
func checkTosCaTwinning(ctx context.Context, t *testing.T, gatewayURL string) {
	t.Helper()
	var list struct {
		Twinnings []struct {
			Code      string `json:"code"`
			Title     string `json:"title"`
			Status    string `json:"status"`
			Programme struct {
				Name       string   `json:"name"`
				Priorities []string `json:"priorities"`
			} `json:"programme"`
			Transfers []struct {
				ModelCode string `json:"model_code"`
				From      string `json:"from_organization_id"`
				To        string `json:"to_organization_id"`
			} `json:"transfers"`
		} `json:"twinnings"`
	}
	getJSON(ctx, t, gatewayURL+"/v1/twinnings", &list)
	var orgs struct {
		Organizations []struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"organizations"`
	}
	getJSON(ctx, t, gatewayURL+"/v1/organizations?page_size=100", &orgs)
	name := map[string]string{}
	for _, o := range orgs.Organizations {
		name[o.ID] = o.Name
	}
	for _, tw := range list.Twinnings {
		if tw.Code != "TOSCA" {
			continue
		}
		if tw.Programme.Name != "AGIRE POR 2007-2013" || strings.Join(tw.Programme.Priorities, ",") != "1,4,10" {
			t.Errorf("Tos.Ca. programme = %+v", tw.Programme)
		}
		var got []string
		for _, tr := range tw.Transfers {
			got = append(got, tr.ModelCode+": "+name[tr.From]+" → "+name[tr.To])
		}
		slices.Sort(got)
		want := []string{
			"A: Regione Toscana → Regione Calabria", "B: Regione Toscana → Regione Calabria", "C: Regione Toscana → Regione Calabria",
			"D: Comune di Firenze → Comune di Vibo Valentia", "E: Comune di Firenze → Comune di Vibo Valentia",
		}
		if !slices.Equal(got, want) {
			t.Errorf("Tos.Ca. transfers:\n got %q\nwant %q", got, want)
		}
		return
	}
	t.Fatalf("GET /v1/twinnings does not list Tos.Ca.: %+v", list)
}

func getJSON(ctx context.Context, t *testing.T, url string, into any) {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, body)
	}
	if err := json.NewDecoder(resp.Body).Decode(into); err != nil {
		t.Fatal(err)
	}
}

// checkCommunity: GET /v1/threads lists the Tos.Ca. general thread, and
// GET /v1/members lists the latest members without e-mail addresses.
func checkCommunity(ctx context.Context, t *testing.T, gatewayURL string) {
	t.Helper()
	var threads struct {
		Threads []struct {
			Title     string `json:"title"`
			Scope     string `json:"scope"`
			PostCount int    `json:"post_count"`
		} `json:"threads"`
	}
	getJSON(ctx, t, gatewayURL+"/v1/threads", &threads)
	found := false
	for _, th := range threads.Threads {
		if strings.HasPrefix(th.Title, "Discussione generale relativa al gemellaggio") && strings.Contains(th.Title, "Tos.Ca.") && th.Scope == "SCOPE_TWINNING" {
			found = true
			if th.PostCount < 2 {
				t.Errorf("the Tos.Ca. general thread has %d posts, want the demo's posts and replies", th.PostCount)
			}
		}
	}
	if !found {
		t.Errorf("GET /v1/threads does not list the Tos.Ca. general thread: %+v", threads)
	}
	req, _ := http.NewRequestWithContext(ctx, "GET", gatewayURL+"/v1/members", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var members struct {
		Members []struct {
			DisplayName string `json:"display_name"`
			Email       string `json:"email"`
		} `json:"members"`
	}
	if err := json.Unmarshal(body, &members); err != nil || len(members.Members) == 0 {
		t.Fatalf("GET /v1/members: %v %s", err, body)
	}
	if strings.Contains(string(body), "@") {
		t.Errorf("GET /v1/members shows an e-mail address: %s", body)
	}
}

// checkDemoAccounts logs every demo account in over REST and reads the
// roles and verified organisations its session carries.
func checkDemoAccounts(ctx context.Context, t *testing.T, gatewayURL string) {
	t.Helper()
	var orgs struct {
		Organizations []struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"organizations"`
	}
	getJSON(ctx, t, gatewayURL+"/v1/organizations?page_size=100", &orgs)
	name := map[string]string{}
	for _, o := range orgs.Organizations {
		name[o.ID] = o.Name
	}
	for _, a := range demo.Accounts {
		body := strings.NewReader(`{"email":"` + a.Email + `","password":"` + demo.AccountPassword + `"}`)
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, gatewayURL+"/v1/sessions", body)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var session struct {
			Member struct {
				EmailVerified bool     `json:"email_verified"`
				Roles         []string `json:"roles"`
				Affiliations  []struct {
					OrganizationID string `json:"organization_id"`
					Status         string `json:"status"`
				} `json:"affiliations"`
			} `json:"member"`
		}
		err = json.NewDecoder(resp.Body).Decode(&session)
		_ = resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("log in as %s: %d %v", a.Email, resp.StatusCode, err)
		}
		if !session.Member.EmailVerified {
			t.Errorf("%s: the demo address is not verified: the portal asks to confirm it", a.Email)
		}
		var verified []string
		for _, af := range session.Member.Affiliations {
			if af.Status == "AFFILIATION_STATUS_VERIFIED" {
				verified = append(verified, name[af.OrganizationID])
			}
		}
		slices.Sort(verified)
		want := slices.Sorted(slices.Values(a.EditorOf))
		if !slices.Equal(verified, want) {
			t.Errorf("%s speaks for %v, want %v", a.Email, verified, want)
		}
		for _, r := range a.Roles {
			if !slices.Contains(session.Member.Roles, "ROLE_"+strings.ToUpper(r)) {
				t.Errorf("%s has roles %v, want %s among them", a.Email, session.Member.Roles, r)
			}
		}
		if len(a.EditorOf) > 0 && !slices.Contains(session.Member.Roles, "ROLE_EDITOR") {
			t.Errorf("%s is not an editor: %v", a.Email, session.Member.Roles)
		}
	}
}

// checkSearch: GET /v1/search/practices?q=competenze returns Tos.Ca. with a
// highlighted snippet, and the demo needs have matches with reasons.
func checkSearch(ctx context.Context, t *testing.T, gatewayURL string) {
	t.Helper()
	var res struct {
		Hits []struct {
			Practice struct {
				Slug string `json:"slug"`
			} `json:"practice"`
			Highlights []struct {
				Fragments []string `json:"fragments"`
			} `json:"highlights"`
		} `json:"hits"`
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		getJSON(ctx, t, gatewayURL+"/v1/search/practices?q=competenze", &res)
		if len(res.Hits) > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	found := false
	for _, h := range res.Hits {
		if h.Practice.Slug != demo.TosCaSlug {
			continue
		}
		for _, hl := range h.Highlights {
			for _, f := range hl.Fragments {
				if strings.Contains(f, "<mark>") {
					found = true
				}
			}
		}
	}
	if !found {
		t.Errorf("searching competenze does not return Tos.Ca. with a highlighted snippet: %+v", res)
	}
	var needs struct {
		Needs []struct {
			ID string `json:"id"`
		} `json:"needs"`
	}
	getJSON(ctx, t, gatewayURL+"/v1/needs", &needs)
	if len(needs.Needs) == 0 {
		t.Fatal("the demo has no needs")
	}
	var matches struct {
		Matches []struct {
			Reasons struct {
				MatchedTerms []string `json:"matched_terms"`
				SharedThemes []string `json:"shared_themes"`
			} `json:"reasons"`
		} `json:"matches"`
	}
	getJSON(ctx, t, gatewayURL+"/v1/needs/"+needs.Needs[0].ID+"/matches", &matches)
	if len(matches.Matches) == 0 || len(matches.Matches[0].Reasons.MatchedTerms)+len(matches.Matches[0].Reasons.SharedThemes) == 0 {
		t.Errorf("a demo need has no match with reasons: %+v", matches)
	}
}

// loginAtFirstReady asks the gateway's /readyz every 10 ms and, at its
// first 200, logs in with a demo account, as a script waiting for the
// stack would. The returned wait reports how many 503 answers came
// before, and the login's status (0: no 200 came before ctx ended).
func loginAtFirstReady(ctx context.Context, gatewayURL string) (wait func() (starting, login int, err error)) {
	type result struct {
		starting, login int
		err             error
	}
	done := make(chan result, 1)
	go func() {
		var r result
		defer func() { done <- r }()
		for ctx.Err() == nil {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, gatewayURL+"/readyz", nil)
			resp, err := http.DefaultClient.Do(req)
			if err == nil {
				_ = resp.Body.Close()
				switch resp.StatusCode {
				case http.StatusServiceUnavailable:
					r.starting++
				case http.StatusOK:
					body := strings.NewReader(`{"email":"` + demo.Accounts[0].Email + `","password":"` + demo.AccountPassword + `"}`)
					req, _ := http.NewRequestWithContext(ctx, http.MethodPost, gatewayURL+"/v1/sessions", body)
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						r.err = err
						return
					}
					_ = resp.Body.Close()
					r.login = resp.StatusCode
					return
				}
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	return func() (int, int, error) {
		r := <-done
		return r.starting, r.login, r.err
	}
}
