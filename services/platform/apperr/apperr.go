// Package apperr is the small error vocabulary that domain and application
// code use to say what went wrong, without knowing any transport. The gRPC
// layer (package grpcx) turns it into status codes in one place.
package apperr

import (
	"errors"
	"fmt"
	"strings"
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

// FieldViolation names one bad field and the rule it breaks.
type FieldViolation struct {
	Field string
	Rule  string
}

// Error is a failure of a known kind. Message is safe to show to callers.
type Error struct {
	Kind       Kind
	Message    string
	Violations []FieldViolation
	Err        error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Message)
	for i, v := range e.Violations {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(v.Field)
		b.WriteString(" ")
		b.WriteString(v.Rule)
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
	return &Error{Kind: KindInvalidArgument, Message: "invalid request", Violations: []FieldViolation{{field, rule}}}
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
}

// Add records that field breaks rule.
func (v *Violations) Add(field, rule string) { v.list = append(v.list, FieldViolation{field, rule}) }

// Addf records a rule built from a format.
func (v *Violations) Addf(field, format string, args ...any) {
	v.Add(field, fmt.Sprintf(format, args...))
}

// Merge adds the violations of another set, each field prefixed.
func (v *Violations) Merge(prefix string, other *Violations) {
	for _, f := range other.list {
		v.list = append(v.list, FieldViolation{prefix + f.Field, f.Rule})
	}
}

// Len is the number of violations so far.
func (v *Violations) Len() int { return len(v.list) }

// Err returns nil when nothing was added, else one InvalidArgument error.
func (v *Violations) Err() error {
	if len(v.list) == 0 {
		return nil
	}
	return &Error{Kind: KindInvalidArgument, Message: "invalid request", Violations: append([]FieldViolation(nil), v.list...)}
}
