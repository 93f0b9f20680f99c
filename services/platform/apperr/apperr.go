// Package apperr is the small error vocabulary that domain and application
// code use to say what went wrong, without knowing any transport. The gRPC
// layer (package grpcx) turns it into status codes in one place.
package apperr

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Kind says what sort of failure an error is; each maps to one gRPC code.
type Kind int

const (
	KindUnknown Kind = iota
	KindInvalidArgument
	KindNotFound
	KindAlreadyExists
	KindFailedPrecondition
	KindAborted
	KindPermissionDenied
	KindUnauthenticated
	KindUnavailable
	KindResourceExhausted
)

func (k Kind) String() string {
	switch k {
	case KindInvalidArgument:
		return "invalid argument"
	case KindNotFound:
		return "not found"
	case KindAlreadyExists:
		return "already exists"
	case KindFailedPrecondition:
		return "failed precondition"
	case KindAborted:
		return "aborted"
	case KindPermissionDenied:
		return "permission denied"
	case KindUnauthenticated:
		return "unauthenticated"
	case KindUnavailable:
		return "unavailable"
	case KindResourceExhausted:
		return "resource exhausted"
	}
	return "unknown"
}

// FieldViolation names one bad field and the rule it breaks. Field is the
// field's API name (snake_case, as in the proto and the JSON), with indexes
// for list elements: "models[0].code". Reason is stable for programs; when
// empty it is derived from the rule (see ReasonOfViolation).
type FieldViolation struct {
	Field  string
	Rule   string
	Reason Reason
}

// Error is a failure of a known kind. Message is safe to show to callers.
// Reason is the stable, machine-readable cause (see reasons.go); when empty
// the kind's default applies.
type Error struct {
	Kind       Kind
	Message    string
	Violations []FieldViolation
	// Unlisted counts the violations past MaxViolations, not listed.
	Unlisted int
	Err      error
	Reason   Reason
	// Metadata adds facts to the reason for programs (ErrorInfo metadata),
	// e.g. the current state of a resource.
	Metadata map[string]string
	// Move describes an illegal state move: what was asked and what is
	// allowed from the current state (a PreconditionFailure detail).
	Move *StateMove
	// RetryAfter says when a retry may succeed (ResourceExhausted,
	// Unavailable); zero leaves it to the transport's default.
	RetryAfter time.Duration
}

// StateMove is an illegal state move: Subject (e.g. "practices/p-1") is in
// state From, Asked is not allowed from there, Allowed are the moves that are.
type StateMove struct {
	Subject string
	From    string
	Asked   string
	Allowed []string
}

// WithReason sets the stable reason and returns e, for chaining after a
// constructor: apperr.AlreadyExists("…").WithReason(apperr.ReasonPracticeSlugTaken).
func (e *Error) WithReason(r Reason) *Error {
	e.Reason = r
	return e
}

// WithMetadata adds one fact for programs and returns e.
func (e *Error) WithMetadata(key, value string) *Error {
	if e.Metadata == nil {
		e.Metadata = map[string]string{}
	}
	e.Metadata[key] = value
	return e
}

// WithMove records an illegal state move; the reason becomes
// ILLEGAL_STATE_MOVE unless one was set.
func (e *Error) WithMove(subject, from, asked string, allowed ...string) *Error {
	e.Move = &StateMove{Subject: subject, From: from, Asked: asked, Allowed: allowed}
	if e.Reason == "" {
		e.Reason = ReasonIllegalStateMove
	}
	return e
}

// WithRetryAfter says when a retry may succeed and returns e.
func (e *Error) WithRetryAfter(d time.Duration) *Error {
	e.RetryAfter = d
	return e
}

// ReasonOf is the stable reason of err: the first *Error's own reason, or
// its kind's default; INTERNAL for an error of no known kind.
func ReasonOf(err error) Reason {
	var e *Error
	if !errors.As(err, &e) {
		return ReasonInternal
	}
	if e.Reason != "" {
		return e.Reason
	}
	if e.Kind == KindInvalidArgument && len(e.Violations) > 0 {
		// One reason for the whole request: FIELD_REQUIRED when that is all
		// that is wrong, else the first violation's.
		first := ReasonOfViolation(e.Violations[0])
		for _, v := range e.Violations {
			if ReasonOfViolation(v) != ReasonFieldRequired {
				return ReasonOfViolation(v)
			}
		}
		return first
	}
	return DefaultReason(e.Kind)
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Message)
	for i, v := range e.Violations {
		if i == messageViolations {
			break
		}
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(v.Field)
		b.WriteString(" ")
		b.WriteString(v.Rule)
	}
	if more := len(e.Violations) + e.Unlisted - messageViolations; more > 0 {
		fmt.Fprintf(&b, "; and %d more", more)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Is lets errors.Is match on kind: errors.Is(err, apperr.NotFound("")) is
// true for any not-found error.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Kind == e.Kind && t.Message == ""
}

func newf(k Kind, format string, args ...any) *Error {
	return &Error{Kind: k, Message: fmt.Sprintf(format, args...)}
}

func NotFound(format string, args ...any) *Error { return newf(KindNotFound, format, args...) }
func AlreadyExists(format string, args ...any) *Error {
	return newf(KindAlreadyExists, format, args...)
}
func FailedPrecondition(format string, args ...any) *Error {
	return newf(KindFailedPrecondition, format, args...)
}
func Aborted(format string, args ...any) *Error { return newf(KindAborted, format, args...) }
func PermissionDenied(format string, args ...any) *Error {
	return newf(KindPermissionDenied, format, args...)
}
func Unauthenticated(format string, args ...any) *Error {
	return newf(KindUnauthenticated, format, args...)
}
func ResourceExhausted(format string, args ...any) *Error {
	return newf(KindResourceExhausted, format, args...)
}

// Unavailable wraps the cause of a dependency being out of reach.
func Unavailable(err error, format string, args ...any) *Error {
	e := newf(KindUnavailable, format, args...)
	e.Err = err
	return e
}

// Invalid is an InvalidArgument error for a single field.
func Invalid(field, rule string) *Error {
	return &Error{Kind: KindInvalidArgument, Message: "invalid request", Violations: []FieldViolation{{Field: field, Rule: rule}}}
}

// InvalidBecause is Invalid with an explicit reason for the field.
func InvalidBecause(field string, reason Reason, rule string) *Error {
	return &Error{Kind: KindInvalidArgument, Message: "invalid request", Reason: reason,
		Violations: []FieldViolation{{Field: field, Rule: rule, Reason: reason}}}
}

// KindOf returns the kind of the first *Error in err's chain, or KindUnknown.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindUnknown
}

// Violations collects every field problem of a request, so that one error
// reports all of them at once.
type Violations struct {
	list []FieldViolation
	// unlisted counts the violations past MaxViolations.
	unlisted int
}

// MaxViolations bounds the violations one error lists; the rest are only
// counted. A body of a few hundred kilobytes with a hundred thousand bad
// list entries answered megabytes, and past the gRPC trailer's size the
// call failed as an internal error.
const MaxViolations = 50

// messageViolations are the violations an error's message names; the
// details list up to MaxViolations.
const messageViolations = 3

func (v *Violations) add(f FieldViolation) {
	if len(v.list) >= MaxViolations {
		v.unlisted++
		return
	}
	v.list = append(v.list, f)
}

// Add records that field breaks rule.
func (v *Violations) Add(field, rule string) {
	v.add(FieldViolation{Field: field, Rule: rule})
}

// AddReason records a violation with an explicit stable reason.
func (v *Violations) AddReason(field string, reason Reason, rule string) {
	v.add(FieldViolation{Field: field, Rule: rule, Reason: reason})
}

// Addf records a rule built from a format.
func (v *Violations) Addf(field, format string, args ...any) {
	v.Add(field, fmt.Sprintf(format, args...))
}

// Merge adds the violations of another set, each field prefixed.
func (v *Violations) Merge(prefix string, other *Violations) {
	for _, f := range other.list {
		f.Field = prefix + f.Field
		v.add(f)
	}
	v.unlisted += other.unlisted
}

// Len is the number of violations so far.
func (v *Violations) Len() int { return len(v.list) + v.unlisted }

// Err returns nil when nothing was added, else one InvalidArgument error.
func (v *Violations) Err() error {
	if v.Len() == 0 {
		return nil
	}
	return &Error{Kind: KindInvalidArgument, Message: "invalid request", Violations: append([]FieldViolation(nil), v.list...), Unlisted: v.unlisted}
}
