package service_test

import (
	"github.com/gemella/gemella/services/platform/apperr/errbody"
	"github.com/gemella/gemella/services/platform/config"

	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	gateway "github.com/gemella/gemella/gateway/server"
	discussionv1 "github.com/gemella/gemella/proto/gemella/discussion/v1"
	eventsv1 "github.com/gemella/gemella/proto/gemella/events/v1"
	twinningv1 "github.com/gemella/gemella/proto/gemella/twinning/v1"
	"github.com/gemella/gemella/services/discussion/service"
	"github.com/gemella/gemella/services/platform/auth"
	"github.com/gemella/gemella/services/platform/embedded"
	"github.com/gemella/gemella/services/platform/events"
	"github.com/gemella/gemella/services/platform/grpcx"
)

var quiet = slog.New(slog.DiscardHandler)

// env is one test's FerretDB, NATS and discussion service.
type env struct {
	nats *embedded.NATS
	cfg  service.Config
	svc  *service.Service
	stop func()
}

func start(t *testing.T) *env {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: needs the embedded FerretDB and NATS")
	}
	e := &env{nats: embedded.NATSForTest(t)}
	fdb := embedded.FerretDBForTest(t)
	keyFile := filepath.Join(t.TempDir(), "auth", "signing-key.pem")
	if _, err := auth.LoadOrCreateKeyFile(keyFile); err != nil {
		t.Fatal(err)
	}
	e.cfg = service.DefaultConfig()
	e.cfg.GRPC.Addr = "127.0.0.1:0"
	e.cfg.Mongo.URI = fdb.URI()
	e.cfg.Mongo.DocLocks = config.DocLocksLease // the embedded FerretDB writes non-atomically
	e.cfg.NATS.URL = e.nats.URL()
	e.cfg.Auth.KeyFile = keyFile
	e.startService(t)
	t.Cleanup(e.stopService)
	return e
}

func (e *env) startService(t *testing.T) {
	t.Helper()
	svc, err := service.New(context.Background(), e.cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	e.svc = svc
	e.stop = func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("service stopped with %v", err)
		}
	}
	waitReady(t, svc)
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
	if e.stop != nil {
		e.stop()
		e.stop = nil
	}
}

func (e *env) grpcClient(t *testing.T) discussionv1.DiscussionServiceClient {
	t.Helper()
	conn, err := grpcx.Dial(e.svc.Addr(), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return discussionv1.NewDiscussionServiceClient(conn)
}

// startGateway runs the real gateway in front of the service, with the
// other backends out and rate limits too high to matter here.
func (e *env) startGateway(t *testing.T) string {
	t.Helper()
	cfg := gateway.DefaultConfig()
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.DiscussionAddr = e.svc.Addr()
	// The gateway's configuration insists on a catalog address; nothing
	// here calls it.
	cfg.CatalogAddr = "127.0.0.1:1"
	cfg.TwinningAddr, cfg.NATSURL = gateway.BackendDisabled, gateway.BackendDisabled
	cfg.LoginPerMinute, cfg.LoginBurst = 6000, 1000
	cfg.RegisterPerMinute, cfg.RegisterBurst = 6000, 1000
	cfg.WritePerMinute, cfg.WriteBurst = 6000, 1000
	gw, err := gateway.New(context.Background(), cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	if err := gw.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = gw.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done; _ = gw.Close() })
	return "http://" + gw.Addr()
}

// rest is a REST client of the gateway: a bearer token, or a cookie jar
// when it logs in as a browser does.
type rest struct {
	t      *testing.T
	base   string
	token  string
	client *http.Client
}

type reply struct {
	status int
	header http.Header
	raw    string
	body   map[string]any
}

func (r reply) str(key string) string { s, _ := r.body[key].(string); return s }

func (r reply) num(key string) float64 { n, _ := r.body[key].(float64); return n }

func (r reply) list(key string) []map[string]any {
	var out []map[string]any
	items, _ := r.body[key].([]any)
	for _, it := range items {
		out = append(out, it.(map[string]any))
	}
	return out
}

func (r reply) errorStatus() string { return errbody.StatusName(r.body) }

func (r reply) errorMessage() string {
	s, _ := r.body["message"].(string)
	return s
}

func (c rest) do(method, path string, body any) reply {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	client := c.client
	if client == nil {
		client = http.DefaultClient
	}
	if client.Jar != nil {
		// A browser's page script repeats the CSRF cookie in a header.
		for _, ck := range client.Jar.Cookies(req.URL) {
			if ck.Name == "gemella_csrf" {
				req.Header.Set("X-CSRF-Token", ck.Value)
			}
		}
	}
	resp, err := client.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := reply{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	if err := json.Unmarshal(raw, &out.body); err != nil {
		c.t.Fatalf("%s %s: body is not JSON: %s", method, path, raw)
	}
	return out
}

func (c rest) must(status int, method, path string, body any) reply {
	c.t.Helper()
	r := c.do(method, path, body)
	if r.status != status {
		c.t.Fatalf("%s %s: %d, want %d: %s", method, path, r.status, status, r.raw)
	}
	return r
}

const password = "una password abbastanza lunga"

type person struct{ name, email, org, role string }

var people = []person{
	{"Chiara Bellini", "chiara.bellini@example.it", "Regione Toscana", "Project manager"},
	{"Bruno Lamberti", "bruno.lamberti@example.it", "Regione Calabria", "Funzionario"},
	{"Carla Serra", "carla.serra@example.it", "Comune di Vibo Valentia", "Funzionario"},
	{"Davide Pace", "davide.pace@example.it", "Istituto Comprensivo Vinci", "Docente"},
	{"Marta Moderi", "marta.moderi@example.it", "Comune di Firenze", "Funzionario"},
	{"Tino Bersaglio", "tino.bersaglio@example.it", "Regione Puglia", "Funzionario"},
}

func TestCommunityOverTheGateway(t *testing.T) {
	e := start(t)
	base := e.startGateway(t)
	anon := rest{t: t, base: base}

	ids := map[string]string{}
	for _, p := range people {
		r := anon.must(200, "POST", "/v1/members", map[string]any{
			"member":   map[string]any{"display_name": p.name, "email": p.email, "organization_name": p.org, "role_title": p.role},
			"password": password, "privacy_consent": true,
		})
		if r.str("email") != p.email || strings.Contains(r.raw, "password") || strings.Contains(r.raw, "argon2") {
			t.Fatalf("registration answer: %s", r.raw)
		}
		ids[p.email] = r.str("id")
	}
	dup := anon.do("POST", "/v1/members", map[string]any{"member": map[string]any{"display_name": "Altra", "email": "CHIARA.BELLINI@example.it"}, "password": password, "privacy_consent": true})
	if dup.status != 409 || dup.errorStatus() != "ALREADY_EXISTS" {
		t.Fatalf("same e-mail again: %s", dup.raw)
	}
	if err := e.svc.GrantRoles(context.Background(), "marta.moderi@example.it", auth.RoleModerator); err != nil {
		t.Fatal(err)
	}

	logIn := func(email string) rest {
		r := anon.must(200, "POST", "/v1/sessions", map[string]any{"email": email, "password": password})
		return rest{t: t, base: base, token: r.str("token")}
	}
	chiara, carla, davide, marta := logIn(people[0].email), logIn(people[2].email), logIn(people[3].email), logIn(people[4].email)

	// Bruno logs in as a browser: the cookie carries his session.
	jar, _ := cookiejar.New(nil)
	bruno := rest{t: t, base: base, client: &http.Client{Jar: jar, Timeout: 10 * time.Second}}
	login := bruno.must(200, "POST", "/v1/sessions", map[string]any{"email": people[1].email, "password": password})
	if cookie := login.header.Get("Set-Cookie"); !strings.Contains(cookie, "gemella_session=") || !strings.Contains(cookie, "HttpOnly") || !strings.Contains(cookie, "SameSite=Lax") {
		t.Fatalf("log-in cookie: %q", cookie)
	}
	if me := bruno.must(200, "GET", "/v1/me", nil); me.str("id") != ids[people[1].email] || me.str("email") != people[1].email {
		t.Fatalf("the cookie does not identify Bruno: %s", me.raw)
	}

	// Writing needs a valid session; reading does not.
	thread := map[string]any{"scope": "SCOPE_GENERAL", "title": "Il Libretto formativo in Calabria", "body": "Come lo state usando?"}
	if r := anon.do("POST", "/v1/threads", thread); r.status != 401 {
		t.Fatalf("anonymous thread: %s", r.raw)
	}
	forged := rest{t: t, base: base, token: chiara.token[:len(chiara.token)-4] + "AAAA"}
	if r := forged.do("POST", "/v1/threads", thread); r.status != 401 {
		t.Fatalf("forged token: %s", r.raw)
	}
	th := chiara.must(200, "POST", "/v1/threads", thread)
	threadID := th.str("id")

	first := chiara.must(200, "POST", "/v1/threads/"+threadID+"/posts", map[string]any{"body": "Il **modello B** è pronto."})
	postID := first.str("id")
	if !strings.Contains(first.str("body_html"), "<strong>modello B</strong>") {
		t.Fatalf("rendered: %s", first.raw)
	}
	replyPost := bruno.must(200, "POST", "/v1/threads/"+threadID+"/posts", map[string]any{"parent_id": postID, "body": "Lo proviamo a Catanzaro."})
	if replyPost.str("parent_id") != postID || replyPost.str("author_id") != ids[people[1].email] {
		t.Fatalf("reply: %s", replyPost.raw)
	}
	edited := chiara.must(200, "PATCH", "/v1/posts/"+postID, map[string]any{"body": "Il **modello B** è pronto per il trasferimento."})
	if edited.str("edit_time") == "" || !strings.Contains(edited.str("body"), "trasferimento") {
		t.Fatalf("edit: %s", edited.raw)
	}
	if r := bruno.do("PATCH", "/v1/posts/"+postID, map[string]any{"body": "non mio"}); r.status != 403 {
		t.Fatalf("editing another's post: %s", r.raw)
	}
	got := anon.must(200, "GET", "/v1/threads/"+threadID, nil)
	if got.num("post_count") != 2 || got.num("participant_count") != 2 || got.str("last_activity_time") == got.str("create_time") {
		t.Fatalf("thread counters: %s", got.raw)
	}

	// Three members report the first post: it is hidden pending review.
	bruno.must(200, "POST", "/v1/posts/"+postID+":report", map[string]any{"reason": "fuori tema"})
	if r := bruno.do("POST", "/v1/posts/"+postID+":report", map[string]any{"reason": "ancora"}); r.status != 409 {
		t.Fatalf("reporting twice: %s", r.raw)
	}
	if r := carla.do("POST", "/v1/posts/"+postID+":report", map[string]any{}); r.status != 400 || !strings.Contains(r.raw, "reason") {
		t.Fatalf("a report without a reason: %s", r.raw)
	}
	carla.must(200, "POST", "/v1/posts/"+postID+":report", map[string]any{"reason": "offensivo"})
	hidden := davide.must(200, "POST", "/v1/posts/"+postID+":report", map[string]any{"reason": "pubblicità"})
	if hidden.str("state") != "POST_STATE_HIDDEN" || hidden.str("body") != "" {
		t.Fatalf("after the third report: %s", hidden.raw)
	}
	postIDs := func(c rest) map[string]map[string]any {
		out := map[string]map[string]any{}
		for _, p := range c.must(200, "GET", "/v1/threads/"+threadID+"/posts", nil).list("posts") {
			out[p["id"].(string)] = p
		}
		return out
	}
	if _, shown := postIDs(anon)[postID]; shown {
		t.Fatal("a hidden post is shown to anonymous readers")
	}
	if _, shown := postIDs(chiara)[postID]; shown {
		t.Fatal("a hidden post is shown to its author")
	}
	if p, shown := postIDs(marta)[postID]; !shown || p["state"] != "POST_STATE_HIDDEN" || p["body"] == "" {
		t.Fatalf("the moderator does not see the hidden post: %v", p)
	}
	queue := marta.must(200, "GET", "/v1/moderation/posts", nil).list("posts")
	if len(queue) != 1 || queue[0]["id"] != postID || queue[0]["report_count"] != float64(3) || queue[0]["moderated_by"] != "reports" {
		t.Fatalf("moderation queue: %v", queue)
	}
	if reports, _ := queue[0]["reports"].([]any); len(reports) != 3 || reports[0].(map[string]any)["reason"] != "fuori tema" || reports[0].(map[string]any)["member_name"] == "" {
		t.Fatalf("the queue does not say who reported and why: %v", queue[0]["reports"])
	}
	if p := postIDs(marta)[postID]; p["reports"] == nil {
		t.Fatalf("the moderator's thread view has no reports: %v", p)
	}
	if r := chiara.do("POST", "/v1/posts/"+postID+":restore", map[string]any{"reason": "è mio"}); r.status != 403 {
		t.Fatalf("a member restores: %s", r.raw)
	}
	if r := anon.do("GET", "/v1/moderation/posts", nil); r.status != 401 {
		t.Fatalf("anonymous moderation queue: %s", r.raw)
	}
	restored := marta.must(200, "POST", "/v1/posts/"+postID+":restore", map[string]any{"reason": "Nessuna regola violata"})
	if restored.str("state") != "POST_STATE_VISIBLE" || restored.str("moderation_reason") != "Nessuna regola violata" {
		t.Fatalf("restored: %s", restored.raw)
	}
	if _, shown := postIDs(anon)[postID]; !shown {
		t.Fatal("a restored post is not shown")
	}
	if r := marta.do("POST", "/v1/posts/"+postID+":dismissReports", map[string]any{"reason": "già visto"}); r.status != 409 {
		t.Fatalf("dismissing reports already reviewed: %d %s", r.status, r.raw)
	}
	if r := chiara.do("GET", "/v1/moderation/log", nil); r.status != 403 {
		t.Fatalf("a member reads the moderation log: %d %s", r.status, r.raw)
	}
	entries := marta.must(200, "GET", "/v1/moderation/log", nil).list("entries")
	if len(entries) != 2 || entries[0]["action"] != "MODERATION_ACTION_RESTORED" || entries[0]["reason"] != "Nessuna regola violata" ||
		entries[0]["moderator_name"] == "" || entries[1]["action"] != "MODERATION_ACTION_HIDDEN_BY_REPORTS" {
		t.Fatalf("moderation log: %v", entries)
	}

	// Active content typed into a post never reaches the HTML.
	attack := "<script>alert(1)</script>\n\n<img src=x onerror=alert(2)>\n\n[clicca qui](javascript:alert(3)) e **grassetto**"
	xss := carla.must(200, "POST", "/v1/threads/"+threadID+"/posts", map[string]any{"body": attack})
	html := strings.ToLower(xss.str("body_html"))
	for _, bad := range []string{"<script", "onerror", "javascript:"} {
		if strings.Contains(html, bad) {
			t.Errorf("%q survived rendering: %s", bad, html)
		}
	}
	if xss.str("body") != attack || !strings.Contains(html, "<strong>grassetto</strong>") {
		t.Fatalf("the body is stored as written and the rest rendered: %s", xss.raw)
	}

	// E-mail addresses are never shown to others.
	list := anon.must(200, "GET", "/v1/members?page_size=50", nil)
	if len(list.list("members")) != len(people) {
		t.Fatalf("%d members listed", len(list.list("members")))
	}
	otherView := bruno.must(200, "GET", "/v1/members/"+ids[people[0].email], nil)
	for _, p := range people {
		if strings.Contains(list.raw, p.email) || strings.Contains(otherView.raw, p.email) || strings.Contains(strings.ToLower(list.raw), "example.it") {
			t.Fatalf("an e-mail address is shown to others: %s", list.raw)
		}
	}
	if own := chiara.must(200, "GET", "/v1/members/"+ids[people[0].email], nil); own.str("email") != people[0].email {
		t.Fatalf("a member does not see her own e-mail: %s", own.raw)
	}

	// Log-in: one answer for an unknown address and a wrong password; then a delay.
	wrong := anon.do("POST", "/v1/sessions", map[string]any{"email": people[5].email, "password": "sbagliatissima"})
	unknown := anon.do("POST", "/v1/sessions", map[string]any{"email": "nessuno@example.it", "password": "sbagliatissima"})
	if wrong.status != 401 || unknown.status != 401 || wrong.errorMessage() != unknown.errorMessage() {
		t.Fatalf("wrong password %d %q, unknown e-mail %d %q", wrong.status, wrong.errorMessage(), unknown.status, unknown.errorMessage())
	}
	var last reply
	for i := 0; i < 4; i++ {
		last = anon.do("POST", "/v1/sessions", map[string]any{"email": people[5].email, "password": "sbagliatissima"})
	}
	if last.status != 429 || last.errorStatus() != "RESOURCE_EXHAUSTED" {
		t.Fatalf("after five failures in a row: %s", last.raw)
	}
	if r := anon.do("POST", "/v1/sessions", map[string]any{"email": people[5].email, "password": password}); r.status != 429 {
		t.Fatalf("the right password during the delay: %s", r.raw)
	}
	logIn(people[1].email) // others log in meanwhile

	// A story is public once a moderator publishes it.
	story := carla.must(200, "POST", "/v1/stories", map[string]any{"title": "Il libretto a Vibo", "body": "Ho accompagnato i primi cittadini...", "twinning_id": "tw-tosca"})
	if stories := anon.must(200, "GET", "/v1/stories?twinning_id=tw-tosca", nil).list("stories"); len(stories) != 0 {
		t.Fatal("a pending story is public")
	}
	marta.must(200, "POST", "/v1/stories/"+story.str("id")+":publish", map[string]any{})
	if stories := anon.must(200, "GET", "/v1/stories?twinning_id=tw-tosca", nil).list("stories"); len(stories) != 1 {
		t.Fatal("a published story is not listed")
	}

	// Every change went out through the outbox, without e-mail addresses.
	evs := waitForEvents(t, e.nats.URL(), service.StreamName, map[string]int{
		"discussion.member.joined": len(people), "discussion.thread.opened": 1, "discussion.post.added": 3,
		"discussion.post.hidden": 1, "discussion.post.restored": 1, "discussion.story.published": 1,
	})
	for _, ev := range evs {
		raw, _ := proto.Marshal(ev)
		if bytes.Contains(raw, []byte("@example.it")) {
			t.Fatalf("event %s carries an e-mail address", ev.GetType())
		}
	}
}

// streamEvents reads every message of a stream.
func streamEvents(t *testing.T, url, name string) []*eventsv1.Envelope {
	t.Helper()
	nc, js, err := events.Connect(context.Background(), url, "test-reader", quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stream, err := js.Stream(ctx, name)
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
		out = append(out, &env)
	}
	return out
}

func countByType(evs []*eventsv1.Envelope) map[string]int {
	counts := map[string]int{}
	for _, e := range evs {
		counts[e.GetType()]++
	}
	return counts
}

// waitForEvents waits until the stream holds exactly the wanted counts.
func waitForEvents(t *testing.T, url, stream string, want map[string]int) []*eventsv1.Envelope {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		evs := streamEvents(t, url, stream)
		counts := countByType(evs)
		done := true
		for typ, n := range want {
			if counts[typ] != n {
				done = false
			}
		}
		if done {
			return evs
		}
		if time.Now().After(deadline) {
			t.Fatalf("events on %s: %v, want %v", stream, counts, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// publishApproval puts a twinning.twinning.approved event on the TWINNING
// stream, as the twinning service does; msgID is its Nats-Msg-Id.
func publishApproval(t *testing.T, js jetstream.JetStream, twinningID, title string) {
	t.Helper()
	approvedAt := time.Date(2015, 5, 16, 10, 0, 0, 0, time.UTC)
	payload := &eventsv1.TwinningChanged{
		Twinning: &eventsv1.TwinningRef{Id: twinningID, Code: "TOSCA", Title: title, Status: twinningv1.TwinningStatus_TWINNING_STATUS_APPROVED},
		Change: &twinningv1.StatusChange{
			From: twinningv1.TwinningStatus_TWINNING_STATUS_PROPOSED, To: twinningv1.TwinningStatus_TWINNING_STATUS_APPROVED,
			Actor: "coordinator-1", Time: timestamppb.New(approvedAt),
		},
	}
	// The same approval twice, under two message ids, so that the stream's
	// duplicate window does not drop the second: the service must.
	for i := 0; i < 2; i++ {
		env, err := events.NewEnvelope("twinning.twinning.approved", "coordinator-1", "twinning", twinningID, 3, payload, approvedAt)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := proto.Marshal(env)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err = js.Publish(ctx, env.GetType(), data, jetstream.WithMsgID(env.GetEventId()))
		cancel()
		if err != nil {
			t.Fatal(err)
		}
	}
}

func generalThreads(t *testing.T, c discussionv1.DiscussionServiceClient, twinningID string) []*discussionv1.Thread {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := c.ListThreads(ctx, &discussionv1.ListThreadsRequest{TwinningId: twinningID})
	if err != nil {
		t.Fatal(err)
	}
	return resp.GetThreads()
}

// drained waits until the service's consumer has handled and acked every
// approval on the stream, so that counting threads afterwards is final.
func drained(t *testing.T, js jetstream.JetStream) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		cons, err := js.Consumer(ctx, "TWINNING", "discussion-on-twinning-approved")
		var info *jetstream.ConsumerInfo
		if err == nil {
			info, err = cons.Info(ctx)
		}
		cancel()
		if err == nil && info.NumPending == 0 && info.NumAckPending == 0 && info.Delivered.Stream > 0 && info.AckFloor.Stream == info.Delivered.Stream {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the twinning consumer did not drain: %+v %v", info, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestApprovedTwinningOpensItsGeneralThreadOnce(t *testing.T) {
	e := start(t)
	client := e.grpcClient(t)

	// The twinning service, and its stream, appear after the discussion.
	nc, js, err := events.Connect(context.Background(), e.nats.URL(), "twinning-stand-in", quiet)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	time.Sleep(300 * time.Millisecond)
	if _, err := events.EnsureStream(context.Background(), js, events.StreamConfig{Name: "TWINNING", Subjects: []string{"twinning.>"}}); err != nil {
		t.Fatal(err)
	}

	const tosca = "Tos.Ca. – Valorizzare le competenze dei cittadini"
	publishApproval(t, js, "tw-tosca", tosca)
	drained(t, js)
	threads := generalThreads(t, client, "tw-tosca")
	if len(threads) != 1 {
		t.Fatalf("%d general threads after an approval delivered twice, want 1", len(threads))
	}
	if th := threads[0]; th.GetTitle() != "Discussione generale relativa al gemellaggio "+tosca || th.GetScope() != discussionv1.Scope_SCOPE_TWINNING ||
		th.GetParticipantCount() != 0 || !th.GetCreateTime().AsTime().Equal(time.Date(2015, 5, 16, 10, 0, 0, 0, time.UTC)) {
		t.Fatalf("general thread: %v", th)
	}

	// An approval published while the service is down is handled at the
	// next start, once.
	e.stopService()
	publishApproval(t, js, "tw-nu112", "Numero Unico Pronto Intervento - NU112")
	e.startService(t)
	client = e.grpcClient(t)
	drained(t, js)
	if n := len(generalThreads(t, client, "tw-nu112")); n != 1 {
		t.Fatalf("%d general threads for the twinning approved while the service was down, want 1", n)
	}
	if n := len(generalThreads(t, client, "tw-tosca")); n != 1 {
		t.Fatalf("the restart opened another thread for tw-tosca: %d", n)
	}
	waitForEvents(t, e.nats.URL(), service.StreamName, map[string]int{"discussion.thread.opened": 2})
}

func TestConfigRequiresASigningKeyAndStrongHashing(t *testing.T) {
	cfg := service.DefaultConfig()
	cfg.Argon2.MemoryKiB = 4096
	err := cfg.Validate()
	if err == nil || !strings.Contains(err.Error(), "GEMELLA_AUTH_PRIVATE_KEY or GEMELLA_AUTH_KEY_FILE") || !strings.Contains(err.Error(), "OWASP") {
		t.Fatalf("Validate = %v", err)
	}
	if d := service.DefaultConfig(); d.GRPC.Addr != "127.0.0.1:9093" || d.Mongo.Database != "gemella_discussion" || d.TokenTTL != 15*time.Minute ||
		d.EditWindow != 15*time.Minute || d.ReportThreshold != 3 || d.Argon2.MemoryKiB != 19456 || d.Argon2.Iterations != 2 {
		t.Fatalf("defaults: %+v", d)
	}
}

func TestSessionsRefreshAndEndOverTheGateway(t *testing.T) {
	e := start(t)
	base := e.startGateway(t)
	anon := rest{t: t, base: base}
	var ids []string
	for _, p := range people[:2] {
		r := anon.must(200, "POST", "/v1/members", map[string]any{
			"member": map[string]any{"display_name": p.name, "email": p.email, "organization_name": p.org, "role_title": p.role}, "password": password, "privacy_consent": true,
		})
		ids = append(ids, r.str("id"))
	}
	if err := e.svc.GrantRoles(context.Background(), people[0].email, auth.RoleAdministrator); err != nil {
		t.Fatal(err)
	}
	adminToken := anon.must(200, "POST", "/v1/sessions", map[string]any{"email": people[0].email, "password": password}).str("token")
	admin := rest{t: t, base: base, token: adminToken}

	jar, _ := cookiejar.New(nil)
	bruno := rest{t: t, base: base, client: &http.Client{Jar: jar, Timeout: 10 * time.Second}}
	first := bruno.must(200, "POST", "/v1/sessions", map[string]any{"email": people[1].email, "password": password}).str("token")

	// Roles: an administrator grants them over the API, nobody else.
	grant := map[string]any{"roles": []string{"ROLE_MODERATOR"}}
	if r := anon.do("POST", "/v1/members/"+ids[1]+":grantRoles", grant); r.status != 401 {
		t.Fatalf("anonymous grant: %d %s", r.status, r.raw)
	}
	if r := bruno.do("POST", "/v1/members/"+ids[1]+":grantRoles", grant); r.status != 403 {
		t.Fatalf("a member grants himself a role: %d %s", r.status, r.raw)
	}
	if r := admin.do("POST", "/v1/members/"+ids[1]+":grantRoles", map[string]any{"roles": []string{"ROLE_EDITOR"}}); r.status != 400 {
		t.Fatalf("granting the editor role: %d %s", r.status, r.raw)
	}
	admin.must(200, "POST", "/v1/members/"+ids[1]+":grantRoles", grant)

	// A refresh carries the new role, keeps the session and sets the cookie.
	refreshed := bruno.must(200, "POST", "/v1/sessions:refresh", map[string]any{})
	second := refreshed.str("token")
	verifier, _ := auth.NewVerifier(e.svc.PublicKey())
	c1, err1 := verifier.Verify(first)
	c2, err2 := verifier.Verify(second)
	if err1 != nil || err2 != nil || second == first || c1.Caller().HasRole(auth.RoleModerator) || !c2.Caller().HasRole(auth.RoleModerator) ||
		c2.SessionID == "" || c2.SessionID != c1.SessionID || !c2.SessionStartedAt.Equal(c1.SessionStartedAt) {
		t.Fatalf("refresh: %+v %v → %+v %v", c1, err1, c2, err2)
	}
	if !strings.Contains(refreshed.header.Get("Set-Cookie"), "gemella_session="+second) {
		t.Fatalf("the refresh did not replace the cookie: %v", refreshed.header.Values("Set-Cookie"))
	}
	bruno.must(200, "GET", "/v1/me", nil)

	// Log-out ends the session: the cookie goes, and neither token refreshes.
	out := bruno.must(200, "DELETE", "/v1/sessions/current", nil)
	if !strings.Contains(strings.Join(out.header.Values("Set-Cookie"), ";"), "gemella_session=;") {
		t.Fatalf("log-out kept the cookie: %v", out.header.Values("Set-Cookie"))
	}
	if r := bruno.do("GET", "/v1/me", nil); r.status != 401 {
		t.Fatalf("after log-out the browser is still someone: %d %s", r.status, r.raw)
	}
	for _, token := range []string{first, second} {
		if r := (rest{t: t, base: base, token: token}).do("POST", "/v1/sessions:refresh", map[string]any{}); r.status != 401 {
			t.Fatalf("refresh after log-out: %d %s", r.status, r.raw)
		}
	}
	if r := anon.do("POST", "/v1/sessions:refresh", map[string]any{}); r.status != 401 {
		t.Fatalf("anonymous refresh: %d %s", r.status, r.raw)
	}

	// Revoking a role ends the member's sessions at once, and says so in
	// the member's decisions.
	third := rest{t: t, base: base, token: anon.must(200, "POST", "/v1/sessions", map[string]any{"email": people[1].email, "password": password}).str("token")}
	third.must(200, "GET", "/v1/me", nil)
	if r := admin.do("POST", "/v1/members/"+ids[1]+":revokeRoles", map[string]any{"roles": []string{"ROLE_MODERATOR"}}); r.status != 400 || !strings.Contains(r.raw, "reason") {
		t.Fatalf("revoking without a reason: %d %s", r.status, r.raw)
	}
	if r := third.do("POST", "/v1/members/"+ids[1]+":revokeRoles", map[string]any{"roles": []string{"ROLE_MODERATOR"}, "reason": "x"}); r.status != 403 {
		t.Fatalf("a member revokes: %d %s", r.status, r.raw)
	}
	revoked := admin.must(200, "POST", "/v1/members/"+ids[1]+":revokeRoles", map[string]any{"roles": []string{"ROLE_MODERATOR"}, "reason": "non modera più"})
	decisions, _ := revoked.body["decisions"].([]any)
	if len(decisions) != 2 || decisions[0].(map[string]any)["kind"] != "DECISION_KIND_ROLE_REVOKED" || decisions[0].(map[string]any)["reason"] != "non modera più" {
		t.Fatalf("the revocation is not recorded: %s", revoked.raw)
	}
	if r := third.do("GET", "/v1/me", nil); r.status != 401 {
		t.Fatalf("a session outlived the revocation of a role: %d %s", r.status, r.raw)
	}
	// A blocked member cannot log in until unblocked.
	fourth := rest{t: t, base: base, token: anon.must(200, "POST", "/v1/sessions", map[string]any{"email": people[1].email, "password": password}).str("token")}
	blocked := admin.must(200, "POST", "/v1/members/"+ids[1]+":block", map[string]any{"reason": "messaggi pubblicitari"})
	if blocked.body["blocked"] != true {
		t.Fatalf("block: %s", blocked.raw)
	}
	if r := fourth.do("GET", "/v1/me", nil); r.status != 401 {
		t.Fatalf("a session outlived the block: %d %s", r.status, r.raw)
	}
	if r := anon.do("POST", "/v1/sessions", map[string]any{"email": people[1].email, "password": password}); r.status != 403 || !strings.Contains(r.raw, "MEMBER_BLOCKED") {
		t.Fatalf("a blocked member's log-in: %d %s", r.status, r.raw)
	}
	admin.must(200, "POST", "/v1/members/"+ids[1]+":unblock", map[string]any{})
	anon.must(200, "POST", "/v1/sessions", map[string]any{"email": people[1].email, "password": password})
	if r := admin.do("GET", "/v1/affiliationRequests", nil); r.status != 200 {
		t.Fatalf("affiliation requests: %d %s", r.status, r.raw)
	}
	if r := third.do("GET", "/v1/affiliationRequests", nil); r.status != 401 && r.status != 403 {
		t.Fatalf("a member lists affiliation requests: %d %s", r.status, r.raw)
	}
}

func TestTokensOfThePreviousKeyStayValidDuringARotation(t *testing.T) {
	e := start(t)
	client := e.grpcClient(t)
	ctx := context.Background()
	if _, err := client.RegisterMember(ctx, &discussionv1.RegisterMemberRequest{
		Member:   &discussionv1.Member{DisplayName: people[2].name, Email: people[2].email, OrganizationName: people[2].org, RoleTitle: people[2].role},
		Password: password, PrivacyConsent: true,
	}); err != nil {
		t.Fatal(err)
	}
	login := func(c discussionv1.DiscussionServiceClient) string {
		t.Helper()
		s, err := c.CreateSession(ctx, &discussionv1.CreateSessionRequest{Email: people[2].email, Password: password})
		if err != nil {
			t.Fatal(err)
		}
		return s.GetToken()
	}
	oldToken := login(client)
	oldKey := e.svc.PublicKey()

	// The switch: a new signing key, the old public key still listed.
	e.stopService()
	newKeyFile := filepath.Join(t.TempDir(), "auth", "signing-key-2.pem")
	newKey, err := auth.LoadOrCreateKeyFile(newKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	oldPEM, _ := auth.MarshalPublicKeyPEM(oldKey)
	e.cfg.Auth.KeyFile = newKeyFile
	e.cfg.Verify.PublicKeys = string(oldPEM)
	e.startService(t)
	client = e.grpcClient(t)
	if !e.svc.PublicKey().Equal(newKey.Public()) {
		t.Fatal("the service does not sign with the new key")
	}
	verifier, _ := auth.NewVerifier(e.svc.PublicKey())
	if me, err := client.GetMyProfile(auth.WithBearerToken(ctx, oldToken), &discussionv1.GetMyProfileRequest{}); err != nil || me.GetEmail() != people[2].email {
		t.Fatalf("a token signed before the switch: %v %v", me, err)
	}
	refreshed, err := client.RefreshSession(auth.WithBearerToken(ctx, oldToken), &discussionv1.RefreshSessionRequest{})
	if err != nil {
		t.Fatalf("refresh of a token signed before the switch: %v", err)
	}
	for name, token := range map[string]string{"refreshed": refreshed.GetToken(), "new log-in": login(client)} {
		if c, err := verifier.Verify(token); err != nil || c.KeyID != auth.KeyID(e.svc.PublicKey()) {
			t.Fatalf("%s token not signed with the new key: %+v %v", name, c, err)
		}
	}

	// Once the old key leaves the list, its tokens are refused.
	e.stopService()
	e.cfg.Verify.PublicKeys = ""
	e.startService(t)
	client = e.grpcClient(t)
	_, err = client.GetMyProfile(auth.WithBearerToken(ctx, oldToken), &discussionv1.GetMyProfileRequest{})
	if status.Code(err) != codes.Unauthenticated || !strings.Contains(err.Error(), "unknown key") {
		t.Fatalf("a token of the retired key: %v", err)
	}
	if _, err := client.GetMyProfile(auth.WithBearerToken(ctx, refreshed.GetToken()), &discussionv1.GetMyProfileRequest{}); err != nil {
		t.Fatalf("a token of the new key after the retirement: %v", err)
	}

	bad := service.DefaultConfig()
	bad.Auth.KeyFile = newKeyFile
	bad.Verify.PublicKeys = "not-a-key"
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "GEMELLA_AUTH_PUBLIC_KEYS") {
		t.Fatalf("a bad previous key passed validation: %v", err)
	}
}
