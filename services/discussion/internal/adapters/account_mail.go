package adapters

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"html"
	"time"

	"github.com/gemella/gemella/services/discussion/internal/domain/onetime"
	"github.com/gemella/gemella/services/platform/mailx"
)

// AccountMailer mails account links through the shared SMTP sender
// (package mailx, which the notification service uses too). The discussion
// does not know a member's language (the notification service keeps
// that preference), so each message says the same in Italian and then
// in English.
type AccountMailer struct {
	Sender mailx.Sender
	// Timeout bounds one message; 30s when zero.
	Timeout time.Duration
}

type accountText struct{ subject, it, en, actionIT, actionEN string }

var accountTexts = map[onetime.Purpose]accountText{
	onetime.PurposeResetPassword: {
		subject:  "Gemella: nuova password / new password",
		it:       "qualcuno (speriamo tu) ha chiesto di impostare una nuova password per il tuo account Gemella. Il collegamento funziona una volta sola e per poco tempo. Se non l'hai chiesto tu, ignora questo messaggio: la password resta quella di prima.",
		en:       "someone (hopefully you) asked to set a new password for your Gemella account. The link works once and for a short time. If it was not you, ignore this message: your password stays as it was.",
		actionIT: "Imposta una nuova password",
		actionEN: "Set a new password",
	},
	onetime.PurposeVerifyEmail: {
		subject:  "Gemella: conferma il tuo indirizzo / confirm your address",
		it:       "grazie per esserti registrato su Gemella. Conferma che questo indirizzo è tuo aprendo il collegamento (funziona una volta sola).",
		en:       "thank you for joining Gemella. Confirm that this address is yours by opening the link (it works once).",
		actionIT: "Conferma l'indirizzo",
		actionEN: "Confirm the address",
	},
}

// SendLink implements app.AccountMail.
func (m AccountMailer) SendLink(ctx context.Context, p onetime.Purpose, to, displayName, link string) error {
	t, ok := accountTexts[p]
	if !ok {
		return fmt.Errorf("no message for links of purpose %q", p)
	}
	text := fmt.Sprintf("Ciao %s,\n\n%s\n\n%s: %s\n\n---\n\nHello %s,\n\n%s\n\n%s: %s\n",
		displayName, t.it, t.actionIT, link, displayName, t.en, t.actionEN, link)
	esc, href := html.EscapeString, html.EscapeString(link)
	body := fmt.Sprintf(`<!DOCTYPE html><html lang="it"><body>
<p>Ciao %s,</p><p>%s</p><p><a href="%s">%s</a></p>
<hr><div lang="en"><p>Hello %s,</p><p>%s</p><p><a href="%s">%s</a></p></div>
</body></html>`, esc(displayName), esc(t.it), href, esc(t.actionIT), esc(displayName), esc(t.en), href, esc(t.actionEN))
	sum := sha256.Sum256([]byte(link))
	timeout := m.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return m.Sender.Send(ctx, mailx.Message{ID: "account-" + hex.EncodeToString(sum[:16]), To: to, Subject: t.subject, Text: text, HTML: body})
}
