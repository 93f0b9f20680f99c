package feed

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	catalogv1 "github.com/gemella/gemella/proto/gemella/catalog/v1"
	discussionv1 "github.com/gemella/gemella/proto/gemella/discussion/v1"
	eventsv1 "github.com/gemella/gemella/proto/gemella/events/v1"
	twinningv1 "github.com/gemella/gemella/proto/gemella/twinning/v1"
	"github.com/gemella/gemella/services/platform/embedded"
	"github.com/gemella/gemella/services/platform/events"
)

type world struct {
	js  jetstream.JetStream
	hub *Hub
	srv *httptest.Server
}

func newWorld(t *testing.T, cfg Config) *world {
	t.Helper()
	if testing.Short() {
		t.Skip("needs the embedded NATS")
	}
	n := embedded.NATSForTest(t)
	nc, err := nats.Connect(n.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, _ := jetstream.New(nc)
	ctx := context.Background()
	for name, subj := range map[string]string{"CATALOG": "catalog.>", "TWINNING": "twinning.>", "DISCUSSION": "discussion.>"} {
		if _, err := events.EnsureStream(ctx, js, events.StreamConfig{Name: name, Subjects: []string{subj}}); err != nil {
			t.Fatal(err)
		}
	}
	cfg.NATSURL = n.URL()
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	hub, err := NewHub(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { _ = hub.Run(runCtx); close(done) }()
	srv := httptest.NewServer(hub)
	t.Cleanup(func() { cancel(); <-done; srv.Close() })
	return &world{js: js, hub: hub, srv: srv}
}

func (w *world) publish(t *testing.T, subject, aggID string, payload proto.Message) {
	t.Helper()
	env, err := events.NewEnvelope(subject, "tester", "x", aggID, 1, payload, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	data, _ := proto.Marshal(env)
	if _, err := w.js.Publish(context.Background(), subject, data, jetstream.WithMsgID(env.EventId)); err != nil {
		t.Fatal(err)
	}
}

func twinningEvent(id string, status twinningv1.TwinningStatus) *eventsv1.TwinningChanged {
	return &eventsv1.TwinningChanged{Twinning: &eventsv1.TwinningRef{Id: id, Title: "Tos.Ca.", Status: status}}
}

// sseClient reads events from the feed.
type sseClient struct {
	resp   *http.Response
	events chan Event
}

func connect(t *testing.T, url string, lastID uint64) *sseClient {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if lastID > 0 {
		req.Header.Set("Last-Event-ID", strconv.FormatUint(lastID, 10))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("feed answered %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	c := &sseClient{resp: resp, events: make(chan Event, 100)}
	t.Cleanup(func() { resp.Body.Close() })
	go func() {
		defer close(c.events)
		sc := bufio.NewScanner(resp.Body)
		var id string
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "id: "):
				id = strings.TrimPrefix(line, "id: ")
			case strings.HasPrefix(line, "data: "):
				var ev Event
				if json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &ev) == nil && strconv.FormatUint(ev.ID, 10) == id {
					c.events <- ev
				}
			}
		}
	}()
	return c
}

func (c *sseClient) next(t *testing.T) Event {
	t.Helper()
	select {
	case ev, ok := <-c.events:
		if !ok {
			t.Fatal("feed closed")
		}
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no event within 10s")
	}
	return Event{}
}

func (c *sseClient) none(t *testing.T, within time.Duration) {
	t.Helper()
	select {
	case ev, ok := <-c.events:
		if ok {
			t.Fatalf("unexpected event %+v", ev)
		}
	case <-time.After(within):
	}
}

func TestFeedShowsPublicEventsWithStreamSequenceIDs(t *testing.T) {
	w := newWorld(t, Config{})
	c := connect(t, w.srv.URL, 0)
	w.publish(t, "twinning.twinning.created", "tw-draft", twinningEvent("tw-draft", twinningv1.TwinningStatus_TWINNING_STATUS_DRAFT))
	w.publish(t, "catalog.practice.submitted", "p1", &eventsv1.PracticeSubmitted{Practice: &eventsv1.PracticeRef{Id: "p1", Status: catalogv1.PracticeStatus_PRACTICE_STATUS_SUBMITTED}})
	w.publish(t, "twinning.transfer.status_changed", "tw-draft", &eventsv1.TransferStatusChanged{TwinningId: "tw-draft", TwinningStatus: twinningv1.TwinningStatus_TWINNING_STATUS_DRAFT, Transfer: &eventsv1.TransferRef{PracticeId: "p1"}})
	w.publish(t, "twinning.twinning.approved", "tw1", twinningEvent("tw1", twinningv1.TwinningStatus_TWINNING_STATUS_APPROVED))
	w.publish(t, "catalog.practice.published", "p1", &eventsv1.PracticePublished{Practice: &eventsv1.PracticeRef{Id: "p1", Title: "Tos.Ca.", Status: catalogv1.PracticeStatus_PRACTICE_STATUS_PUBLISHED}})
	w.publish(t, "discussion.member.joined", "m1", &eventsv1.MemberJoined{Member: &discussionv1.Member{Id: "m1", DisplayName: "Giulia", Email: "giulia@example.org"}})

	// Sourcing interleaves the three streams, so only the set is fixed.
	got := map[string]Event{}
	var lastID uint64
	for i := 0; i < 3; i++ {
		ev := c.next(t)
		if ev.ID <= lastID {
			t.Fatalf("ids must increase: %d after %d", ev.ID, lastID)
		}
		lastID = ev.ID
		got[ev.Type] = ev
	}
	for _, typ := range []string{"twinning.twinning.approved", "catalog.practice.published", "discussion.member.joined"} {
		if _, ok := got[typ]; !ok {
			t.Fatalf("missing %s in %v", typ, got)
		}
	}
	c.none(t, 500*time.Millisecond) // the draft twinning, its transfer and the submission never come
	if lastID > 6 {
		t.Fatalf("event id %d is not a FEED stream sequence (6 messages)", lastID)
	}
	raw, _ := json.Marshal(got["discussion.member.joined"])
	if strings.Contains(string(raw), "giulia@example.org") {
		t.Fatalf("an e-mail reached the feed: %s", raw)
	}
}

func TestReconnectReplaysWhatWasMissed(t *testing.T) {
	// A ring of 2 forces the older part of the replay to come from the stream.
	w := newWorld(t, Config{RingSize: 2})
	c := connect(t, w.srv.URL, 0)
	w.publish(t, "twinning.twinning.approved", "tw1", twinningEvent("tw1", twinningv1.TwinningStatus_TWINNING_STATUS_APPROVED))
	seen := c.next(t)
	c.resp.Body.Close()

	for i, st := range []twinningv1.TwinningStatus{twinningv1.TwinningStatus_TWINNING_STATUS_ACTIVE, twinningv1.TwinningStatus_TWINNING_STATUS_SUSPENDED, twinningv1.TwinningStatus_TWINNING_STATUS_ACTIVE, twinningv1.TwinningStatus_TWINNING_STATUS_COMPLETED} {
		subj := []string{"twinning.twinning.activated", "twinning.twinning.suspended", "twinning.twinning.resumed", "twinning.twinning.completed"}[i]
		w.publish(t, subj, "tw1", twinningEvent("tw1", st))
	}
	waitFor(t, func() bool { w.hub.mu.Lock(); defer w.hub.mu.Unlock(); return w.hub.lastSeq == 5 })

	again := connect(t, w.srv.URL, seen.ID)
	var got []string
	for i := 0; i < 4; i++ {
		got = append(got, again.next(t).Type)
	}
	want := "[twinning.twinning.activated twinning.twinning.suspended twinning.twinning.resumed twinning.twinning.completed]"
	if strings.Join(strings.Fields(strings.Trim(strings.Join(got, " "), "[]")), " ") != strings.Trim(want, "[]") {
		t.Fatalf("replayed %v, want %s", got, want)
	}
	again.none(t, 300*time.Millisecond)
}

func TestFilterByTwinningAndHiddenPostsNeverReplayed(t *testing.T) {
	w := newWorld(t, Config{})
	c := connect(t, w.srv.URL+"?twinning_id=tw1", 0)
	w.publish(t, "twinning.twinning.approved", "tw2", twinningEvent("tw2", twinningv1.TwinningStatus_TWINNING_STATUS_APPROVED))
	w.publish(t, "discussion.post.added", "post1", &eventsv1.PostAdded{Scope: discussionv1.Scope_SCOPE_TWINNING, ScopeId: "tw1",
		Post: &discussionv1.Post{Id: "post1", ThreadId: "th1", Body: "secret body", AuthorName: "Lucia"}, ThreadTitle: "Modello B"})
	ev := c.next(t)
	if ev.TwinningID != "tw1" || ev.Type != "discussion.post.added" {
		t.Fatalf("filtered feed got %+v", ev)
	}
	// The line names the author and the thread it was written in.
	if ev.Title != "Lucia" || ev.Summary != "Modello B" || ev.Link != "/v1/threads/th1/posts" {
		t.Fatalf("post line: title %q, summary %q, link %q; want the author, the thread's title, the thread", ev.Title, ev.Summary, ev.Link)
	}
	raw, _ := json.Marshal(ev)
	if strings.Contains(string(raw), "secret body") {
		t.Fatal("a post body reached the feed")
	}
	w.publish(t, "discussion.post.hidden", "post1", &eventsv1.PostModerated{PostId: "post1", ThreadId: "th1", Reason: "spam"})
	waitFor(t, func() bool { w.hub.mu.Lock(); defer w.hub.mu.Unlock(); return w.hub.hidden["post1"] })
	w.publish(t, "discussion.post.added", "post2", &eventsv1.PostAdded{Scope: discussionv1.Scope_SCOPE_TWINNING, ScopeId: "tw1", Post: &discussionv1.Post{Id: "post2", ThreadId: "th1"}})
	if ev := c.next(t); ev.AggregateID != "post2" {
		t.Fatalf("live: %+v", ev)
	}
	// Replaying everything kept: the visible post comes back, the hidden one never.
	whole := connect(t, w.srv.URL+"?twinning_id=tw1&last_event_id=0", 0)
	if ev := whole.next(t); ev.AggregateID != "post2" {
		t.Fatalf("replay gave %+v, want only post2", ev)
	}
	whole.none(t, 500*time.Millisecond)
	// A moderator who dismisses the reports shows the post again.
	w.publish(t, "discussion.post.reports_dismissed", "post1", &eventsv1.PostModerated{PostId: "post1", ThreadId: "th1", Reason: "infondate"})
	waitFor(t, func() bool { w.hub.mu.Lock(); defer w.hub.mu.Unlock(); return !w.hub.hidden["post1"] })
}

func TestSlowClientIsDroppedNotBuffered(t *testing.T) {
	w := newWorld(t, Config{ClientBuffer: 2})
	sub, _, _, err := w.hub.subscribe(context.Background(), Filter{}, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		w.publish(t, "twinning.twinning.approved", "tw1", twinningEvent("tw1", twinningv1.TwinningStatus_TWINNING_STATUS_APPROVED))
	}
	waitFor(t, func() bool { return w.hub.Subscribers() == 0 })
	n := 0
	for range sub.ch {
		n++
	}
	if n != 2 || !sub.slow {
		t.Fatalf("slow subscriber got %d buffered events (slow=%v), want exactly its buffer of 2 and then closed", n, sub.slow)
	}
}

func TestStoppingTheHubEndsOpenFeeds(t *testing.T) {
	w := newWorld(t, Config{})
	c := connect(t, w.srv.URL, 0)
	waitFor(t, func() bool { return w.hub.Subscribers() == 1 })
	w.hub.closeAll()
	select {
	case _, ok := <-c.events:
		if ok {
			t.Fatal("unexpected event")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("feed still open after the hub stopped")
	}
}

func TestBadLastEventID(t *testing.T) {
	w := newWorld(t, Config{})
	req, _ := http.NewRequest("GET", w.srv.URL, nil)
	req.Header.Set("Last-Event-ID", "yesterday")
	req.Header.Set("X-Request-Id", "req-7")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	// The gateway's one error body: a google.rpc.Status naming the header.
	var st spb.Status
	if err := protojson.Unmarshal(body, &st); err != nil || st.GetCode() != 3 {
		t.Fatalf("body %s: %v", body, err)
	}
	for _, want := range []string{`"Last-Event-ID"`, `"FIELD_INVALID"`, `"req-7"`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("body %s lacks %s", body, want)
		}
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
