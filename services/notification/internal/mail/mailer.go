package mail

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gemella/gemella/services/notification/internal/app"
	"github.com/gemella/gemella/services/notification/internal/store"
)

// claimFor is how long a replica holds the notifications it is mailing.
// One still claimed after that was taken by a replica that died: whether
// its message went out is unknown, and it is not sent again (at most once).
const claimFor = 2 * time.Minute

// sendTimeout bounds one message's SMTP conversation beyond the
// sender's own timeout.
const sendTimeout = time.Minute

// Mailer turns due notifications into e-mail. Several replicas may run
// one each: a notification is claimed by a conditional write before it
// is sent, so only one replica sends it.
type Mailer struct {
	cfg    Config
	store  *store.Store
	sender Sender
	tokens Tokens
	log    *slog.Logger
	now    func() time.Time
	sent   *prometheus.CounterVec
}

// NewMailer mails with sender; metrics, when set, gets
// gemella_notification_emails_total{outcome}.
func NewMailer(cfg Config, s *store.Store, sender Sender, logger *slog.Logger, metrics prometheus.Registerer) *Mailer {
	m := &Mailer{cfg: cfg, store: s, sender: sender, tokens: NewTokens(cfg.UnsubscribeKey), log: logger, now: time.Now,
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gemella_notification_emails_total",
			Help: "Notifications by what became of their e-mail: sent, failed, retried, unknown, skipped, digest."}, []string{"outcome"})}
	if metrics != nil {
		_ = metrics.Register(m.sent)
	}
	return m
}

// SetClock replaces the clock: for tests.
func (m *Mailer) SetClock(now func() time.Time) { m.now = now }

// UnsubscribeURL is the one-click link of a member.
func (m *Mailer) UnsubscribeURL(memberID string) string {
	return strings.TrimRight(m.cfg.PublicURL, "/") + "/v1/unsubscribe?token=" + m.tokens.Sign(memberID)
}

// Run mails until ctx ends.
func (m *Mailer) Run(ctx context.Context) error {
	t := time.NewTicker(m.cfg.Poll)
	defer t.Stop()
	for {
		if err := m.Pass(ctx); err != nil && ctx.Err() == nil {
			m.log.Warn("mailer pass", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Pass mails what is due now, once.
func (m *Mailer) Pass(ctx context.Context) error {
	now := m.now()
	stale, err := m.store.StaleClaims(ctx, now, 100)
	if err != nil {
		return err
	}
	for _, n := range stale {
		e := n.Email
		e.State, e.Error = store.EmailUnknown, "the replica that was sending it stopped: not sent again"
		if ok, err := m.store.SetEmail(ctx, n.ID, store.EmailSending, e); err == nil && ok {
			m.sent.WithLabelValues("unknown").Inc()
		}
	}
	due, err := m.store.Due(ctx, store.EmailPending, now, 200)
	if err != nil {
		return err
	}
	byMember := map[string][]store.Notification{}
	var order []string
	for _, n := range due {
		if _, ok := byMember[n.MemberID]; !ok {
			order = append(order, n.MemberID)
		}
		byMember[n.MemberID] = append(byMember[n.MemberID], n)
	}
	var errs []error
	for _, id := range order {
		errs = append(errs, m.mailMember(ctx, id, byMember[id]))
	}
	// Digests: a member's digest goes when its oldest notification has
	// waited the period, and takes every notification waiting for it.
	due, err = m.store.Due(ctx, store.EmailDigest, now, 200)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	done := map[string]bool{}
	for _, n := range due {
		if done[n.MemberID] {
			continue
		}
		done[n.MemberID] = true
		all, err := m.store.OfMemberInState(ctx, n.MemberID, store.EmailDigest, maxDigestItems)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		errs = append(errs, m.send(ctx, n.MemberID, all, store.EmailDigest))
	}
	return errors.Join(errs...)
}

// maxDigestItems bounds one digest; the rest goes in the next.
const maxDigestItems = 100

// digestPeriod is how long a notification waits for its digest.
func digestPeriod(frequency string) time.Duration {
	if frequency == app.FrequencyWeekly {
		return 7 * 24 * time.Hour
	}
	return 24 * time.Hour
}

func (m *Mailer) settle(ctx context.Context, ns []store.Notification, from string, e store.Email, outcome string) {
	for _, n := range ns {
		ne := e
		if ne.Attempts == 0 {
			ne.Attempts = n.Email.Attempts
		}
		if ok, err := m.store.SetEmail(ctx, n.ID, from, ne); err != nil {
			m.log.Warn("record e-mail outcome", "notification", n.ID, "err", err)
		} else if ok {
			m.sent.WithLabelValues(outcome).Inc()
		}
	}
}

func (m *Mailer) mailMember(ctx context.Context, memberID string, ns []store.Notification) error {
	member, err := m.store.Members.Get(ctx, memberID)
	if err != nil {
		m.settle(ctx, ns, store.EmailPending, store.Email{State: store.EmailSkipped, Error: "member unknown here"}, "skipped")
		return nil
	}
	frequency := cmp.Or(member.Frequency, m.cfg.DefaultFrequency, app.FrequencyImmediate)
	switch {
	case frequency == app.FrequencyNever:
		m.settle(ctx, ns, store.EmailPending, store.Email{State: store.EmailSkipped, Error: "e-mail off"}, "skipped")
		return nil
	case member.Email == "":
		m.settle(ctx, ns, store.EmailPending, store.Email{State: store.EmailSkipped, Error: "no address known"}, "skipped")
		return nil
	case frequency == app.FrequencyDaily || frequency == app.FrequencyWeekly:
		m.settle(ctx, ns, store.EmailPending, store.Email{State: store.EmailDigest, DueAt: m.now().Add(digestPeriod(frequency))}, "digest")
		return nil
	}
	return m.send(ctx, memberID, withWaiting(ns, m.waiting(ctx, memberID)), store.EmailPending)
}

// waiting are the member's notifications waiting for their first e-mail
// but not due yet: the message that goes now takes them too, so that a
// reply and a mention written a few seconds apart make one e-mail, not
// two a few seconds apart. One that is waiting out a refusal's backoff
// is left to wait.
func (m *Mailer) waiting(ctx context.Context, memberID string) []store.Notification {
	all, err := m.store.OfMemberInState(ctx, memberID, store.EmailPending, maxDigestItems)
	if err != nil {
		m.log.Warn("read the member's waiting notifications", "member", memberID, "err", err)
		return nil
	}
	var out []store.Notification
	for _, n := range all {
		if n.Email.Attempts == 0 {
			out = append(out, n)
		}
	}
	return out
}

// withWaiting is due followed by what of waiting it does not hold.
func withWaiting(due, waiting []store.Notification) []store.Notification {
	seen := make(map[string]bool, len(due))
	for _, n := range due {
		seen[n.ID] = true
	}
	for _, n := range waiting {
		if !seen[n.ID] {
			due, seen[n.ID] = append(due, n), true
		}
	}
	return due
}

// send claims ns (each still in state from), mails what it claimed in one
// message and records the outcome; a refusal for now puts them back in
// from, due after the backoff.
func (m *Mailer) send(ctx context.Context, memberID string, ns []store.Notification, from string) error {
	member, err := m.store.Members.Get(ctx, memberID)
	if err != nil {
		return err
	}
	if member.Frequency == app.FrequencyNever || member.Email == "" {
		m.settle(ctx, ns, from, store.Email{State: store.EmailSkipped, Error: "e-mail off or no address"}, "skipped")
		return nil
	}
	// Claim each; only what this replica claimed goes out.
	now := m.now()
	var claimed []store.Notification
	for _, n := range ns {
		e := n.Email
		e.State, e.ClaimedUntil = store.EmailSending, now.Add(claimFor)
		ok, err := m.store.SetEmail(ctx, n.ID, from, e)
		if err != nil {
			return err
		}
		if ok {
			n.Email = e
			claimed = append(claimed, n)
		}
	}
	if len(claimed) == 0 {
		return nil
	}
	ids := make([]string, len(claimed))
	items := make([]Item, len(claimed))
	for i, n := range claimed {
		ids[i] = n.ID
		items[i] = Item{Text: app.Text(&n, member.Language), Link: n.Link}
	}
	slices.Sort(ids)
	sum := sha256.Sum256([]byte(strings.Join(ids, ",")))
	batch := hex.EncodeToString(sum[:16])
	unsub := m.UnsubscribeURL(memberID)
	kind := ""
	if from == store.EmailDigest {
		kind = cmp.Or(member.Frequency, m.cfg.DefaultFrequency)
	}
	subject, text, htmlBody := Compose(member.Language, m.cfg.PublicURL, unsub, items, kind)
	sendCtx, cancel := context.WithTimeout(ctx, sendTimeout)
	err = m.sender.Send(sendCtx, Message{ID: batch, To: member.Email, Subject: subject, Text: text, HTML: htmlBody, UnsubURL: unsub})
	cancel()
	attempts := claimed[0].Email.Attempts + 1
	var temp *TempError
	switch {
	case err == nil:
		m.settle(ctx, claimed, store.EmailSending, store.Email{State: store.EmailSent, Batch: batch, SentAt: m.now(), Attempts: attempts}, "sent")
		m.log.Info("e-mail sent", "member", memberID, "notifications", len(claimed), "message", batch)
	case errors.As(err, &temp) && attempts < m.cfg.MaxAttempts:
		wait := m.cfg.RetryBase << min(attempts-1, 10)
		m.settle(ctx, claimed, store.EmailSending, store.Email{State: from, DueAt: m.now().Add(wait), Attempts: attempts, Error: err.Error()}, "retried")
		m.log.Warn("e-mail refused for now: will retry", "member", memberID, "attempt", attempts, "in", wait, "err", err)
	default:
		m.settle(ctx, claimed, store.EmailSending, store.Email{State: store.EmailFailed, Attempts: attempts, Error: truncate(err.Error(), 500)}, "failed")
		m.log.Warn("e-mail failed", "member", memberID, "attempt", attempts, "err", err)
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
