package portal

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
)

// Forms are protected twice against cross-site request forgery:
//
//   - every form carries a token that only this server can make: an HMAC,
//     under a server key, of a random per-browser id (kept in an HttpOnly
//     cookie, renewed at every log-in and log-out) and of the member the
//     session names, so it is worthless in another browser, for another
//     member, or after logging in or out. It does not depend on the token
//     itself, which the portal refreshes every few minutes while a form may
//     be open. Each page gets a fresh random nonce inside the token, so
//     tokens never repeat in responses;
//   - net/http's CrossOriginProtection refuses unsafe requests that the
//     browser marks as cross-site (Sec-Fetch-Site, or Origin against Host).
//
// A small HMAC scheme is used instead of github.com/gorilla/csrf: its
// v1.7.3 treats every request as HTTPS unless told otherwise per request,
// which makes plain-HTTP development and tests fail in surprising ways,
// and the part it adds over this file is the same HMAC.

const (
	// csrfCookie is the portal's own; the API's double-submit cookie
	// (gateway/server, "gemella_csrf") is a different one.
	csrfCookie    = "gemella_portal_csrf"
	csrfField     = "csrf_token"
	csrfHeader    = "X-CSRF-Token"
	csrfIDBytes   = 32
	csrfNonceSize = 16
)

type csrfGuard struct {
	key []byte
}

// newBrowserID is the random value of the CSRF cookie.
func newBrowserID() string {
	return base64.RawURLEncoding.EncodeToString(randomBytes(csrfIDBytes))
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return b
}

func (g csrfGuard) mac(browserID, member string, nonce []byte) []byte {
	m := hmac.New(sha256.New, g.key)
	m.Write([]byte("gemella-portal-csrf\x00"))
	m.Write([]byte(browserID))
	m.Write([]byte{0})
	m.Write([]byte(member))
	m.Write([]byte{0})
	m.Write(nonce)
	return m.Sum(nil)
}

// token makes a form token for the browser and member ("" for a visitor).
func (g csrfGuard) token(browserID, member string) string {
	nonce := randomBytes(csrfNonceSize)
	return base64.RawURLEncoding.EncodeToString(append(nonce, g.mac(browserID, member, nonce)...))
}

// valid checks a token sent back by the browser.
func (g csrfGuard) valid(browserID, member, token string) bool {
	if browserID == "" || token == "" || len(token) > 128 {
		return false
	}
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(raw) != csrfNonceSize+sha256.Size {
		return false
	}
	return hmac.Equal(raw[csrfNonceSize:], g.mac(browserID, member, raw[:csrfNonceSize]))
}

// sentToken is the token of a form post, or of a script's request header.
func sentToken(r *http.Request) string {
	if t := r.Header.Get(csrfHeader); t != "" {
		return t
	}
	return r.PostFormValue(csrfField)
}

// setBrowserID gives the browser a new CSRF id.
func (p *Portal) setBrowserID(w http.ResponseWriter, r *http.Request, id string) {
	http.SetCookie(w, &http.Cookie{
		Name:     csrfCookie,
		Value:    id,
		Path:     "/",
		HttpOnly: true,
		Secure:   p.secure(r),
		SameSite: http.SameSiteLaxMode,
	})
}
