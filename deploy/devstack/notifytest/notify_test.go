// Package notifytest checks follows, notifications and their e-mail on
// the whole devstack: real services, embedded NATS and FerretDB, the
// gateway, and the devstack's SMTP mailbox on loopback.
package notifytest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/mail"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/gemella/gemella/deploy/devstack/demo"
	"github.com/gemella/gemella/deploy/devstack/stack"
	"github.com/gemella/gemella/services/notification/mailbox"
)

const waitFor = 60 * time.Second

type client struct {
	t     *testing.T
	base  string
	token string
}

func (c client) call(method, path string, body any) (int, map[string]any) {
	c.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, r)
	if err != nil {
		c.t.Fatal(err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := map[string]any{}
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out
}

func (c client) must(method, path string, body any) map[string]any {
	c.t.Helper()
	code, out := c.call(method, path, body)
	if code != http.StatusOK {
		c.t.Fatalf("%s %s: %d %v", method, path, code, out)
	}
	return out
}

func login(t *testing.T, base, email string) client {
	t.Helper()
	c := client{t: t, base: base}
	out := c.must(http.MethodPost, "/v1/sessions", map[string]string{"email": email, "password": demo.AccountPassword})
	c.token, _ = out["token"].(string)
	return c
}

// settled waits until the notification service's consumers have handled
// everything on their streams.
func settled(t *testing.T, js jetstream.JetStream) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for _, c := range [][2]string{{"DISCUSSION", "notification-on-discussion"}, {"TWINNING", "notification-on-twinning"}, {"CATALOG", "notification-on-catalog"}} {
		for {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			cons, err := js.Consumer(ctx, c[0], c[1])
			var info *jetstream.ConsumerInfo
			if err == nil {
				info, err = cons.Info(ctx)
			}
			cancel()
			if err == nil && info.NumPending == 0 && info.NumAckPending == 0 && info.NumRedelivered == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("consumer %s never caught up: %+v %v", c[1], info, err)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
}

func notificationsOf(t *testing.T, c client) []map[string]any {
	t.Helper()
	out := c.must(http.MethodGet, "/v1/me/notifications?page_size=100", nil)
	var list []map[string]any
	for _, n := range out["notifications"].([]any) {
		list = append(list, n.(map[string]any))
	}
	return list
}

type sseEvent struct {
	id, event string
	data      map[string]any
}

type liveStream struct{ events chan sseEvent }

// live opens A's notification stream, with the headers given; the
// test's end closes it.
func (c client) live(t *testing.T, lastID string, header ...string) liveStream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/v1/me/notifications/live", nil)
	req.Header.Set("Authorization", "Bearer "+c.token)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("live: %s %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	s := liveStream{events: make(chan sseEvent, 100)}
	go func() {
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.event != "" {
					s.events <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, "id: "):
				ev.id = strings.TrimPrefix(line, "id: ")
			case strings.HasPrefix(line, "event: "):
				ev.event = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				_ = json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &ev.data)
			}
		}
	}()
	return s
}

// notifications waits for n notification events.
func (s liveStream) notifications(t *testing.T, n int) []sseEvent {
	t.Helper()
	var out []sseEvent
	timeout := time.After(waitFor)
	for len(out) < n {
		select {
		case ev := <-s.events:
			if ev.event == "notification" {
				out = append(out, ev)
			}
		case <-timeout:
			t.Fatalf("live stream: %d notifications, want %d", len(out), n)
		}
	}
	return out
}

// mailTo are the notification e-mails to addr: those with List-Unsubscribe
// (the account links the discussion service mails, such as the sign-up
// confirmation every demo account gets, have none).
func mailTo(box *mailbox.Mailbox, addr string) []mailbox.Message {
	var out []mailbox.Message
	for _, m := range box.Messages() {
		if m.Header.Get("List-Unsubscribe") == "" {
			continue
		}
		for _, to := range m.To {
			if strings.Contains(strings.ToLower(to), addr) {
				out = append(out, m)
			}
		}
	}
	return out
}

// TestFollowReplyMentionAndMail is issue #13's check: member A follows
// the Tos.Ca. twinning and writes in its thread; member B replies to A's
// post and, in another post, mentions A; a third post of B's that
// mentions A is hidden by a moderator. A has two notifications, not four,
// also when every post event is delivered a second time; sees them in GET
// /v1/me/notifications; and receives one e-mail from the mailbox on
// loopback, whose one-click unsubscribe link turns e-mail off.
func TestFollowReplyMentionAndMail(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole devstack")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	// Long enough that the reply and the mention, written one after the
	// other, are mailed together even on a loaded machine.
	const mailDelay = 6 * time.Second
	st, js := demoStack(ctx, t, mailDelay)
	base := st.GatewayURL()
	settled(t, js) // the demo data's events are behind us

	a := login(t, base, "member@demo.gemella.test")
	b := login(t, base, "editor.calabria@demo.gemella.test")
	mod := login(t, base, "moderator@demo.gemella.test")
	me := a.must(http.MethodGet, "/v1/me", nil)
	name := me["display_name"].(string)

	tosCa := a.must(http.MethodGet, "/v1/twinnings/"+demo.TosCaCode, nil)["id"].(string)
	f := a.must(http.MethodPut, "/v1/me/follows/twinning/"+tosCa, map[string]any{})
	if f["target_id"] != tosCa || f["automatic"] == true {
		t.Fatalf("follow: %v", f)
	}
	if code, out := a.call(http.MethodPut, "/v1/me/follows/planet/x", map[string]any{}); code != http.StatusBadRequest || !strings.Contains(fmt.Sprint(out), "kind") {
		t.Errorf("an unknown kind: %d %v, want 400 naming kind", code, out)
	}
	if code, _ := (client{t: t, base: base}).call(http.MethodGet, "/v1/me/follows", nil); code != http.StatusUnauthorized {
		t.Errorf("follows without a session: %d, want 401", code)
	}
	threads := a.must(http.MethodGet, "/v1/threads?twinning_id="+tosCa, nil)["threads"].([]any)
	if len(threads) == 0 {
		t.Fatal("the Tos.Ca. twinning has no thread")
	}
	thread := threads[0].(map[string]any)["id"].(string)
	post := func(c client, body, parent string) string {
		p := map[string]any{"body": body}
		if parent != "" {
			p["parent_id"] = parent
		}
		return c.must(http.MethodPost, "/v1/threads/"+thread+"/posts", p)["id"].(string)
	}
	live := a.live(t, "")
	mine := post(a, "Nel nostro comune abbiamo iniziato dal bilancio delle competenze.", "")
	hidden := post(b, "@"+name+" scrivimi in privato per un'offerta imperdibile", "")
	mod.must(http.MethodPost, "/v1/posts/"+hidden+":hide", map[string]any{"reason": "spam"})
	post(b, "Anche noi: quanto è durata la formazione?", mine)
	post(b, "@"+name+", hai visto il programma del workshop?", "")

	deadline := time.Now().Add(waitFor)
	for len(notificationsOf(t, a)) < 2 && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	settled(t, js)

	// Every post event once more, as a redelivery after a crash would.
	cons, err := js.OrderedConsumer(ctx, "DISCUSSION", jetstream.OrderedConsumerConfig{FilterSubjects: []string{"discussion.post.added"}})
	if err != nil {
		t.Fatal(err)
	}
	batch, err := cons.FetchNoWait(1000)
	if err != nil {
		t.Fatal(err)
	}
	again := 0
	for msg := range batch.Messages() {
		meta, _ := msg.Metadata()
		if _, err := js.Publish(ctx, msg.Subject(), msg.Data(), jetstream.WithMsgID(fmt.Sprintf("redelivered-%d", meta.Sequence.Stream))); err != nil {
			t.Fatal(err)
		}
		again++
	}
	if again < 4 {
		t.Fatalf("re-published %d post events, want at least the test's 4", again)
	}
	settled(t, js)

	list := notificationsOf(t, a)
	reasons := map[string]int{}
	for _, n := range list {
		reasons[n["reason"].(string)]++
		if n["read"] != false || n["link"] != "/threads/"+thread {
			t.Errorf("notification %v: want unread, linking the thread", n)
		}
	}
	if len(list) != 2 || reasons["NOTIFICATION_REASON_REPLY"] != 1 || reasons["NOTIFICATION_REASON_MENTION"] != 1 {
		t.Fatalf("A's notifications: %d %v, want one reply and one mention (the hidden post notifies nobody, redelivery adds nothing)", len(list), reasons)
	}
	if !strings.Contains(list[0]["text"].(string), "Demo Redattrice Calabria") {
		t.Errorf("text %q does not name who wrote", list[0]["text"])
	}

	// The live stream told A of both as they came, and resumes after the
	// first one with Last-Event-ID.
	got := live.notifications(t, 2)
	if got[0].data["id"] == got[1].data["id"] || got[0].id == "" {
		t.Fatalf("live: %+v", got)
	}
	resumed := a.live(t, got[0].id).notifications(t, 1)
	if resumed[0].id != got[1].id {
		t.Errorf("resumed after %s: got %s, want %s", got[0].id, resumed[0].id, got[1].id)
	}

	// One e-mail for both, and the unsubscribe link works.
	box := st.Mailbox()
	deadline = time.Now().Add(waitFor)
	for len(mailTo(box, "member@demo.gemella.test")) == 0 && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(mailDelay + 2*time.Second) // anything more would have come by now
	msgs := mailTo(box, "member@demo.gemella.test")
	if len(msgs) != 1 {
		var subjects []string
		for _, m := range msgs {
			subjects = append(subjects, m.Subject)
		}
		t.Fatalf("A received %d e-mails, want 1: %q", len(msgs), subjects)
	}
	m := msgs[0]
	if !strings.Contains(m.Subject, "2 novità") {
		t.Errorf("subject %q: want the Italian summary of two notifications", m.Subject)
	}
	parsed, err := mail.ReadMessage(bytes.NewReader(m.Raw))
	if err != nil {
		t.Fatal(err)
	}
	if ct := parsed.Header.Get("Content-Type"); !strings.HasPrefix(ct, "multipart/alternative") {
		t.Errorf("Content-Type %q: want plain text and HTML alternatives", ct)
	}
	if parsed.Header.Get("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" {
		t.Errorf("List-Unsubscribe-Post = %q", parsed.Header.Get("List-Unsubscribe-Post"))
	}
	link := strings.Trim(parsed.Header.Get("List-Unsubscribe"), "<>")
	if !strings.HasPrefix(link, base+"/v1/unsubscribe?token=") {
		t.Fatalf("List-Unsubscribe %q: want the gateway's one-click link", link)
	}
	resp, err := http.Post(link, "application/x-www-form-urlencoded", strings.NewReader("List-Unsubscribe=One-Click"))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("one-click unsubscribe: %s", resp.Status)
	}
	if p := a.must(http.MethodGet, "/v1/me/notification-preferences", nil); p["email"] != "EMAIL_FREQUENCY_NEVER" {
		t.Errorf("preferences after unsubscribing: %v", p)
	}
	resp, err = http.Post(link+"x", "application/x-www-form-urlencoded", strings.NewReader("List-Unsubscribe=One-Click"))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("a forged unsubscribe token: %s, want 403", resp.Status)
	}

	// Read: the unread count falls.
	out := a.must(http.MethodPost, "/v1/me/notifications:markRead", map[string]any{"ids": []string{list[0]["id"].(string)}})
	if out["unread_count"] != float64(1) {
		t.Errorf("after marking one read: %v", out)
	}
	if code, _ := b.call(http.MethodPost, "/v1/me/notifications:markRead", map[string]any{"ids": []string{list[1]["id"].(string)}}); code != http.StatusNotFound {
		t.Errorf("B marking A's notification: %d, want 404", code)
	}
}

// demoStack starts the devstack with the demo data on free ports, mailing
// after mailDelay, and a JetStream client on its NATS; both end with the
// test.
func demoStack(ctx context.Context, t *testing.T, mailDelay time.Duration) (*stack.Stack, jetstream.JetStream) {
	t.Helper()
	opts := stack.Config{FreePorts: true}.Options(t.TempDir())
	opts.LoadDemo = true
	opts.MailDelay = mailDelay
	opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	st, err := stack.Start(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := st.Stop(); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	nc, err := nats.Connect(st.NATSURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return st, js
}
