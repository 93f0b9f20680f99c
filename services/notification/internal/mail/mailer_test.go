package mail_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/gemella/gemella/services/notification/internal/app"
	"github.com/gemella/gemella/services/notification/internal/mail"
	"github.com/gemella/gemella/services/notification/internal/store"
	"github.com/gemella/gemella/services/notification/mailbox"
	"github.com/gemella/gemella/services/platform/config"
	"github.com/gemella/gemella/services/platform/embedded"
	"github.com/gemella/gemella/services/platform/mongox"
)

// env is a store on the embedded FerretDB and a mailbox on loopback.
type env struct {
	store *store.Store
	box   *mailbox.Mailbox
	now   time.Time
}

func start(t *testing.T) *env {
	t.Helper()
	if testing.Short() {
		t.Skip("starts the embedded FerretDB")
	}
	ctx := context.Background()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	fdb, err := embedded.StartFerretDB(ctx, embedded.FerretDBOptions{Dir: t.TempDir(), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fdb.Stop)
	client, db, err := mongox.Connect(ctx, config.Mongo{URI: fdb.URI(), Database: "mailer_test", Timeout: 10 * time.Second}, "mailer-test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Disconnect(context.Background()) })
	if err := store.EnsureIndexes(ctx, db); err != nil {
		t.Fatal(err)
	}
	box, err := mailbox.Start(t.TempDir(), "127.0.0.1:0", quiet)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = box.Close() })
	return &env{store: store.New(db, mongox.StoreOptions{}), box: box, now: time.Now()}
}

func (e *env) mailer(t *testing.T) *mail.Mailer {
	t.Helper()
	sender, err := mail.NewSMTP(mail.SMTPConfig{URL: e.box.URL(), Timeout: 5 * time.Second, From: "notifiche@gemella.test", FromName: "Gemella"})
	if err != nil {
		t.Fatal(err)
	}
	cfg := mail.Config{PublicURL: "http://portal.test", UnsubscribeKey: strings.Repeat("k", 32), Poll: time.Second, MaxAttempts: 3, RetryBase: time.Minute}
	m := mail.NewMailer(cfg, e.store, sender, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	m.SetClock(func() time.Time { return e.now })
	return m
}

func (e *env) member(t *testing.T, id, email, lang string, frequency ...string) {
	t.Helper()
	f := app.FrequencyImmediate
	if len(frequency) > 0 {
		f = frequency[0]
	}
	if err := e.store.Members.Create(context.Background(), &store.Member{ID: id, DisplayName: id, Email: email, Language: lang, Frequency: f}); err != nil {
		t.Fatal(err)
	}
}

func (e *env) notify(t *testing.T, memberID, eventID string) string {
	t.Helper()
	id := store.NotificationID(eventID, memberID)
	seq := store.SeqOf(e.now, id)
	n := store.Notification{ID: id, MemberID: memberID, Reason: app.ReasonReply, EventID: eventID, Title: "Tos.Ca.", ActorName: "Chiara",
		Link: "/threads/t1", CreatedAt: e.now, Seq: seq, SortKey: store.SortKeyOf(false, seq),
		Email: store.Email{State: store.EmailPending, DueAt: e.now}}
	if _, err := e.store.InsertNotifications(context.Background(), []store.Notification{n, n}); err != nil {
		t.Fatal(err)
	}
	return id
}

func (e *env) email(t *testing.T, id string) store.Email {
	t.Helper()
	n, err := e.store.Notifications.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return n.Email
}

// TestMailerRetriesRefusalsAndRecordsFailures: a 451 is retried after the
// backoff and then sent once; a 550 is recorded as failed and never sent;
// a notification a dead replica had claimed is not sent again.
func TestMailerRetriesRefusalsAndRecordsFailures(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	e.member(t, "m1", "m1@example.it", "en")
	e.member(t, "m2", "m2@example.it", "it")
	m := e.mailer(t)

	var refusals atomic.Int32
	refusals.Store(1)
	e.box.SetRefuse(func() error {
		if refusals.Add(-1) >= 0 {
			return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try later"}
		}
		return nil
	})
	first := e.notify(t, "m1", "ev-1")
	if err := m.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	if got := e.email(t, first); got.State != store.EmailPending || got.Attempts != 1 || !got.DueAt.After(e.now) || got.Error == "" {
		t.Fatalf("after a 451: %+v, want pending again, attempt 1, due later, the error kept", got)
	}
	if err := m.Pass(ctx); err != nil || len(e.box.Messages()) != 0 {
		t.Fatalf("retried before the backoff: %v, %d messages", err, len(e.box.Messages()))
	}
	e.now = e.now.Add(2 * time.Minute)
	if err := m.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	if got := e.email(t, first); got.State != store.EmailSent || got.Batch == "" {
		t.Fatalf("after the backoff: %+v, want sent", got)
	}
	msgs := e.box.Messages()
	if len(msgs) != 1 || !strings.Contains(msgs[0].Subject, "replied to your post") || msgs[0].Header.Get("List-Unsubscribe") == "" {
		t.Fatalf("messages: %+v", msgs)
	}
	if err := m.Pass(ctx); err != nil || len(e.box.Messages()) != 1 {
		t.Fatalf("a sent notification went again: %v, %d messages", err, len(e.box.Messages()))
	}

	e.box.SetRefuse(func() error {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such mailbox"}
	})
	refused := e.notify(t, "m2", "ev-2")
	if err := m.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	if got := e.email(t, refused); got.State != store.EmailFailed || !strings.Contains(got.Error, "no such mailbox") {
		t.Fatalf("after a 550: %+v, want failed with the reason", got)
	}

	e.box.SetRefuse(nil)
	claimed := e.notify(t, "m2", "ev-3")
	if ok, err := e.store.SetEmail(ctx, claimed, store.EmailPending, store.Email{State: store.EmailSending, ClaimedUntil: e.now.Add(time.Minute)}); !ok || err != nil {
		t.Fatalf("claim: %v %v", ok, err)
	}
	e.now = e.now.Add(10 * time.Minute)
	if err := m.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	if got := e.email(t, claimed); got.State != store.EmailUnknown {
		t.Fatalf("a stale claim: %+v, want unknown (never sent twice)", got)
	}
	if n := len(e.box.Messages()); n != 1 {
		t.Fatalf("%d messages in all, want 1", n)
	}
}

// TestOneEMailTakesWhatIsWaiting: when the first of two notifications is
// due, the second, written a moment later and not due yet, goes in the
// same message; a notification waiting out a refusal's backoff does not.
func TestOneEMailTakesWhatIsWaiting(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	e.member(t, "m1", "m1@example.it", "it")
	m := e.mailer(t)

	first := e.notify(t, "m1", "ev-1")
	e.now = e.now.Add(3 * time.Second)
	second := e.notify(t, "m1", "ev-2")
	backoff := e.notify(t, "m1", "ev-3")
	if ok, err := e.store.SetEmail(ctx, backoff, store.EmailPending, store.Email{State: store.EmailPending, Attempts: 1, DueAt: e.now.Add(time.Hour)}); !ok || err != nil {
		t.Fatalf("put ev-3 in its backoff: %v %v", ok, err)
	}
	for _, id := range []string{second} {
		if ok, err := e.store.SetEmail(ctx, id, store.EmailPending, store.Email{State: store.EmailPending, DueAt: e.now.Add(5 * time.Second)}); !ok || err != nil {
			t.Fatalf("make %s due later: %v %v", id, ok, err)
		}
	}
	if err := m.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	msgs := e.box.Messages()
	if len(msgs) != 1 {
		t.Fatalf("%d messages, want one for both", len(msgs))
	}
	for _, id := range []string{first, second} {
		if got := e.email(t, id); got.State != store.EmailSent {
			t.Errorf("%s: %+v, want sent in the one message", id, got)
		}
	}
	if got := e.email(t, backoff); got.State != store.EmailPending || got.Attempts != 1 {
		t.Errorf("the notification in its backoff: %+v, want still waiting", got)
	}
}

// TestDailyDigest: a member on the daily digest gets nothing at once, and
// one message with everything a day after the first notification.
func TestDailyDigest(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	e.member(t, "d1", "d1@example.it", "it", app.FrequencyDaily)
	m := e.mailer(t)
	a, b := e.notify(t, "d1", "ev-a"), e.notify(t, "d1", "ev-b")
	if err := m.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	if got := e.email(t, a); got.State != store.EmailDigest || len(e.box.Messages()) != 0 {
		t.Fatalf("at once: %+v, %d messages; want waiting for the digest, none sent", got, len(e.box.Messages()))
	}
	e.now = e.now.Add(12 * time.Hour)
	c := e.notify(t, "d1", "ev-c")
	if err := m.Pass(ctx); err != nil || len(e.box.Messages()) != 0 {
		t.Fatalf("half a day on: %v, %d messages", err, len(e.box.Messages()))
	}
	e.now = e.now.Add(13 * time.Hour)
	if err := m.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	msgs := e.box.Messages()
	if len(msgs) != 1 || !strings.Contains(msgs[0].Subject, "riepilogo del giorno (3 novità)") {
		t.Fatalf("a day on: %d messages %+v, want one digest of three", len(msgs), msgs)
	}
	for _, id := range []string{a, b, c} {
		if got := e.email(t, id); got.State != store.EmailSent {
			t.Errorf("notification %s: %+v, want sent in the digest", id, got)
		}
	}
	if err := m.Pass(ctx); err != nil || len(e.box.Messages()) != 1 {
		t.Fatalf("the digest went again: %v", err)
	}
}
