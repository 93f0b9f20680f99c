package portal

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
	_ "time/tzdata" // the portal shows times in Europe/Rome whatever the host's zone database

	"golang.org/x/text/feature/plural"
	"golang.org/x/text/language"
	"golang.org/x/text/language/display"
	"golang.org/x/text/message"
	"golang.org/x/text/message/catalog"
	"google.golang.org/protobuf/types/known/timestamppb"

	twinningv1 "github.com/gemella/gemella/proto/gemella/twinning/v1"
)

// The portal speaks Italian by default and English on request. Its strings
// live in one table per language keyed by message id (messages_it.go,
// messages_en.go), so that a reviewer reads a translation next to the
// original. The tables are loaded into a golang.org/x/text/message catalogue
// at start: the printer then chooses plural forms by the CLDR plural rules
// of each language (forms{One, Other}: "1 messaggio", "2 messaggi", "0
// partecipanti" in both languages' own rules rather than n == 1), and formats
// numbers with the language's digit grouping ("1.234" and "1,234"). Tests
// check that both tables hold every id the templates and the code use, and
// render every page in both languages. Dates are written by hand because
// x/text has no date formatting.

// Lang is a language the portal speaks.
type Lang string

const (
	Italian Lang = "it"
	English Lang = "en"
)

// DefaultLang is the language of a visitor who has not chosen one.
const DefaultLang = Italian

// parseLang accepts exactly the languages the portal speaks.
func parseLang(s string) (Lang, bool) {
	switch Lang(s) {
	case Italian, English:
		return Lang(s), true
	}
	return "", false
}

// rome is where the platform's people live; every time is shown in it.
var rome = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Rome")
	if err != nil {
		// time/tzdata is embedded, so this cannot happen.
		panic(fmt.Sprintf("portal: load Europe/Rome: %v", err))
	}
	return loc
}()

// locale is a language with what templates need to speak it: messages,
// dates, relative times and numbers. It is read-only and shared.
type locale struct {
	Lang     Lang
	messages messages
	months   [12]string
	printer  *message.Printer
	// names names languages in this one: "italiano", "Italian".
	names display.Namer
	now   func() time.Time
}

// messages is one language's table: each id maps to a string (a format
// for fmt-style arguments) or to forms, a message that depends on a count.
type messages map[string]any

// forms are the plural forms of a message whose first argument is a count
// (%d): One for the CLDR category "one" of the language, Other for every
// other count.
type forms struct{ One, Other string }

// catalogueOf loads the tables into an x/text catalogue. It fails on a
// value that is neither a string nor forms, which a test catches.
func catalogueOf(tables map[Lang]messages) (*catalog.Builder, error) {
	b := catalog.NewBuilder()
	for lang, table := range tables {
		tag := language.Make(string(lang))
		for id, m := range table {
			var err error
			switch m := m.(type) {
			case string:
				err = b.SetString(tag, id, m)
			case forms:
				err = b.Set(tag, id, plural.Selectf(1, "%d", plural.One, m.One, plural.Other, m.Other))
			default:
				err = fmt.Errorf("%T is neither a string nor forms", m)
			}
			if err != nil {
				return nil, fmt.Errorf("message %s (%s): %w", id, lang, err)
			}
		}
	}
	return b, nil
}

// portalCatalogue is the catalogue of both languages, loaded once.
var portalCatalogue = func() *catalog.Builder {
	b, err := catalogueOf(map[Lang]messages{Italian: italian, English: english})
	if err != nil {
		panic(fmt.Sprintf("portal: load messages: %v", err))
	}
	return b
}()

func newLocale(lang Lang, now func() time.Time) *locale {
	l := &locale{Lang: lang, now: now}
	switch lang {
	case English:
		l.messages = english
		l.months = [12]string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"}
	default:
		l.Lang = Italian
		l.messages = italian
		l.months = [12]string{"gennaio", "febbraio", "marzo", "aprile", "maggio", "giugno", "luglio", "agosto", "settembre", "ottobre", "novembre", "dicembre"}
	}
	l.printer = message.NewPrinter(language.Make(string(l.Lang)), message.Catalog(portalCatalogue))
	l.names = display.Tags(language.Make(string(l.Lang)))
	return l
}

// Has reports whether the language has a message id.
func (l *locale) Has(id string) bool {
	_, ok := l.messages[id]
	return ok
}

// T returns the message id in the locale's language, formatted with args
// as fmt.Sprintf does. An unknown id shows itself in brackets, so that a
// missing translation is visible (and caught by the tests that render
// every page) rather than silently blank.
func (l *locale) T(id string, args ...any) string {
	if !l.Has(id) {
		return "[" + id + "]"
	}
	return l.printer.Sprintf(id, args...)
}

// N returns the message id for a count: the plural form the language's
// CLDR rules choose for count, with count formatted in the locale as the
// first argument and args after it.
func (l *locale) N(id string, count any, args ...any) string {
	var n int
	switch c := count.(type) {
	case int:
		n = c
	case int32:
		n = int(c)
	case int64:
		n = int(c)
	}
	return l.T(id, append([]any{n}, args...)...)
}

// Label is the word that follows a figure shown apart (<strong>1</strong>
// gemellaggio): the form of message id, a forms, that the language's CLDR
// rules choose for count, without the count.
func (l *locale) Label(id string, count any) string {
	f, ok := l.messages[id].(forms)
	if !ok {
		return l.T(id)
	}
	var n int
	switch c := count.(type) {
	case int:
		n = c
	case int32:
		n = int(c)
	case int64:
		n = int(c)
	}
	if plural.Cardinal.MatchPlural(language.Make(string(l.Lang)), n, 0, 0, 0, 0) == plural.One {
		return f.One
	}
	return f.Other
}

// Num formats an integer with the language's digit grouping: 1.234 or 1,234.
func (l *locale) Num(n any) string {
	return l.printer.Sprintf("%d", n)
}

// LanguageName is the name of the language of an ISO 639 code (as
// practices list them) in the reader's language, from the CLDR data of
// golang.org/x/text: "it" is "italiano" in Italian and "Italian" in
// English. A code it does not know is shown as it is.
func (l *locale) LanguageName(code string) string {
	code = strings.TrimSpace(code)
	tag, err := language.Parse(code)
	if err != nil {
		return code
	}
	if name := l.names.Name(tag); name != "" {
		return name
	}
	return code
}

// LanguageNames names each language of codes, separated by commas.
func (l *locale) LanguageNames(codes []string) string {
	names := make([]string, len(codes))
	for i, c := range codes {
		names[i] = l.LanguageName(c)
	}
	return strings.Join(names, ", ")
}

// Other is the other language, offered by the language switch.
func (l *locale) Other() Lang {
	if l.Lang == English {
		return Italian
	}
	return English
}

// Date writes a day in full: "16 maggio 2015", "16 May 2015". It takes a
// protobuf timestamp, a time.Time or a "YYYY-MM-DD" string; anything empty
// or unreadable gives "" (a malformed date string is shown as it is).
func (l *locale) Date(v any) string {
	t, ok := toTime(v)
	if !ok {
		if s, isString := v.(string); isString {
			return s
		}
		return ""
	}
	return fmt.Sprintf("%d %s %d", t.Day(), l.months[t.Month()-1], t.Year())
}

// DateTime writes a moment: "16 maggio 2015, 09:30".
func (l *locale) DateTime(v any) string {
	t, ok := toTime(v)
	if !ok {
		return ""
	}
	return l.Date(t) + ", " + t.Format("15:04")
}

// ISO is the machine-readable form for <time datetime="…">.
func (l *locale) ISO(v any) string {
	t, ok := toTime(v)
	if !ok {
		return ""
	}
	return t.Format(time.RFC3339)
}

// Ago says how long ago something happened: "2 mesi fa", "2 months ago".
func (l *locale) Ago(v any) string {
	t, ok := toTime(v)
	if !ok {
		return ""
	}
	span, ok := l.span(t)
	if !ok {
		return l.T("time.just_now")
	}
	return l.T("time.ago", span)
}

// span is the time from t to now in the largest whole calendar unit, or
// false when it is under a minute (or t lies in the future).
func (l *locale) span(t time.Time) (string, bool) {
	now := l.now().In(rome)
	if !t.Before(now) {
		return "", false
	}
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "", false
	case d < time.Hour:
		return l.N("time.minutes", int(d/time.Minute)), true
	case d < 24*time.Hour:
		return l.N("time.hours", int(d/time.Hour)), true
	}
	months := (now.Year()-t.Year())*12 + int(now.Month()) - int(t.Month())
	if now.Day() < t.Day() || now.Day() == t.Day() && clock(now) < clock(t) {
		months--
	}
	switch {
	case months < 1:
		return l.N("time.days", max(1, int(d/(24*time.Hour)))), true
	case months < 12:
		return l.N("time.months", months), true
	default:
		return l.N("time.years", months/12), true
	}
}

func clock(t time.Time) time.Duration {
	return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute + time.Duration(t.Second())*time.Second
}

// toTime reads the kinds of time the backends send, in Rome's zone.
func toTime(v any) (time.Time, bool) {
	switch x := v.(type) {
	case *timestamppb.Timestamp:
		if x == nil || (x.GetSeconds() == 0 && x.GetNanos() == 0) {
			return time.Time{}, false
		}
		return x.AsTime().In(rome), true
	case time.Time:
		if x.IsZero() {
			return time.Time{}, false
		}
		return x.In(rome), true
	case string:
		if x == "" {
			return time.Time{}, false
		}
		t, err := time.ParseInLocation(time.DateOnly, strings.TrimSpace(x), rome)
		if err != nil {
			return time.Time{}, false
		}
		return t, true
	}
	return time.Time{}, false
}

// liveCategories are the kinds of live feed event (by the start of their
// type, e.g. "twinning.transfer") and their label's message id.
var liveCategories = map[string]string{
	"catalog.practice":  "live.practice",
	"catalog.need":      "live.seekoffer",
	"catalog.offer":     "live.seekoffer",
	"twinning.twinning": "live.twinning",
	"twinning.transfer": "live.transfer",
	"twinning.activity": "live.activity",
	"discussion.member": "live.member",
	"discussion.thread": "live.thread",
	"discussion.post":   "live.post",
	"discussion.story":  "live.story",

	// Reports: only their approval is in the feed. The label says the
	// kind (the event's summary), the link the quarter or "open the report".
	"twinning.report":           "live.report",
	"twinning.report.quarterly": "live.report.quarterly",
	"twinning.report.final":     "live.report.final",
	"twinning.report.open":      "live.report.open",
}

// LiveLabels are the labels of the live feed's event kinds, as JSON for
// portal.js (which writes them with textContent).
func (l *locale) LiveLabels() string {
	labels := make(map[string]string, len(liveCategories)+8)
	for kind, id := range liveCategories {
		labels[kind] = l.T(id)
	}
	// A post's line names the thread it was written in.
	labels["discussion.post.in"] = l.T("live.post.in")
	// A transfer's line says its model and new status in words.
	labels["twinning.transfer.model"] = l.T("live.transfer.model")
	for _, s := range []twinningv1.TransferStatus{twinningv1.TransferStatus_TRANSFER_STATUS_PLANNED, twinningv1.TransferStatus_TRANSFER_STATUS_IN_PROGRESS,
		twinningv1.TransferStatus_TRANSFER_STATUS_ADOPTED, twinningv1.TransferStatus_TRANSFER_STATUS_PARTIALLY_ADOPTED, twinningv1.TransferStatus_TRANSFER_STATUS_DROPPED} {
		labels["twinning.transfer."+s.String()] = l.T(enumID(s))
	}
	b, _ := json.Marshal(labels)
	return string(b)
}
