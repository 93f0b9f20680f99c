package main

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/gemella/gemella/services/platform/auth"
)

// What the writers were told was done: each record holds the state its
// last acknowledged write left, and the events that writes published.
type practiceRec struct {
	id, title, token, status string
	events                   []string // event types expected on CATALOG
}

type twinningRec struct {
	id, code, practiceID, status string
	transferID, transferStatus   string
	events                       []string // on TWINNING
	approvedAt                   time.Time
}

type postRec struct {
	id, threadID, body string
}

type ledger struct {
	mu        sync.Mutex
	practices []*practiceRec
	twinnings []*twinningRec
	posts     []*postRec
	flows     int
}

func (l *ledger) snapshot() (ps []practiceRec, ts []twinningRec, posts []postRec) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, p := range l.practices {
		ps = append(ps, *p)
	}
	for _, t := range l.twinnings {
		ts = append(ts, *t)
	}
	for _, p := range l.posts {
		posts = append(posts, *p)
	}
	return
}

// workload drives the writers; gate pauses them during the checks.
type workload struct {
	c       *client
	l       *ledger
	gate    sync.RWMutex
	editor  string // editor and coordinator of both organisations
	member  string // the bootstrapped administrator's own session
	orgs    [2]string
	thread  string // the general thread the posts go to
	run     string // unique per run: titles, codes, request ids
	errMu   sync.Mutex
	errs    []error
	running sync.WaitGroup
}

func (w *workload) fail(err error) {
	w.errMu.Lock()
	defer w.errMu.Unlock()
	if len(w.errs) < 20 {
		w.errs = append(w.errs, err)
	}
}

func (w *workload) failures() []error {
	w.errMu.Lock()
	defer w.errMu.Unlock()
	return append([]error(nil), w.errs...)
}

// prepare logs the bootstrapped administrator in, creates the two
// organisations and the general thread, and signs the editor's token.
func (t *topology) prepare(ctx context.Context, w *workload) error {
	a, err := w.c.do(ctx, 0, http.MethodPost, "/v1/sessions", map[string]any{"email": adminEmail, "password": adminPassword}, "")
	if err != nil || a.status != 200 {
		return fmt.Errorf("log in the bootstrapped administrator: %d %s %v", a.status, truncate(a.body), err)
	}
	w.member = str(a.json(), "token")
	me, err := w.c.do(ctx, 1, http.MethodGet, "/v1/me", nil, w.member)
	if err != nil || me.status != 200 {
		return fmt.Errorf("the administrator's profile: %d %s %v", me.status, truncate(me.body), err)
	}
	m := me.json()
	if mm, ok := m["member"].(map[string]any); ok {
		m = mm
	}
	memberID := str(m, "id")
	roles, _ := m["roles"].([]any)
	hasAdmin := false
	for _, r := range roles {
		if s, _ := r.(string); s == "ROLE_ADMINISTRATOR" || s == auth.RoleAdministrator {
			hasAdmin = true
		}
	}
	if memberID == "" || !hasAdmin {
		return fmt.Errorf("the bootstrapped member is not an administrator: %s", truncate(me.body))
	}
	// The workload's token: the administrator as editor and coordinator of
	// the two organisations, signed with the deployment's key (as the
	// discussion service signs a session's after the grants).
	staff := func(orgs ...string) (string, error) {
		tok, _, err := t.issuer.Issue(auth.Caller{
			MemberID: memberID, DisplayName: "Amministratrice Topologia",
			Roles:         []string{auth.RoleMember, auth.RoleEditor, auth.RoleCoordinator, auth.RoleModerator, auth.RoleAdministrator},
			Organizations: orgs,
		})
		return tok, err
	}
	admin, err := staff()
	if err != nil {
		return err
	}
	for i, name := range []string{"Regione Topologica", "Comune di Replica"} {
		a, err := w.c.do(ctx, i, http.MethodPost, "/v1/organizations?request_id="+w.run+"-org-"+fmt.Sprint(i),
			map[string]any{"name": name + " " + w.run, "kind": "ORGANIZATION_KIND_REGION"}, admin)
		if err != nil || a.status != 200 {
			return fmt.Errorf("create organisation %q: %d %s %v", name, a.status, truncate(a.body), err)
		}
		w.orgs[i] = str(a.json(), "id")
	}
	if w.editor, err = staff(w.orgs[0], w.orgs[1]); err != nil {
		return err
	}
	a, err = w.c.do(ctx, 0, http.MethodPost, "/v1/threads?request_id="+w.run+"-thread",
		map[string]any{"scope": "SCOPE_GENERAL", "title": "Diario della topologia " + w.run, "body": "Un messaggio per ogni giro."}, w.member)
	if err != nil || a.status != 200 {
		return fmt.Errorf("create the general thread: %d %s %v", a.status, truncate(a.body), err)
	}
	w.thread = str(a.json(), "id")
	return nil
}

// start runs n writers until ctx ends.
func (w *workload) start(ctx context.Context, n int) {
	for i := range n {
		w.running.Add(1)
		go func() {
			defer w.running.Done()
			for it := 0; ctx.Err() == nil; it++ {
				// A whole round under the gate: the checks never see a
				// write answered but not yet in the ledger.
				w.gate.RLock()
				err := w.flow(ctx, i, it)
				w.gate.RUnlock()
				if err != nil && ctx.Err() == nil {
					w.fail(fmt.Errorf("writer %d round %d: %w", i+1, it+1, err))
					time.Sleep(time.Second)
				}
			}
		}()
	}
}

// step is one call of a round (which holds the gate).
func (w *workload) step(ctx context.Context, g int, method, path string, body any, token string) (answer, error) {
	return w.c.do(ctx, g, method, path, body, token)
}

// transition moves a resource with a custom verb; an answer of 409 after a
// retry is success when the resource is already in the target state.
func (w *workload) transition(ctx context.Context, g int, path, verb, target string) error {
	a, err := w.step(ctx, g, http.MethodPost, path+":"+verb, map[string]any{}, w.editor)
	if err != nil {
		return err
	}
	if a.status == 200 {
		if got := str(a.json(), "status"); got != target {
			return fmt.Errorf("%s %s answered 200 with status %s, want %s", verb, path, got, target)
		}
		return nil
	}
	if a.status == http.StatusConflict {
		r, err := w.step(ctx, g+1, http.MethodGet, path, nil, w.editor)
		if err == nil && r.status == 200 && str(r.json(), "status") == target {
			return nil
		}
	}
	return fmt.Errorf("%s %s: %d %s", verb, path, a.status, truncate(a.body))
}

// flow is one round of a writer: a practice created, submitted and
// published; a twinning on it proposed, approved and activated; a transfer
// added and moved; a post. Steps alternate between the gateways.
func (w *workload) flow(ctx context.Context, writer, round int) error {
	key := fmt.Sprintf("%s-%d-%d", w.run, writer+1, round+1)
	g := writer
	token := fmt.Sprintf("topo%sw%dr%d", w.run, writer+1, round+1)
	title := "Sportello replicato " + token
	a, err := w.step(ctx, g, http.MethodPost, "/v1/practices?request_id=p-"+key, map[string]any{
		"title": title, "owner_organization_ids": []string{w.orgs[0]},
		"summary": "Una pratica scritta durante i guasti", "description": "Come funziona " + token,
		"problem": "Processi che cadono", "results": "Nessuna scrittura persa", "themes": []string{"lavoro"},
		"languages": []string{"it"}, "models": []map[string]any{{"code": "A", "title": "Modello A"}},
	}, w.editor)
	if err != nil {
		return err
	}
	if a.status != 200 {
		return fmt.Errorf("create practice: %d %s", a.status, truncate(a.body))
	}
	p := &practiceRec{id: str(a.json(), "id"), title: title, token: token, status: "PRACTICE_STATUS_DRAFT"}
	w.l.mu.Lock()
	w.l.practices = append(w.l.practices, p)
	w.l.mu.Unlock()
	for _, m := range []struct{ verb, status, event string }{
		{"submit", "PRACTICE_STATUS_SUBMITTED", "catalog.practice.submitted"},
		{"publish", "PRACTICE_STATUS_PUBLISHED", "catalog.practice.published"},
	} {
		g++
		if err := w.transition(ctx, g, "/v1/practices/"+p.id, m.verb, m.status); err != nil {
			return err
		}
		w.l.mu.Lock()
		p.status, p.events = m.status, append(p.events, m.event)
		w.l.mu.Unlock()
	}

	g++
	a, err = w.step(ctx, g, http.MethodPost, "/v1/twinnings?request_id=t-"+key, map[string]any{
		"code": "TOPO-" + token, "title": "Gemellaggio " + token, "summary": "Trasferire lo sportello",
		"origin": "ORIGIN_DIRECT", "start_date": "2026-01-15", "end_date": "2027-06-30",
		"objectives": []map[string]any{{"level": "regionale", "text": "Nessuna scrittura persa durante i guasti"}}, "offering_organization_ids": []string{w.orgs[0]}, "receiving_organization_ids": []string{w.orgs[1]},
		"coordinator_organization_id": w.orgs[0],
	}, w.editor)
	if err != nil {
		return err
	}
	if a.status != 200 {
		return fmt.Errorf("create twinning: %d %s", a.status, truncate(a.body))
	}
	tw := &twinningRec{id: str(a.json(), "id"), code: "TOPO-" + token, practiceID: p.id, status: "TWINNING_STATUS_DRAFT", events: []string{"twinning.twinning.created"}}
	w.l.mu.Lock()
	w.l.twinnings = append(w.l.twinnings, tw)
	w.l.mu.Unlock()
	for _, m := range []struct{ verb, status, event string }{
		{"propose", "TWINNING_STATUS_PROPOSED", "twinning.twinning.proposed"},
		{"approve", "TWINNING_STATUS_APPROVED", "twinning.twinning.approved"},
		{"activate", "TWINNING_STATUS_ACTIVE", "twinning.twinning.activated"},
	} {
		g++
		if err := w.transition(ctx, g, "/v1/twinnings/"+tw.id, m.verb, m.status); err != nil {
			return err
		}
		w.l.mu.Lock()
		tw.status, tw.events = m.status, append(tw.events, m.event)
		if m.verb == "approve" {
			tw.approvedAt = time.Now()
		}
		w.l.mu.Unlock()
	}

	g++
	a, err = w.step(ctx, g, http.MethodPost, "/v1/twinnings/"+tw.id+"/transfers?request_id=x-"+key, map[string]any{
		"practice_id": p.id, "model_code": "A", "from_organization_id": w.orgs[0], "to_organization_id": w.orgs[1],
	}, w.editor)
	if err != nil {
		return err
	}
	if a.status != 200 {
		return fmt.Errorf("add transfer: %d %s", a.status, truncate(a.body))
	}
	xid := str(a.json(), "id")
	w.l.mu.Lock()
	tw.transferID, tw.transferStatus = xid, "TRANSFER_STATUS_PLANNED"
	w.l.mu.Unlock()
	g++
	a, err = w.step(ctx, g, http.MethodPatch, "/v1/twinnings/"+tw.id+"/transfers/"+xid, map[string]any{
		"transfer": map[string]any{"status": "TRANSFER_STATUS_IN_PROGRESS"},
	}, w.editor)
	if err != nil {
		return err
	}
	switch {
	case a.status == 200:
	case a.status == http.StatusConflict:
		// A retry of a move that was done.
		r, err := w.step(ctx, g+1, http.MethodGet, "/v1/twinnings/"+tw.id, nil, w.editor)
		if err != nil || r.status != 200 || transferStatus(r.json(), xid) != "TRANSFER_STATUS_IN_PROGRESS" {
			return fmt.Errorf("move transfer: %d %s", a.status, truncate(a.body))
		}
	default:
		return fmt.Errorf("move transfer: %d %s", a.status, truncate(a.body))
	}
	w.l.mu.Lock()
	tw.transferStatus = "TRANSFER_STATUS_IN_PROGRESS"
	w.l.mu.Unlock()

	g++
	body := "Giro " + token + ": tutto scritto."
	a, err = w.step(ctx, g, http.MethodPost, "/v1/threads/"+w.thread+"/posts?request_id=m-"+key, map[string]any{"body": body}, w.member)
	if err != nil {
		return err
	}
	if a.status != 200 {
		return fmt.Errorf("add post: %d %s", a.status, truncate(a.body))
	}
	w.l.mu.Lock()
	w.l.posts = append(w.l.posts, &postRec{id: str(a.json(), "id"), threadID: w.thread, body: body})
	w.l.flows++
	w.l.mu.Unlock()
	// A read of the notification service, so that its replicas serve too.
	g++
	if a, err = w.step(ctx, g, http.MethodGet, "/v1/me/notifications?page_size=5", nil, w.member); err != nil {
		return err
	}
	if a.status != 200 {
		return fmt.Errorf("list notifications: %d %s", a.status, truncate(a.body))
	}
	return nil
}

func transferStatus(twinning map[string]any, id string) string {
	for _, x := range list(twinning, "transfers") {
		if str(x, "id") == id {
			return str(x, "status")
		}
	}
	return ""
}
