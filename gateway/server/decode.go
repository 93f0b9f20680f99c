package server

import (
	"encoding/base64"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/gemella/gemella/services/platform/apperr"
)

// This file checks request input before grpc-gateway decodes it, so that
// every problem is a 400 naming the field by its API name (snake_case, as
// in the proto and the JSON, with list indexes: "models[0].code") and the
// rule it breaks. protojson, which decodes afterwards, would either fail
// with messages about its own internals and no field ("proto: (line 1:62):
// invalid UTF-8"), or pass on what the gRPC client cannot marshal, which
// used to end in a 500.
//
// The body is parsed by a small strict JSON parser of its own: encoding/json
// silently replaces invalid UTF-8 and lone surrogates with U+FFFD, so it
// cannot report them. The parsed tree is then walked along the message
// descriptor, the way protojson would read it.

// violation is one bad field.
type violation struct {
	field  string
	reason apperr.Reason
	rule   string
}

type violations []violation

func (v *violations) add(field string, reason apperr.Reason, format string, args ...any) {
	if field == "" {
		field = "body"
	}
	*v = append(*v, violation{field: safeText(field), reason: reason, rule: safeText(fmt.Sprintf(format, args...))})
}

// maxViolations bounds the list a client gets for a body with thousands of
// bad entries.
const maxViolations = 50

// maxJSONDepth bounds nesting; no Gemella message nests anywhere near it.
const maxJSONDepth = 32

// safeText makes client-supplied text fit an error message: valid UTF-8,
// control characters written as \uXXXX, bounded in length.
func safeText(s string) string {
	const limit = 500
	clean := utf8.ValidString(s)
	if clean {
		for _, r := range s {
			if isControl(r) {
				clean = false
				break
			}
		}
	}
	if !clean {
		var b strings.Builder
		for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
			if isControl(r) {
				fmt.Fprintf(&b, "\\u%04X", r)
				continue
			}
			b.WriteRune(r)
		}
		s = b.String()
	}
	if utf8.RuneCountInString(s) > limit {
		s = string([]rune(s)[:limit]) + "…"
	}
	return s
}

// isControl is a character that has no place in text people write: C0
// controls other than tab and line breaks, DEL and the C1 controls.
func isControl(r rune) bool {
	return (r < 0x20 && r != '\t' && r != '\n' && r != '\r') || (r >= 0x7f && r <= 0x9f)
}

// textProblem says what is wrong with a text value, or "" when nothing is.
func textProblem(s string) (apperr.Reason, string) {
	if !utf8.ValidString(s) {
		return apperr.ReasonFieldInvalidUTF8, "must be valid UTF-8 text"
	}
	for _, r := range s {
		if isControl(r) {
			return apperr.ReasonFieldControlCharacter, fmt.Sprintf("must not contain control characters (found U+%04X)", r)
		}
	}
	return "", ""
}

// ---- JSON parsing ----

type jsonKind uint8

const (
	jsonNull jsonKind = iota
	jsonBool
	jsonNumber
	jsonString
	jsonArray
	jsonObject
)

func (k jsonKind) String() string {
	return [...]string{"null", "true or false", "a number", "a string", "a list", "an object"}[k]
}

type jsonValue struct {
	kind jsonKind
	// text is the decoded string, the number as written, or "true"/"false".
	text    string
	members []jsonMember
	elems   []*jsonValue
	// problem is set on a string that broke a text rule while it was read.
	problem       apperr.Reason
	problemDetail string
}

type jsonMember struct {
	key   string
	value *jsonValue
	// keyProblem is set when the key itself is not valid text.
	keyProblem apperr.Reason
}

// syntaxError is a body that is not one JSON value; path is where the
// parser was when it stopped.
type syntaxError struct {
	path string
	msg  string
}

func (e *syntaxError) Error() string { return e.msg }

type jsonParser struct {
	data  []byte
	pos   int
	depth int
}

// parseJSON parses exactly one JSON value followed only by white space.
func parseJSON(data []byte) (*jsonValue, error) {
	p := &jsonParser{data: data}
	p.space()
	v, err := p.value("")
	if err != nil {
		return nil, err
	}
	p.space()
	if p.pos < len(p.data) {
		return nil, &syntaxError{msg: fmt.Sprintf("has data after the JSON value, at byte %d", p.pos)}
	}
	return v, nil
}

func (p *jsonParser) space() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *jsonParser) fail(path, format string, args ...any) error {
	return &syntaxError{path: path, msg: fmt.Sprintf(format, args...)}
}

func (p *jsonParser) value(path string) (*jsonValue, error) {
	if p.pos >= len(p.data) {
		return nil, p.fail(path, "ends before the JSON value is complete")
	}
	switch c := p.data[p.pos]; {
	case c == '{':
		return p.object(path)
	case c == '[':
		return p.array(path)
	case c == '"':
		return p.str(path)
	case c == 't':
		return p.literal(path, "true", jsonBool)
	case c == 'f':
		return p.literal(path, "false", jsonBool)
	case c == 'n':
		return p.literal(path, "null", jsonNull)
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number(path)
	default:
		return nil, p.fail(path, "has an unexpected %s at byte %d", describeByte(c), p.pos)
	}
}

func describeByte(c byte) string {
	if c >= 0x20 && c < 0x7f {
		return strconv.QuoteRune(rune(c))
	}
	return fmt.Sprintf("byte 0x%02X", c)
}

func (p *jsonParser) literal(path, word string, kind jsonKind) (*jsonValue, error) {
	if !strings.HasPrefix(string(p.data[p.pos:min(len(p.data), p.pos+len(word))]), word) {
		return nil, p.fail(path, "has an unknown word at byte %d", p.pos)
	}
	p.pos += len(word)
	return &jsonValue{kind: kind, text: word}, nil
}

func (p *jsonParser) number(path string) (*jsonValue, error) {
	start := p.pos
	if p.data[p.pos] == '-' {
		p.pos++
	}
	digits := func() int {
		n := 0
		for p.pos < len(p.data) && p.data[p.pos] >= '0' && p.data[p.pos] <= '9' {
			p.pos++
			n++
		}
		return n
	}
	intStart := p.pos
	if digits() == 0 {
		return nil, p.fail(path, "is not a valid JSON number at byte %d", start)
	}
	if p.data[intStart] == '0' && p.pos-intStart > 1 {
		return nil, p.fail(path, "is not a valid JSON number (leading zero) at byte %d", start)
	}
	if p.pos < len(p.data) && p.data[p.pos] == '.' {
		p.pos++
		if digits() == 0 {
			return nil, p.fail(path, "is not a valid JSON number at byte %d", start)
		}
	}
	if p.pos < len(p.data) && (p.data[p.pos] == 'e' || p.data[p.pos] == 'E') {
		p.pos++
		if p.pos < len(p.data) && (p.data[p.pos] == '+' || p.data[p.pos] == '-') {
			p.pos++
		}
		if digits() == 0 {
			return nil, p.fail(path, "is not a valid JSON number at byte %d", start)
		}
	}
	return &jsonValue{kind: jsonNumber, text: string(p.data[start:p.pos])}, nil
}

// str reads a string. Text problems (invalid UTF-8, a lone surrogate, a
// control character) do not stop the parse: they are kept on the value,
// so that the checker can name the field they are in.
func (p *jsonParser) str(path string) (*jsonValue, error) {
	p.pos++ // opening quote
	var b strings.Builder
	v := &jsonValue{kind: jsonString}
	note := func(r apperr.Reason, detail string) {
		if v.problem == "" {
			v.problem, v.problemDetail = r, detail
		}
	}
	for {
		if p.pos >= len(p.data) {
			return nil, p.fail(path, "ends inside a string")
		}
		c := p.data[p.pos]
		switch {
		case c == '"':
			p.pos++
			v.text = b.String()
			if v.problem == "" {
				for _, r := range v.text {
					if isControl(r) {
						note(apperr.ReasonFieldControlCharacter, fmt.Sprintf("must not contain control characters (found U+%04X)", r))
						break
					}
				}
			}
			return v, nil
		case c == '\\':
			if err := p.escape(path, &b, note); err != nil {
				return nil, err
			}
		case c < 0x20:
			// JSON wants control characters escaped; tab and line breaks
			// are fine once escaped (\t, \n), the others are refused anyway.
			note(apperr.ReasonFieldControlCharacter, fmt.Sprintf("must not contain raw control characters (found U+%04X); write \\n or \\t for line breaks and tabs", c))
			b.WriteByte(c)
			p.pos++
		case c < utf8.RuneSelf:
			b.WriteByte(c)
			p.pos++
		default:
			r, size := utf8.DecodeRune(p.data[p.pos:])
			if r == utf8.RuneError && size <= 1 {
				note(apperr.ReasonFieldInvalidUTF8, "must be valid UTF-8 text")
				p.pos++
				continue
			}
			b.WriteRune(r)
			p.pos += size
		}
	}
}

func (p *jsonParser) escape(path string, b *strings.Builder, note func(apperr.Reason, string)) error {
	if p.pos+1 >= len(p.data) {
		return p.fail(path, "ends inside a string escape")
	}
	c := p.data[p.pos+1]
	p.pos += 2
	switch c {
	case '"', '\\', '/':
		b.WriteByte(c)
	case 'b':
		b.WriteByte('\b')
	case 'f':
		b.WriteByte('\f')
	case 'n':
		b.WriteByte('\n')
	case 'r':
		b.WriteByte('\r')
	case 't':
		b.WriteByte('\t')
	case 'u':
		r, ok := p.hex4()
		if !ok {
			return p.fail(path, "has a malformed \\u escape at byte %d", p.pos-2)
		}
		if utf16.IsSurrogate(r) {
			// A high surrogate must be followed by an escaped low one.
			if r < 0xDC00 && p.pos+1 < len(p.data) && p.data[p.pos] == '\\' && p.data[p.pos+1] == 'u' {
				save := p.pos
				p.pos += 2
				if low, ok := p.hex4(); ok && low >= 0xDC00 && low <= 0xDFFF {
					b.WriteRune(utf16.DecodeRune(r, low))
					return nil
				}
				p.pos = save
			}
			note(apperr.ReasonFieldInvalidUTF8, "must be valid Unicode text (a \\u escape is a lone surrogate)")
			return nil
		}
		b.WriteRune(r)
	default:
		return p.fail(path, "has an invalid escape \\%s at byte %d", safeText(string(c)), p.pos-2)
	}
	return nil
}

func (p *jsonParser) hex4() (rune, bool) {
	if p.pos+4 > len(p.data) {
		return 0, false
	}
	n, err := strconv.ParseUint(string(p.data[p.pos:p.pos+4]), 16, 32)
	if err != nil {
		return 0, false
	}
	p.pos += 4
	return rune(n), true
}

func (p *jsonParser) enter(path string) error {
	p.depth++
	if p.depth > maxJSONDepth {
		return p.fail(path, "nests deeper than %d levels", maxJSONDepth)
	}
	return nil
}

func (p *jsonParser) object(path string) (*jsonValue, error) {
	if err := p.enter(path); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	p.pos++
	v := &jsonValue{kind: jsonObject}
	p.space()
	if p.pos < len(p.data) && p.data[p.pos] == '}' {
		p.pos++
		return v, nil
	}
	for {
		p.space()
		if p.pos >= len(p.data) || p.data[p.pos] != '"' {
			return nil, p.fail(path, "expects a field name in quotes at byte %d", p.pos)
		}
		key, err := p.str(path)
		if err != nil {
			return nil, err
		}
		p.space()
		if p.pos >= len(p.data) || p.data[p.pos] != ':' {
			return nil, p.fail(joinPath(path, key.text), "expects ':' after the field name at byte %d", p.pos)
		}
		p.pos++
		p.space()
		val, err := p.value(joinPath(path, key.text))
		if err != nil {
			return nil, err
		}
		v.members = append(v.members, jsonMember{key: key.text, value: val, keyProblem: key.problem})
		p.space()
		if p.pos >= len(p.data) {
			return nil, p.fail(path, "ends before the object is closed")
		}
		switch p.data[p.pos] {
		case ',':
			p.pos++
		case '}':
			p.pos++
			return v, nil
		default:
			return nil, p.fail(path, "expects ',' or '}' at byte %d", p.pos)
		}
	}
}

func (p *jsonParser) array(path string) (*jsonValue, error) {
	if err := p.enter(path); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	p.pos++
	v := &jsonValue{kind: jsonArray}
	p.space()
	if p.pos < len(p.data) && p.data[p.pos] == ']' {
		p.pos++
		return v, nil
	}
	for {
		p.space()
		el, err := p.value(indexPath(path, len(v.elems)))
		if err != nil {
			return nil, err
		}
		v.elems = append(v.elems, el)
		p.space()
		if p.pos >= len(p.data) {
			return nil, p.fail(path, "ends before the list is closed")
		}
		switch p.data[p.pos] {
		case ',':
			p.pos++
		case ']':
			p.pos++
			return v, nil
		default:
			return nil, p.fail(path, "expects ',' or ']' at byte %d", p.pos)
		}
	}
}

func joinPath(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func indexPath(path string, i int) string {
	if path == "" {
		path = "body"
	}
	return path + "[" + strconv.Itoa(i) + "]"
}

// ---- checking against the message ----

// checkBody parses a request body and checks it against md. prefix is put
// before every field path ("" for bodies, as the services name fields
// relative to the body too).
func checkBody(md protoreflect.MessageDescriptor, data []byte) violations {
	var v violations
	root, err := parseJSON(data)
	if err != nil {
		se, _ := err.(*syntaxError)
		field := "body"
		if se != nil && se.path != "" {
			field = se.path
		}
		v.add(field, apperr.ReasonMalformedJSON, "is not valid JSON: the body %s", err.Error())
		return v
	}
	c := checker{v: &v}
	c.message(md, root, "")
	return v
}

type checker struct {
	v *violations
	// outside names the request fields that are not in the body, to hint
	// that they belong in the query or the path.
	outside map[string]string
}

func (c *checker) add(field string, reason apperr.Reason, format string, args ...any) {
	if len(*c.v) < maxViolations {
		c.v.add(field, reason, format, args...)
	}
}

func (c *checker) full() bool { return len(*c.v) >= maxViolations }

func (c *checker) message(md protoreflect.MessageDescriptor, v *jsonValue, path string) {
	if c.full() {
		return
	}
	if wellKnown(md) {
		c.wellKnown(md, v, path)
		return
	}
	if v.kind != jsonObject {
		c.add(path, apperr.ReasonFieldTypeMismatch, "must be an object, not %s", v.kind)
		return
	}
	seen := map[protoreflect.FieldNumber]string{}
	oneofs := map[protoreflect.FullName]string{}
	for _, m := range v.members {
		if m.keyProblem != "" {
			c.add(joinPath(path, m.key), m.keyProblem, "is not valid text as a field name")
			continue
		}
		fd := md.Fields().ByJSONName(m.key)
		if fd == nil {
			fd = md.Fields().ByTextName(m.key)
		}
		if fd == nil {
			field := joinPath(path, m.key)
			if where, ok := c.outside[m.key]; ok && path == "" {
				c.add(field, apperr.ReasonFieldUnknown, "is not a field of the body: send it %s", where)
			} else {
				c.add(field, apperr.ReasonFieldUnknown, "is not a field here")
			}
			continue
		}
		field := joinPath(path, string(fd.Name()))
		if first, dup := seen[fd.Number()]; dup {
			c.add(field, apperr.ReasonFieldDuplicate, "appears twice (as %q and %q)", first, m.key)
			continue
		}
		seen[fd.Number()] = m.key
		if od := fd.ContainingOneof(); od != nil && !od.IsSynthetic() && m.value.kind != jsonNull {
			if other, ok := oneofs[od.FullName()]; ok {
				c.add(field, apperr.ReasonFieldDuplicate, "cannot be set together with %s: they are alternatives", other)
				continue
			}
			oneofs[od.FullName()] = string(fd.Name())
		}
		c.field(fd, m.value, field)
	}
}

func (c *checker) field(fd protoreflect.FieldDescriptor, v *jsonValue, path string) {
	if v.kind == jsonNull {
		// protojson reads null as "not set" (and as NullValue in a Value).
		return
	}
	switch {
	case fd.IsMap():
		if v.kind != jsonObject {
			c.add(path, apperr.ReasonFieldTypeMismatch, "must be an object (a map), not %s", v.kind)
			return
		}
		for _, m := range v.members {
			key := path + "[" + strconv.Quote(m.key) + "]"
			if m.keyProblem != "" {
				c.add(key, m.keyProblem, "is not valid text as a map key")
				continue
			}
			c.mapKey(fd.MapKey(), m.key, key)
			if m.value.kind == jsonNull {
				c.add(key, apperr.ReasonFieldTypeMismatch, "must not be null")
				continue
			}
			c.single(fd.MapValue(), m.value, key)
		}
	case fd.IsList():
		if v.kind != jsonArray {
			c.add(path, apperr.ReasonFieldTypeMismatch, "must be a list (a JSON array), not %s", v.kind)
			return
		}
		for i, el := range v.elems {
			at := indexPath(path, i)
			if el.kind == jsonNull && !(fd.Message() != nil && fd.Message().FullName() == "google.protobuf.Value") {
				c.add(at, apperr.ReasonFieldTypeMismatch, "must not be null")
				continue
			}
			c.single(fd, el, at)
		}
	default:
		c.single(fd, v, path)
	}
}

func (c *checker) mapKey(fd protoreflect.FieldDescriptor, key, path string) {
	switch fd.Kind() {
	case protoreflect.StringKind:
		if r, rule := textProblem(key); r != "" {
			c.add(path, r, "%s", rule)
		}
	case protoreflect.BoolKind:
		if key != "true" && key != "false" {
			c.add(path, apperr.ReasonFieldTypeMismatch, "must be a key true or false")
		}
	default:
		c.integer(fd.Kind(), &jsonValue{kind: jsonString, text: key}, path)
	}
}

// single checks one value (not a list or map as a whole) of field fd.
func (c *checker) single(fd protoreflect.FieldDescriptor, v *jsonValue, path string) {
	if c.full() {
		return
	}
	switch fd.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind:
		c.message(fd.Message(), v, path)
	case protoreflect.StringKind:
		c.text(v, path)
	case protoreflect.BoolKind:
		if v.kind != jsonBool {
			c.add(path, apperr.ReasonFieldTypeMismatch, "must be true or false, not %s", v.kind)
		}
	case protoreflect.EnumKind:
		c.enum(fd.Enum(), v, path)
	case protoreflect.BytesKind:
		if v.kind != jsonString {
			c.add(path, apperr.ReasonFieldTypeMismatch, "must be base64 text, not %s", v.kind)
			return
		}
		if !validBase64(v.text) {
			c.add(path, apperr.ReasonFieldInvalid, "must be base64 text")
		}
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		c.float(fd.Kind(), v, path)
	default:
		c.integer(fd.Kind(), v, path)
	}
}

func (c *checker) text(v *jsonValue, path string) {
	if v.kind != jsonString {
		c.add(path, apperr.ReasonFieldTypeMismatch, "must be a string, not %s", v.kind)
		return
	}
	if v.problem != "" {
		c.add(path, v.problem, "%s", v.problemDetail)
	}
}

// maxEnumNames bounds the allowed values listed in a message.
const maxEnumNames = 16

func (c *checker) enum(ed protoreflect.EnumDescriptor, v *jsonValue, path string) {
	switch v.kind {
	case jsonString:
		if v.problem == "" && ed.Values().ByName(protoreflect.Name(v.text)) != nil {
			return
		}
	case jsonNumber:
		if n, err := strconv.ParseInt(v.text, 10, 32); err == nil && ed.Values().ByNumber(protoreflect.EnumNumber(n)) != nil {
			return
		}
	}
	var names []string
	for i := 0; i < ed.Values().Len() && i < maxEnumNames; i++ {
		names = append(names, string(ed.Values().Get(i).Name()))
	}
	c.add(path, apperr.ReasonFieldInvalid, "must be one of %s", strings.Join(names, ", "))
}

func (c *checker) float(kind protoreflect.Kind, v *jsonValue, path string) {
	text := v.text
	switch v.kind {
	case jsonNumber:
	case jsonString:
		switch text {
		case "NaN", "Infinity", "-Infinity":
			return
		}
		if text == "" || strings.TrimSpace(text) != text {
			c.add(path, apperr.ReasonFieldTypeMismatch, "must be a number")
			return
		}
		if _, err := parseJSON([]byte(text)); err != nil {
			c.add(path, apperr.ReasonFieldTypeMismatch, "must be a number")
			return
		}
	default:
		c.add(path, apperr.ReasonFieldTypeMismatch, "must be a number, not %s", v.kind)
		return
	}
	bits := 64
	if kind == protoreflect.FloatKind {
		bits = 32
	}
	f, err := strconv.ParseFloat(text, bits)
	if err != nil || math.IsInf(f, 0) {
		c.add(path, apperr.ReasonFieldInvalid, "is out of range")
	}
}

func (c *checker) integer(kind protoreflect.Kind, v *jsonValue, path string) {
	text := v.text
	switch v.kind {
	case jsonNumber:
	case jsonString:
		if _, err := parseJSON([]byte(text)); err != nil || text == "" || text[0] == ' ' {
			c.add(path, apperr.ReasonFieldTypeMismatch, "must be an integer")
			return
		}
	default:
		c.add(path, apperr.ReasonFieldTypeMismatch, "must be an integer, not %s", v.kind)
		return
	}
	signed, bits := true, 64
	switch kind {
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		bits = 32
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		signed, bits = false, 32
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		signed = false
	}
	if !integerInRange(text, signed, bits) {
		c.add(path, apperr.ReasonFieldInvalid, "must be an integer of at most %d bits%s", bits, map[bool]string{true: "", false: ", not negative"}[signed])
	}
}

// integerInRange parses a JSON number (exponents allowed, as protojson does)
// as an integer of the given size.
func integerInRange(text string, signed bool, bits int) bool {
	if signed {
		if _, err := strconv.ParseInt(text, 10, bits); err == nil {
			return true
		}
	} else if _, err := strconv.ParseUint(text, 10, bits); err == nil {
		return true
	}
	if !strings.ContainsAny(text, ".eE") {
		return false
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil || f != math.Trunc(f) {
		return false
	}
	if !signed && f < 0 {
		return false
	}
	limit := math.Ldexp(1, bits-1)
	if !signed {
		limit = math.Ldexp(1, bits)
	}
	return f < limit && (f >= -limit || !signed)
}

func validBase64(s string) bool {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if _, err := enc.DecodeString(s); err == nil {
			return true
		}
	}
	return false
}

// ---- well-known types, which protojson writes in their own shapes ----

func wellKnown(md protoreflect.MessageDescriptor) bool {
	return md.ParentFile().Package() == "google.protobuf"
}

var durationText = regexp.MustCompile(`^-?[0-9]+(\.[0-9]{1,9})?s$`)

// timestampText is RFC 3339 as protojson reads it: upper-case T and Z, up
// to nine fractional digits.
var timestampText = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?(Z|[+-][0-9]{2}:[0-9]{2})$`)

var fieldMaskPath = regexp.MustCompile(`^[a-z][A-Za-z0-9]*(\.[a-z][A-Za-z0-9]*)*$`)

func (c *checker) wellKnown(md protoreflect.MessageDescriptor, v *jsonValue, path string) {
	switch md.Name() {
	case "Timestamp":
		if v.kind != jsonString {
			c.add(path, apperr.ReasonFieldTypeMismatch, "must be an RFC 3339 time in a string, e.g. 2026-01-31T09:00:00Z")
			return
		}
		t, err := time.Parse(time.RFC3339Nano, v.text)
		if !timestampText.MatchString(v.text) || err != nil || t.Year() < 1 || t.Year() > 9999 {
			c.add(path, apperr.ReasonFieldInvalid, "must be an RFC 3339 time, e.g. 2026-01-31T09:00:00Z")
		}
	case "Duration":
		if v.kind != jsonString || !durationText.MatchString(v.text) {
			c.add(path, apperr.ReasonFieldInvalid, "must be a duration in seconds in a string, e.g. \"1.5s\"")
			return
		}
		secs, _, _ := strings.Cut(strings.TrimSuffix(strings.TrimPrefix(v.text, "-"), "s"), ".")
		if n, err := strconv.ParseInt(secs, 10, 64); err != nil || n > 315576000000 {
			c.add(path, apperr.ReasonFieldInvalid, "is out of range")
		}
	case "FieldMask":
		if v.kind != jsonString {
			c.add(path, apperr.ReasonFieldTypeMismatch, "must be a string of comma-separated field names")
			return
		}
		if v.text == "" {
			return
		}
		for _, p := range strings.Split(v.text, ",") {
			if !fieldMaskPath.MatchString(p) {
				c.add(path, apperr.ReasonFieldInvalid, "must list field names in lowerCamelCase, separated by commas")
				return
			}
		}
	case "Empty":
		if v.kind != jsonObject || len(v.members) > 0 {
			c.add(path, apperr.ReasonFieldTypeMismatch, "must be an empty object")
		}
	case "Struct":
		if v.kind != jsonObject {
			c.add(path, apperr.ReasonFieldTypeMismatch, "must be an object, not %s", v.kind)
			return
		}
		c.anyJSON(v, path)
	case "ListValue":
		if v.kind != jsonArray {
			c.add(path, apperr.ReasonFieldTypeMismatch, "must be a list, not %s", v.kind)
			return
		}
		c.anyJSON(v, path)
	case "Value":
		c.anyJSON(v, path)
	case "DoubleValue", "FloatValue", "Int64Value", "UInt64Value", "Int32Value", "UInt32Value", "BoolValue", "StringValue", "BytesValue":
		c.single(md.Fields().ByName("value"), v, path)
	default:
		// google.protobuf.Any and the rest: no Gemella request uses them.
		c.add(path, apperr.ReasonFieldInvalid, "cannot be set through the REST API")
	}
}

// anyJSON checks the text inside free-form JSON.
func (c *checker) anyJSON(v *jsonValue, path string) {
	switch v.kind {
	case jsonString:
		c.text(v, path)
	case jsonObject:
		for _, m := range v.members {
			if m.keyProblem != "" {
				c.add(joinPath(path, m.key), m.keyProblem, "is not valid text as a field name")
				continue
			}
			c.anyJSON(m.value, joinPath(path, m.key))
		}
	case jsonArray:
		for i, el := range v.elems {
			c.anyJSON(el, indexPath(path, i))
		}
	}
}

var snakePath = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$`)
