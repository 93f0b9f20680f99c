package server

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/gemella/gemella/services/platform/apperr"
)

// strictInput is a grpc-gateway middleware: it runs once a route has
// matched and before grpc-gateway fills the request message, and answers
// 400 with every bad field named (path variables, query parameters, the
// body, the headers that become gRPC metadata). What passes is what the
// message can hold and the gRPC client can send.
func (s *Server) strictInput(next runtime.HandlerFunc) runtime.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request, pathParams map[string]string) {
		rt := s.routeOf(r)
		if rt == nil {
			next(w, r, pathParams) // the gateway's own endpoints
			return
		}
		var v violations
		checkPath(rt, pathParams, &v)
		checkQuery(rt, r.URL.RawQuery, &v)
		checkHeaders(r.Header, &v)
		if md := rt.bodyMessage(); md != nil && r.Body != nil && r.Body != http.NoBody {
			raw, err := io.ReadAll(r.Body)
			if err != nil {
				var tooLarge *http.MaxBytesError
				if errors.As(err, &tooLarge) || bodyLimitExceeded(r.Context()) {
					s.writeBodyTooLarge(w, r)
					return
				}
				s.writeViolations(w, r, violations{{field: "body", reason: apperr.ReasonMalformedJSON, rule: "could not be read"}})
				return
			}
			if len(bytes.TrimSpace(raw)) > 0 {
				c := checker{v: &v, outside: outsideBody(rt)}
				if root, err := parseJSON(raw); err != nil {
					field := "body"
					if se, ok := err.(*syntaxError); ok && se.path != "" {
						field = se.path
					}
					v.add(field, apperr.ReasonMalformedJSON, "is not valid JSON: the body %s", err.Error())
				} else {
					c.message(md, root, "")
					checkPathInBody(rt, md, pathParams, root, &v)
				}
			}
			r.Body = io.NopCloser(bytes.NewReader(raw))
		}
		if len(v) > 0 {
			s.writeViolations(w, r, v)
			return
		}
		next(w, r, pathParams)
	}
}

// apiParamName is the name the OpenAPI document gives a path variable:
// "practice.id" is documented as "id", so that each resource has one path
// template.
func apiParamName(field string) string {
	if i := strings.LastIndexByte(field, '.'); i >= 0 {
		return field[i+1:]
	}
	return field
}

func checkPath(rt *route, params map[string]string, v *violations) {
	for _, field := range rt.pathFields {
		value, ok := params[field]
		if !ok {
			continue
		}
		if reason, rule := textProblem(value); reason != "" {
			v.add(apiParamName(field), reason, "%s", rule)
		}
	}
}

// routeOf is the API route r matched; nil for the gateway's own
// endpoints and before routing.
func (s *Server) routeOf(r *http.Request) *route {
	template := ""
	if st := stateFrom(r.Context()); st != nil && st.pattern != "" {
		template = st.pattern // recordRoute's
	} else if pattern, ok := runtime.HTTPPattern(r.Context()); ok {
		template = pattern.String()
	} else {
		return nil
	}
	return s.routes.lookup(r, template)
}

// checkPathInBody refuses a body that names a resource other than the
// path's: grpc-gateway fills the path's variables over the body's, so a
// PATCH /v1/practices/p1 whose body says "id": "p2" would change p1
// without a word. An id left out, empty, or the same as the path's is
// fine (AIP-134: the path names the resource).
func checkPathInBody(rt *route, md protoreflect.MessageDescriptor, params map[string]string, root *jsonValue, v *violations) {
	for _, field := range rt.pathFields {
		names := strings.Split(field, ".")
		if rt.body != "*" {
			if names[0] != rt.body {
				continue
			}
			names = names[1:]
		}
		got := memberAt(md, root, names)
		if got == nil || got.kind != jsonString || got.text == "" {
			continue
		}
		if want, ok := params[field]; ok && got.text != want {
			v.add(strings.Join(names, "."), apperr.ReasonFieldInvalid, "is %q in the body but %q in the path: leave it out of the body, or give the same", got.text, want)
		}
	}
}

// memberAt is the body's value of the field at names (proto names, from
// the body's message md), its keys matched by proto or JSON name; nil
// when absent.
func memberAt(md protoreflect.MessageDescriptor, v *jsonValue, names []string) *jsonValue {
	for _, name := range names {
		if md == nil || v == nil || v.kind != jsonObject {
			return nil
		}
		fd := md.Fields().ByName(protoreflect.Name(name))
		if fd == nil {
			return nil
		}
		var next *jsonValue
		for _, m := range v.members {
			if m.key == string(fd.Name()) || m.key == fd.JSONName() {
				next = m.value
			}
		}
		v, md = next, fd.Message()
	}
	return v
}

// outsideBody says where the request fields that the body does not carry
// go, for the hint on an unknown body field.
func outsideBody(rt *route) map[string]string {
	if rt.body == "*" {
		return nil
	}
	out := map[string]string{}
	fields := rt.rpc.Input().Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		name := string(fd.Name())
		if name == rt.body {
			continue
		}
		out[name] = "as the query parameter " + name
	}
	for _, f := range rt.pathFields {
		top, _, _ := strings.Cut(f, ".")
		if top != rt.body {
			out[top] = "in the path"
		}
	}
	return out
}

// checkQuery checks every query parameter: a known field of the request
// outside the body and the path, given once unless it is a list, with a
// value of its type.
func checkQuery(rt *route, rawQuery string, v *violations) {
	if rawQuery == "" {
		return
	}
	seen := map[string]bool{}
	for _, pair := range strings.Split(rawQuery, "&") {
		if pair == "" {
			continue
		}
		rawKey, rawValue, _ := strings.Cut(pair, "=")
		key, err := url.QueryUnescape(rawKey)
		if err != nil {
			v.add("query", apperr.ReasonFieldInvalid, "parameter %q has a malformed percent-escape", rawKey)
			continue
		}
		if reason, _ := textProblem(key); reason != "" {
			v.add("query", reason, "has a parameter name that is not valid text")
			continue
		}
		fd, name, problem := resolveQueryField(rt, key)
		if problem != "" {
			v.add(name, apperr.ReasonFieldUnknown, "%s", problem)
			continue
		}
		value, err := url.QueryUnescape(rawValue)
		if err != nil {
			v.add(name, apperr.ReasonFieldInvalid, "has a malformed percent-escape (write %%25 for a literal %%)")
			continue
		}
		if seen[name] && !fd.IsList() {
			v.add(name, apperr.ReasonFieldDuplicate, "is given more than once")
			continue
		}
		seen[name] = true
		checkQueryValue(fd, value, name, v)
	}
}

// checkPlainQuery checks the query of a route that is not a gRPC method
// (the live feed) as checkQuery does those: each parameter one of allowed,
// given once, well escaped, and text.
func checkPlainQuery(rawQuery string, allowed ...string) violations {
	var v violations
	seen := map[string]bool{}
	for _, pair := range strings.Split(rawQuery, "&") {
		if pair == "" {
			continue
		}
		rawKey, rawValue, _ := strings.Cut(pair, "=")
		key, err := url.QueryUnescape(rawKey)
		if err != nil {
			v.add("query", apperr.ReasonFieldInvalid, "parameter %q has a malformed percent-escape", rawKey)
			continue
		}
		if reason, _ := textProblem(key); reason != "" {
			v.add("query", reason, "has a parameter name that is not valid text")
			continue
		}
		if !slices.Contains(allowed, key) {
			v.add(key, apperr.ReasonFieldUnknown, "is not a parameter here (%s)", strings.Join(allowed, ", "))
			continue
		}
		value, err := url.QueryUnescape(rawValue)
		if err != nil {
			v.add(key, apperr.ReasonFieldInvalid, "has a malformed percent-escape (write %%25 for a literal %%)")
			continue
		}
		if seen[key] {
			v.add(key, apperr.ReasonFieldDuplicate, "is given more than once")
			continue
		}
		seen[key] = true
		if reason, rule := textProblem(value); reason != "" {
			v.add(key, reason, "%s", rule)
		}
	}
	return v
}

// resolveQueryField finds the field a query parameter names (proto or JSON
// names, dotted for nested messages); name is its API name.
func resolveQueryField(rt *route, key string) (protoreflect.FieldDescriptor, string, string) {
	md := rt.rpc.Input()
	var names []string
	var fd protoreflect.FieldDescriptor
	for i, part := range strings.Split(key, ".") {
		if md == nil {
			return nil, key, "is not a parameter of this operation"
		}
		fd = md.Fields().ByTextName(part)
		if fd == nil {
			fd = md.Fields().ByJSONName(part)
		}
		if fd == nil {
			return nil, key, "is not a parameter of this operation"
		}
		names = append(names, string(fd.Name()))
		if i == 0 && rt.body != "" && (rt.body == "*" || string(fd.Name()) == rt.body) {
			return nil, strings.Join(names, "."), "belongs in the request body, not the query"
		}
		md = nil
		if fd.Message() != nil && !wellKnown(fd.Message()) && !fd.IsMap() {
			md = fd.Message()
		}
	}
	name := strings.Join(names, ".")
	for _, p := range rt.pathFields {
		if p == name {
			return nil, apiParamName(name), "is set by the path, not the query"
		}
	}
	if fd.IsMap() || (fd.Message() != nil && !wellKnown(fd.Message())) {
		return nil, name, "is an object: name one of its fields, e.g. " + name + ".<field>"
	}
	return fd, name, ""
}

func checkQueryValue(fd protoreflect.FieldDescriptor, value, name string, v *violations) {
	if reason, rule := textProblem(value); reason != "" {
		v.add(name, reason, "%s", rule)
		return
	}
	bad := func(rule string) { v.add(name, apperr.ReasonFieldInvalid, "%s", rule) }
	switch fd.Kind() {
	case protoreflect.StringKind:
	case protoreflect.BoolKind:
		if _, err := strconv.ParseBool(value); err != nil {
			bad("must be true or false")
		}
	case protoreflect.EnumKind:
		ed := fd.Enum()
		if ed.Values().ByName(protoreflect.Name(value)) != nil {
			return
		}
		if n, err := strconv.ParseInt(value, 10, 32); err == nil && ed.Values().ByNumber(protoreflect.EnumNumber(n)) != nil {
			return
		}
		var names []string
		for i := 0; i < ed.Values().Len() && i < maxEnumNames; i++ {
			names = append(names, string(ed.Values().Get(i).Name()))
		}
		bad("must be one of " + strings.Join(names, ", "))
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		if _, err := strconv.ParseInt(value, 10, 32); err != nil {
			bad("must be an integer of at most 32 bits")
		}
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		if _, err := strconv.ParseInt(value, 10, 64); err != nil {
			bad("must be an integer of at most 64 bits")
		}
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		if _, err := strconv.ParseUint(value, 10, 32); err != nil {
			bad("must be a non-negative integer of at most 32 bits")
		}
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		if _, err := strconv.ParseUint(value, 10, 64); err != nil {
			bad("must be a non-negative integer of at most 64 bits")
		}
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		if _, err := strconv.ParseFloat(value, 64); err != nil {
			bad("must be a number")
		}
	case protoreflect.BytesKind:
		if !validBase64(value) {
			bad("must be base64 text")
		}
	case protoreflect.MessageKind:
		switch fd.Message().Name() {
		case "Timestamp":
			if _, err := time.Parse(time.RFC3339Nano, value); err != nil || !timestampText.MatchString(value) {
				bad("must be an RFC 3339 time, e.g. 2026-01-31T09:00:00Z")
			}
		case "Duration":
			if !durationText.MatchString(value) {
				bad(`must be a duration in seconds, e.g. "1.5s"`)
			}
		case "FieldMask":
			for _, p := range strings.Split(value, ",") {
				if !fieldMaskPath.MatchString(p) && !snakePath.MatchString(p) {
					bad("must list field names separated by commas")
					return
				}
			}
		default:
			if wrapped := fd.Message().Fields().ByName("value"); wrapped != nil {
				checkQueryValue(wrapped, value, name, v)
				return
			}
			bad("cannot be set in the query")
		}
	}
}

// checkHeaders checks the headers that reach the services as gRPC
// metadata, whose values must be visible ASCII, and that If-Match is "*"
// or entity tags (RFC 9110; a bare version number is taken too, as the
// services do), not words a stale-etag answer would misread.
func checkHeaders(h http.Header, v *violations) {
	for _, name := range []string{"If-Match", "Authorization"} {
		for _, value := range h.Values(name) {
			if rule := headerRule(name, value); rule != "" {
				v.add(name, apperr.ReasonFieldInvalid, "%s", rule)
				break // one violation per header
			}
		}
	}
}

// headerRule is the rule value of header name breaks, or "".
func headerRule(name, value string) string {
	for i := 0; i < len(value); i++ {
		if c := value[i]; c < 0x20 || c > 0x7e {
			return "header must be printable ASCII"
		}
	}
	if name == "If-Match" && !isIfMatch(value) {
		return `header must be "*" or an entity tag such as "3"`
	}
	return ""
}

var entityTag = regexp.MustCompile(`^(W/)?"[\x21\x23-\x7e]*"$|^[0-9]+$`)

// isIfMatch reports an If-Match value of RFC 9110: "*", or entity tags
// separated by commas.
func isIfMatch(value string) bool {
	if strings.TrimSpace(value) == "*" {
		return true
	}
	for _, tag := range strings.Split(value, ",") {
		if !entityTag.MatchString(strings.TrimSpace(tag)) {
			return false
		}
	}
	return true
}
