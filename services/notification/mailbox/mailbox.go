// Package mailbox is an SMTP server that keeps every message it receives
// as a file (.eml) in a folder and shows them on a web page: the devstack's
// stand-in for the world's mail servers, and the real SMTP server of the
// tests (github.com/emersion/go-smtp). It accepts any sender and
// recipient, on loopback, without authentication: never expose it.
package mailbox

import (
	"bytes"
	"errors"
	"fmt"
	"html"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/mail"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"
)

// maxMessageBytes bounds one message.
const maxMessageBytes = 10 << 20

// Message is one message received.
type Message struct {
	// File is the message's file name in the folder.
	File    string
	From    string
	To      []string
	Subject string
	Header  mail.Header
	// Raw is the message as received.
	Raw []byte
}

// Mailbox is a running SMTP receiver.
type Mailbox struct {
	dir    string
	ln     net.Listener
	server *smtp.Server
	log    *slog.Logger
	seq    atomic.Int64

	mu     sync.Mutex
	refuse func() error
	msgs   []Message
	wake   chan struct{}
}

// Start listens on addr (host:port; port 0 picks a free one) and keeps
// messages under dir, created if missing; the messages already there are
// read again.
func Start(dir, addr string, logger *slog.Logger) (*Mailbox, error) {
	if logger == nil {
		logger = slog.Default()
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("mailbox folder: %w", err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("mailbox: listen on %s: %w", addr, err)
	}
	m := &Mailbox{dir: dir, ln: ln, log: logger, wake: make(chan struct{})}
	if err := m.load(); err != nil {
		_ = ln.Close()
		return nil, err
	}
	s := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &session{box: m}, nil }))
	s.Domain = "mailbox.gemella.test"
	s.MaxMessageBytes = maxMessageBytes
	s.MaxRecipients = 100
	s.ReadTimeout, s.WriteTimeout = time.Minute, time.Minute
	s.ErrorLog = slogWriter{logger}
	m.server = s
	go func() {
		if err := s.Serve(ln); err != nil && !errors.Is(err, smtp.ErrServerClosed) {
			logger.Warn("mailbox stopped", "err", err)
		}
	}()
	return m, nil
}

type slogWriter struct{ l *slog.Logger }

func (w slogWriter) Printf(format string, v ...any) { w.l.Debug(fmt.Sprintf(format, v...)) }
func (w slogWriter) Println(v ...any)               { w.l.Debug(fmt.Sprintln(v...)) }

// Addr is where it listens, host:port.
func (m *Mailbox) Addr() string { return m.ln.Addr().String() }

// URL is the SMTP URL of the mailbox, for GEMELLA_SMTP_URL.
func (m *Mailbox) URL() string { return "smtp://" + m.Addr() }

// Dir is the folder of the messages.
func (m *Mailbox) Dir() string { return m.dir }

// Close stops the server.
func (m *Mailbox) Close() error { return m.server.Close() }

// SetRefuse makes the mailbox answer each message with what refuse
// returns, when not nil (an *smtp.SMTPError with a 4xx code is a refusal
// for now, 5xx for good): for tests. Nil accepts again.
func (m *Mailbox) SetRefuse(refuse func() error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.refuse = refuse
}

// Messages are those received so far, oldest first.
func (m *Mailbox) Messages() []Message {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Message(nil), m.msgs...)
}

// Changed is closed when the next message arrives.
func (m *Mailbox) Changed() <-chan struct{} {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.wake
}

func (m *Mailbox) load() error {
	entries, err := os.ReadDir(m.dir)
	if err != nil {
		return fmt.Errorf("mailbox folder: %w", err)
	}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".eml") {
			continue
		}
		raw, err := os.ReadFile(filepath.Join(m.dir, e.Name()))
		if err != nil {
			return fmt.Errorf("mailbox: %w", err)
		}
		msg := parse(e.Name(), raw)
		m.msgs = append(m.msgs, msg)
	}
	sort.Slice(m.msgs, func(i, j int) bool { return m.msgs[i].File < m.msgs[j].File })
	return nil
}

func parse(file string, raw []byte) Message {
	msg := Message{File: file, Raw: raw}
	if parsed, err := mail.ReadMessage(bytes.NewReader(raw)); err == nil {
		msg.Header = parsed.Header
		msg.From = parsed.Header.Get("From")
		msg.To = []string{parsed.Header.Get("To")}
		msg.Subject = parsed.Header.Get("Subject")
		if decoded, err := new(mime.WordDecoder).DecodeHeader(msg.Subject); err == nil {
			msg.Subject = decoded
		}
	}
	return msg
}

func (m *Mailbox) keep(from string, to []string, raw []byte) error {
	m.mu.Lock()
	refuse := m.refuse
	m.mu.Unlock()
	if refuse != nil {
		if err := refuse(); err != nil {
			return err
		}
	}
	name := fmt.Sprintf("%d-%04d.eml", time.Now().UnixNano(), m.seq.Add(1))
	if err := os.WriteFile(filepath.Join(m.dir, name), raw, 0o640); err != nil {
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "cannot keep the message now"}
	}
	msg := parse(name, raw)
	msg.From, msg.To = from, to
	m.mu.Lock()
	m.msgs = append(m.msgs, msg)
	close(m.wake)
	m.wake = make(chan struct{})
	m.mu.Unlock()
	m.log.Info("mail received", "to", strings.Join(to, ","), "subject", msg.Subject, "file", name)
	return nil
}

type session struct {
	box  *Mailbox
	from string
	to   []string
}

func (s *session) Reset()        { s.from, s.to = "", nil }
func (s *session) Logout() error { return nil }
func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	s.from = from
	return nil
}
func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}
func (s *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(io.LimitReader(r, maxMessageBytes+1))
	if err != nil {
		return err
	}
	return s.box.keep(s.from, s.to, raw)
}

// Handler shows the messages: a list at "/", one message (as received)
// at "/{file}".
func (m *Mailbox) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		msgs := m.Messages()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		var b strings.Builder
		b.WriteString(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Devstack mailbox</title></head><body>`)
		fmt.Fprintf(&b, "<h1>Devstack mailbox</h1><p>%d messages sent by the devstack, newest first; the files are in %s.</p><ul>",
			len(msgs), html.EscapeString(m.dir))
		for i := len(msgs) - 1; i >= 0; i-- {
			x := msgs[i]
			fmt.Fprintf(&b, `<li><a href="%s">%s</a> — to %s</li>`, html.EscapeString(x.File), html.EscapeString(x.Subject), html.EscapeString(strings.Join(x.To, ", ")))
		}
		b.WriteString("</ul></body></html>")
		_, _ = io.WriteString(w, b.String())
	})
	mux.HandleFunc("GET /{file}", func(w http.ResponseWriter, r *http.Request) {
		for _, x := range m.Messages() {
			if x.File == r.PathValue("file") {
				w.Header().Set("Content-Type", "text/plain; charset=utf-8")
				_, _ = w.Write(x.Raw)
				return
			}
		}
		http.NotFound(w, r)
	})
	return mux
}
