package portal

import (
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// form is a form's values as sent and its errors: the services' field
// violations next to the fields they name, and a message for the whole
// form when the failure is not about one field.
type form struct {
	Values url.Values
	// errs are the field errors by field name, e.g. "title",
	// "models[0].code", "contact.email".
	errs map[string][]string
	// Summary lists every field error in the order the service gave them,
	// for the error box at the top of the form.
	Summary []fieldError
	// Message is the form-level error, already translated.
	Message string
	// typed says the form holds what the member wrote (an edit, not a
	// button): refused because someone saved in between, it is kept for a
	// deliberate second save (keepAfterStale).
	typed bool
	// labels are the message ids of the fields' labels, as the form shows
	// them, for the error summary: "title", or "models[].code" for the
	// field of every row and "models[]" for the row itself (its label
	// takes the row's number).
	labels map[string]string
	// names are ids the form's errors may name and the page knows by
	// another name, e.g. a transfer id → its model code.
	names map[string]string
	// formats are, for an input that holds a list written in a format
	// ("links": one "title | address" a line), the message id that says
	// how to write it: a service's item missing a part or of the wrong
	// shape ("links[0].url") is that input written wrongly, not a field
	// the visitor left empty.
	formats map[string]string
}

type fieldError struct {
	Field string
	// Label is the field's label as the form shows it, translated.
	Label   string
	Message string
}

func newForm(values url.Values) *form {
	if values == nil {
		values = url.Values{}
	}
	return &form{Values: values, errs: map[string][]string{}}
}

// withLabels gives the form its fields' labels (message ids).
func (f *form) withLabels(labels map[string]string) *form {
	f.labels = labels
	return f
}

// withFormat says how the list input is written (a message id), see formats.
func (f *form) withFormat(input, id string) *form {
	if f.formats == nil {
		f.formats = map[string]string{}
	}
	f.formats[input] = id
	return f
}

// misWritten is, for a service's field naming a part of an item of a
// list input written in a format ("links[0].url"), the input and how to
// write it, when the rule broken is a missing part or a wrong shape.
func (f *form) misWritten(l *locale, field, rule string) (input, sentence string, ok bool) {
	m := indexed.FindStringSubmatch(field)
	if m == nil {
		return "", "", false
	}
	id, known := f.formats[m[1]]
	if !known || !(shapeRule(rule) || strings.HasPrefix(rule, "is required") || rule == "must not be blank") {
		return "", "", false
	}
	return m[1], l.T(id), true
}

var indexed = regexp.MustCompile(`^([a-z_.]+)\[(\d+)\](.*)$`)

// label is the field's label as the form shows it; a field the form does
// not label is "a field of the form", never its name.
func (f *form) label(l *locale, field string) string {
	if id, ok := f.labels[field]; ok {
		return l.T(id)
	}
	if m := indexed.FindStringSubmatch(field); m != nil {
		n, _ := strconv.Atoi(m[2])
		if id, ok := f.labels[m[1]+"[]"+m[3]]; ok {
			if row, ok := f.labels[m[1]+"[]"]; ok {
				return l.T("form.row_field", l.T(row, n+1), l.T(id))
			}
			return l.T(id)
		}
		if id, ok := f.labels[m[1]]; ok {
			return l.T(id)
		}
	}
	if i := strings.LastIndexByte(field, '.'); i > 0 {
		return f.label(l, field[:i])
	}
	return l.T("form.some_field")
}

// require checks, before anything is sent to a service, that the named
// fields have a value, and marks each empty one. It reports whether all
// were there; when not, the form says what to fill in, so that a visitor
// hears about a missing field before a refusal of another kind.
func (f *form) require(l *locale, fields ...string) bool {
	ok := true
	for _, name := range fields {
		if len(nonBlank(f.Values[name])) == 0 {
			f.fieldError(l, name, l.T("rule.required"))
			ok = false
		}
	}
	if !ok {
		f.Message = l.T("form.fix_fields")
	}
	return ok
}

// Val is a field's value as sent.
func (f *form) Val(name string) string { return f.Values.Get(name) }

// Vals are the values of a multi-valued field.
func (f *form) Vals(name string) []string { return f.Values[name] }

// Has reports a checked checkbox or a chosen option.
func (f *form) Has(name, value string) bool {
	for _, v := range f.Values[name] {
		if v == value {
			return true
		}
	}
	return false
}

// Err is the error text of a field, "" when it has none.
func (f *form) Err(name string) string { return sentences(f.errs[name]) }

// ErrUnder is the error text of a field and of every field under it, for
// one input that edits a list ("expected_results" for
// "expected_results[2]").
func (f *form) ErrUnder(name string) string {
	var out []string
	for _, e := range f.Summary {
		if e.Field == name || strings.HasPrefix(e.Field, name+"[") || strings.HasPrefix(e.Field, name+".") {
			out = append(out, e.Message)
		}
	}
	return sentences(out)
}

// sentences writes messages one after the other, each once: they are
// sentences of their own, with their own full stops.
func sentences(msgs []string) string {
	var out []string
	for _, m := range msgs {
		if m = strings.TrimSpace(m); m != "" && !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	return strings.Join(out, " ")
}

// listInputs are the fields a form edits as one text input holding a list
// ("it, en"), which the services check item by item ("languages[1]").
var listInputs = map[string]bool{
	"languages": true, "themes": true, "sectors": true, "programme.priorities": true, "territory_codes": true,
}

// listItem is, for a service's field naming an item of a list input
// ("languages[1]"), the input and the item as the visitor wrote it.
func (f *form) listItem(field string) (input, value string, ok bool) {
	m := indexed.FindStringSubmatch(field)
	if m == nil || m[3] != "" || !listInputs[m[1]] || len(f.Values[m[1]]) != 1 {
		return "", "", false
	}
	i, _ := strconv.Atoi(m[2])
	items := splitList(f.Val(m[1]))
	if i >= len(items) {
		return "", "", false
	}
	return m[1], items[i], true
}

// leftEmpty reports a field the form sent with no value.
func (f *form) leftEmpty(field string) bool {
	vals, sent := f.Values[field]
	return sent && len(nonBlank(vals)) == 0
}

// shapeRule is a rule about the form of a value ("must be a date",
// "must be an http or https URL"): broken by an empty value, it means the
// field is required.
func shapeRule(rule string) bool {
	return strings.HasPrefix(rule, "must be a ") || strings.HasPrefix(rule, "must be an ") || strings.HasPrefix(rule, "must be one of ")
}

// Failed reports whether the form has any error.
func (f *form) Failed() bool { return f.Message != "" || len(f.Summary) > 0 }

func (f *form) fieldError(l *locale, field, msg string) {
	if slices.Contains(f.errs[field], msg) {
		return // said once
	}
	f.errs[field] = append(f.errs[field], msg)
	f.Summary = append(f.Summary, fieldError{Field: field, Label: f.label(l, field), Message: msg})
}

// rename moves the errors of a service's field to the form field that
// edits it.
func (f *form) rename(from, to string) {
	for i, e := range f.Summary {
		if e.Field == from {
			f.Summary[i].Field = to
		}
	}
	if _, ok := f.errs[from]; !ok {
		return
	}
	f.errs[to] = append(f.errs[to], f.errs[from]...)
	delete(f.errs, from)
}

// field is what the input partial needs to draw one labelled input.
type field struct {
	Form     *form
	Name     string
	ID       string
	Label    string
	Type     string
	Required bool
	Hint     string
	Value    string
	// Autocomplete is the autocomplete attribute, e.g. "new-password".
	Autocomplete string
}

// newField is the "fld" template function: fld .Form "title" "Titolo" "text" "required".
// Options after the type: "required", "hint=…" for a help text, "id=…"
// when the same field appears in several forms of a page, and
// "autocomplete=…".
func newField(f *form, name, label, kind string, opts ...string) field {
	fd := field{Form: f, Name: name, ID: fieldID(name), Label: label, Type: kind, Value: f.Val(name)}
	for _, o := range opts {
		switch {
		case o == "required":
			fd.Required = true
		case strings.HasPrefix(o, "hint="):
			fd.Hint = strings.TrimPrefix(o, "hint=")
		case strings.HasPrefix(o, "id="):
			fd.ID = fieldID(strings.TrimPrefix(o, "id="))
		case strings.HasPrefix(o, "autocomplete="):
			fd.Autocomplete = strings.TrimPrefix(o, "autocomplete=")
		}
	}
	return fd
}

// Err is the field's error, including errors of the items of a list field.
func (fd field) Err() string { return fd.Form.ErrUnder(fd.Name) }

var idUnsafe = regexp.MustCompile(`[^a-zA-Z0-9_-]+`)

// fieldID turns a field name such as "models[0].code" into an element id.
func fieldID(name string) string {
	return "f-" + strings.Trim(idUnsafe.ReplaceAllString(name, "-"), "-")
}

// requestPrefixes are the request-message fields that wrap the resource in
// the services' violations ("practice.title"); forms name the resource's
// fields directly.
var requestPrefixes = []string{"practice.", "member.", "twinning.", "post.", "thread.", "story.", "transfer.", "activity.", "need.", "offer.", "organization."}

func formFieldName(violation string) string {
	for _, prefix := range requestPrefixes {
		if strings.HasPrefix(violation, prefix) {
			return strings.TrimPrefix(violation, prefix)
		}
	}
	return violation
}

// failure says how a backend error is shown on a form: the HTTP status of
// the page and whether the visitor must log in (again).
type failure struct {
	status     int
	mustLogIn  bool
	notFound   bool
	unexpected bool
}

// wording is what explains errors on the request's page.
func (p *Portal) wording(r *http.Request, names map[string]string) wording {
	return wording{l: visitOf(r).L, orgs: p.orgNames(r), names: names}
}

// explain puts a backend error on the form in the visitor's language (see
// errtext.go): field violations next to their fields under the labels the
// form shows, anything else as the form's message. Server-side failures
// never show the service's message.
func (p *Portal) explain(r *http.Request, f *form, err error) failure {
	l := visitOf(r).L
	st, ok := status.FromError(err)
	if !ok {
		st = status.New(codes.Unknown, err.Error())
	}
	// Server-side failures need no names: describe never shows them.
	w := wording{l: l}
	switch st.Code() {
	case codes.Unavailable, codes.DeadlineExceeded, codes.Unimplemented, codes.Canceled, codes.Internal, codes.Unknown, codes.DataLoss:
	default:
		w = p.wording(r, f.names)
	}
	msg, fields := w.describe(st)
	f.Message = msg
	switch st.Code() {
	case codes.InvalidArgument, codes.OutOfRange:
		for _, fv := range fields {
			name, sentence := formFieldName(fv.field), fv.sentence
			if input, how, ok := f.misWritten(l, name, fv.rule); ok {
				// An item of a list written in a format: say the format.
				name, sentence = input, how
			} else if input, value, ok := f.listItem(name); ok {
				// One item of a list typed in one input: name the item.
				name, sentence = input, w.aboutValue(fv, value)
			} else if f.leftEmpty(name) && shapeRule(fv.rule) {
				sentence = l.T("rule.required")
			}
			f.fieldError(l, name, sentence)
		}
		if len(f.Summary) > 0 {
			f.Message = l.T("form.fix_fields")
		}
		return failure{status: http.StatusBadRequest}
	case codes.AlreadyExists:
		// A code or slug another one has is the field's fault: mark it.
		if name, ok := takenField(st); ok {
			if _, sent := f.Values[name]; sent {
				f.fieldError(l, name, msg)
				f.Message = l.T("form.fix_fields")
			}
		}
		return failure{status: http.StatusConflict}
	case codes.FailedPrecondition, codes.Aborted:
		return failure{status: http.StatusConflict}
	case codes.NotFound:
		return failure{status: http.StatusNotFound, notFound: true}
	case codes.PermissionDenied:
		return failure{status: http.StatusForbidden}
	case codes.Unauthenticated:
		return failure{status: http.StatusUnauthorized, mustLogIn: true}
	case codes.ResourceExhausted:
		return failure{status: http.StatusTooManyRequests}
	case codes.Unavailable, codes.DeadlineExceeded, codes.Unimplemented, codes.Canceled:
		p.logBackend(r, err)
		return failure{status: http.StatusServiceUnavailable}
	default:
		p.logBackend(r, err)
		return failure{status: http.StatusInternalServerError, unexpected: true}
	}
}

// takenFields are the form fields that ErrorInfo reasons of an
// AlreadyExists say are taken by another resource.
var takenFields = map[string]string{
	"TWINNING_CODE_TAKEN": "code",
	"PRACTICE_SLUG_TAKEN": "slug",
}

// takenField is the form field st says another resource already has.
func takenField(st *status.Status) (string, bool) {
	for _, d := range st.Details() {
		if ei, ok := d.(*errdetails.ErrorInfo); ok {
			if name, ok := takenFields[ei.GetReason()]; ok {
				return name, true
			}
		}
	}
	return "", false
}

// fieldWords is a field violation in words; rule is the service's.
type fieldWords struct{ field, sentence, rule string }

// describe says st in w's language: the sentence for the whole error,
// and one per field violation of its BadRequest, in their order. A
// server-side failure never shows the service's words.
func (w wording) describe(st *status.Status) (string, []fieldWords) {
	l := w.l
	switch st.Code() {
	case codes.InvalidArgument, codes.OutOfRange:
		fields := w.fields(st)
		if len(fields) == 0 {
			return w.refusal(st, "form.invalid"), nil
		}
		return l.T("form.fix_fields"), fields
	case codes.AlreadyExists:
		// A request_id sent again with another body names the field too.
		return w.refusal(st, "form.already_exists"), w.fields(st)
	case codes.FailedPrecondition:
		return w.refusal(st, "form.not_now"), nil
	case codes.Aborted:
		return w.refusal(st, "form.stale"), nil
	case codes.NotFound:
		// What was not found, when the service says it in words the
		// portal knows (following a twinning that does not exist).
		return w.refusal(st, "form.gone"), nil
	case codes.PermissionDenied:
		return w.refusal(st, "form.denied"), nil
	case codes.Unauthenticated:
		// A wrong password, a first log-in, an ended session: each in its words.
		return w.refusal(st, "form.log_in"), nil
	case codes.ResourceExhausted:
		msg := w.refusal(st, "form.too_many")
		for _, d := range st.Details() {
			if ri, ok := d.(*errdetails.RetryInfo); ok && ri.GetRetryDelay().AsDuration() > 0 && msg == l.T("form.too_many") {
				msg = l.N("refusal.retry_in", int(ri.GetRetryDelay().AsDuration().Seconds()+0.999))
			}
		}
		return msg, nil
	case codes.Unimplemented:
		// A method or custom verb the path does not have (the gateway's
		// 405, reason METHOD_NOT_ALLOWED) is not an outage.
		return w.refusal(st, "form.unavailable"), nil
	case codes.Unavailable, codes.DeadlineExceeded, codes.Canceled:
		return l.T("form.unavailable"), nil
	default:
		return l.T("form.internal"), nil
	}
}

// fields says each field violation of st's BadRequest, in their order.
func (w wording) fields(st *status.Status) []fieldWords {
	var fields []fieldWords
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				fields = append(fields, fieldWords{v.GetField(), w.fieldSentence(v), v.GetDescription()})
			}
		}
	}
	return fields
}

// fail shows the page for a backend error that stops a whole page (not a
// form): not found, not allowed, log in first, service down.
func (p *Portal) fail(w http.ResponseWriter, r *http.Request, err error) {
	switch status.Code(err) {
	case codes.NotFound, codes.InvalidArgument:
		p.renderError(w, r, http.StatusNotFound, "error.not_found")
	case codes.PermissionDenied:
		p.renderError(w, r, http.StatusForbidden, "error.forbidden")
	case codes.Unauthenticated:
		p.clearSessionCookie(w, r)
		p.redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), "flash.log_in_first")
	case codes.Unavailable, codes.DeadlineExceeded, codes.Unimplemented, codes.Canceled:
		p.logBackend(r, err)
		p.renderError(w, r, http.StatusServiceUnavailable, "error.unavailable")
	default:
		p.logBackend(r, err)
		p.renderError(w, r, http.StatusInternalServerError, "error.internal")
	}
}

func (p *Portal) logBackend(r *http.Request, err error) {
	p.logger.Log(r.Context(), backendLogLevel(err), "portal: backend call failed",
		slog.String("request_id", visitOf(r).requestID),
		slog.String("path", r.URL.Path),
		slog.String("grpc_code", status.Code(err).String()),
		slog.String("error", err.Error()))
}

// backendLogLevel is how loud a failed backend call is for an operator:
// an outage is a warning, a fault of the system an error, and what the
// visitor brought (an ended session, a right they lack, something that is
// not there, a form to correct) is only information.
func backendLogLevel(err error) slog.Level {
	switch status.Code(err) {
	case codes.Unavailable, codes.DeadlineExceeded, codes.Canceled:
		return slog.LevelWarn
	case codes.Unauthenticated, codes.PermissionDenied, codes.NotFound, codes.InvalidArgument,
		codes.FailedPrecondition, codes.AlreadyExists, codes.Aborted, codes.ResourceExhausted, codes.OutOfRange:
		return slog.LevelInfo
	}
	return slog.LevelError
}

// keepAfterStale readies a typed form refused for a stale etag (someone
// saved the same thing in between) for a deliberate second save: its
// etag becomes the current version's, and the message says that saving
// again replaces the other person's changes with the member's, and that
// reloading shows theirs but loses what was typed. Without it the member
// could only save and fail again, or reload and lose the typing.
func keepAfterStale(l *locale, f *form, err error, currentEtag string) {
	if !f.typed || status.Code(err) != codes.Aborted || currentEtag == "" {
		return
	}
	f.Values.Set("etag", currentEtag)
	f.Message = l.T("form.stale_kept")
}

// section is a part of a page filled by one backend call: when the call
// fails the part says so and the rest of the page is shown.
type section[T any] struct {
	Items T
	// Down is the translated reason the part is missing, "" when it is there.
	Down string
}

func (p *Portal) sectionError(r *http.Request, err error) string {
	l := visitOf(r).L
	if status.Code(err) == codes.Unavailable || status.Code(err) == codes.Unimplemented || status.Code(err) == codes.DeadlineExceeded {
		p.logBackend(r, err)
		return l.T("section.unavailable")
	}
	p.logBackend(r, err)
	return l.T("section.error")
}

// requireUser sends an anonymous visitor to the log-in page and reports
// whether the page may go on.
func (p *Portal) requireUser(w http.ResponseWriter, r *http.Request) bool {
	if visitOf(r).User != nil {
		return true
	}
	next := r.URL.RequestURI()
	if r.Method != http.MethodGet {
		next = r.Referer()
		if u, err := url.Parse(next); err == nil {
			next = u.RequestURI()
		}
	}
	p.redirect(w, r, "/login?next="+url.QueryEscape(localPath(next, "/")), "flash.log_in_first")
	return false
}

// requireRole shows 403 to a member without the capability, after
// requireUser.
func (p *Portal) requireRole(w http.ResponseWriter, r *http.Request, allowed func(*user) bool) bool {
	if !p.requireUser(w, r) {
		return false
	}
	if !allowed(visitOf(r).User) {
		p.renderError(w, r, http.StatusForbidden, "error.forbidden")
		return false
	}
	return true
}
