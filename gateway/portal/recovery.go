package portal

import (
	"context"
	"net/http"
	"net/url"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	discussionv1 "github.com/gemella/gemella/proto/gemella/discussion/v1"
)

// Accounts that recover: a forgotten password is replaced through a link
// mailed to the address, and the address given at sign-up is confirmed
// through another. The links open pages with a button: a mail client or
// a virus scanner that fetches the link spends nothing, only the person's
// click (a POST) uses it.

// unverifiedCookie marks a browser whose member has not confirmed the
// address yet, so that every page reminds them without asking the
// discussion service each time. It is a hint, never a credential.
const unverifiedCookie = "gemella_unverified"

var recoveryLabels = map[string]string{"email": "register.email", "new_password": "recovery.new_password", "token": "recovery.link"}

// clientAddressKey is the metadata in which the discussion service learns
// the client's address (it limits reset requests per address).
const clientAddressKey = "gemella-client-address"

// clientHeader is where the gateway's limits put the client's address.
const clientHeader = "X-Gemella-Client-Address"

func withClientAddress(ctx context.Context, r *http.Request) context.Context {
	if a := r.Header.Get(clientHeader); a != "" {
		return metadata.AppendToOutgoingContext(ctx, clientAddressKey, a)
	}
	return ctx
}

func (p *Portal) setUnverified(w http.ResponseWriter, r *http.Request, unverified bool) {
	c := &http.Cookie{Name: unverifiedCookie, Value: "1", Path: "/", MaxAge: 12 * 3600, HttpOnly: true, Secure: p.secure(r), SameSite: http.SameSiteLaxMode}
	if !unverified {
		c.Value, c.MaxAge = "", -1
	}
	http.SetCookie(w, c)
}

type recoveryData struct {
	Form *form
	// Sent says the reset request was taken: the page says to look in
	// the mailbox, the same for every address.
	Sent bool
	// Done says the link did its work.
	Done bool
}

func (p *Portal) forgotForm(w http.ResponseWriter, r *http.Request) {
	p.render(w, r, http.StatusOK, "password-forgot", "recovery.forgot_title", recoveryData{Form: newForm(nil)})
}

// forgot asks for a reset link. The page that follows is the same whether
// or not the address has an account.
func (p *Portal) forgot(w http.ResponseWriter, r *http.Request) {
	f := newForm(formValues(r)).withLabels(recoveryLabels)
	if !f.require(visitOf(r).L, "email") {
		p.render(w, r, http.StatusBadRequest, "password-forgot", "recovery.forgot_title", recoveryData{Form: f})
		return
	}
	ctx, cancel := p.call(r)
	defer cancel()
	_, err := p.b.Discussion.RequestPasswordReset(withClientAddress(ctx, r), &discussionv1.RequestPasswordResetRequest{Email: f.Val("email")})
	if err != nil {
		p.render(w, r, p.explain(r, f, err).status, "password-forgot", "recovery.forgot_title", recoveryData{Form: f})
		return
	}
	p.render(w, r, http.StatusOK, "password-forgot", "recovery.forgot_title", recoveryData{Form: newForm(nil), Sent: true})
}

func (p *Portal) resetForm(w http.ResponseWriter, r *http.Request) {
	f := newForm(url.Values{"token": {r.URL.Query().Get("token")}})
	p.render(w, r, http.StatusOK, "password-reset", "recovery.reset_title", recoveryData{Form: f})
}

// reset sets the new password; every session of the member ends, this
// browser's too, and the member logs in with the new password.
func (p *Portal) reset(w http.ResponseWriter, r *http.Request) {
	f := newForm(formValues(r)).withLabels(recoveryLabels)
	ctx, cancel := p.call(r)
	defer cancel()
	_, err := p.b.Discussion.ResetPassword(ctx, &discussionv1.ResetPasswordRequest{Token: f.Val("token"), NewPassword: r.PostFormValue("new_password")})
	if err != nil {
		f.Values.Del("new_password")
		p.render(w, r, p.explain(r, f, err).status, "password-reset", "recovery.reset_title", recoveryData{Form: f})
		return
	}
	p.clearSessionCookie(w, r)
	p.redirect(w, r, "/login", "flash.password_reset")
}

func (p *Portal) verifyForm(w http.ResponseWriter, r *http.Request) {
	f := newForm(url.Values{"token": {r.URL.Query().Get("token")}})
	p.render(w, r, http.StatusOK, "email-verify", "recovery.verify_title", recoveryData{Form: f})
}

// verify confirms the address with the mailed link.
func (p *Portal) verify(w http.ResponseWriter, r *http.Request) {
	f := newForm(formValues(r)).withLabels(recoveryLabels)
	ctx, cancel := p.call(r)
	defer cancel()
	if _, err := p.b.Discussion.VerifyEmail(ctx, &discussionv1.VerifyEmailRequest{Token: f.Val("token")}); err != nil {
		p.render(w, r, p.explain(r, f, err).status, "email-verify", "recovery.verify_title", recoveryData{Form: f})
		return
	}
	p.setUnverified(w, r, false)
	p.render(w, r, http.StatusOK, "email-verify", "recovery.verify_title", recoveryData{Form: newForm(nil), Done: true})
}

// resendVerification mails the member a new link, from the banner.
func (p *Portal) resendVerification(w http.ResponseWriter, r *http.Request) {
	if visitOf(r).User == nil {
		p.redirect(w, r, "/login", "")
		return
	}
	ctx, cancel := p.call(r)
	defer cancel()
	_, err := p.b.Discussion.SendVerificationEmail(ctx, &discussionv1.SendVerificationEmailRequest{})
	switch {
	case err == nil:
		p.redirect(w, r, "/profile", "flash.verification_sent")
	case status.Code(err) == codes.FailedPrecondition:
		p.setUnverified(w, r, false)
		p.redirect(w, r, "/profile", "flash.verification_done")
	default:
		f := newForm(nil)
		p.render(w, r, p.explain(r, f, err).status, "email-verify", "recovery.verify_title", recoveryData{Form: f})
	}
}
