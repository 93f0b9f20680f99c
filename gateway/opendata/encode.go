package opendata

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/types/known/timestamppb"
)

// Kind is the type of a column's values; each format writes it its own way
// (see Kind.Describe for what the index page says).
type Kind int

const (
	// String is text: in CSV as it is, in JSON a string.
	String Kind = iota + 1
	// Integer is a whole number.
	Integer
	// Boolean is true or false.
	Boolean
	// DateTime is an instant in RFC 3339, UTC; empty (CSV) or null (JSON)
	// when unknown.
	DateTime
	// Date is a calendar day, YYYY-MM-DD; empty or null when unknown.
	Date
	// List is a list of strings: in CSV joined by ListSeparator, in JSON
	// an array.
	List
)

// ListSeparator joins the elements of a List column in CSV. Ids, codes and
// themes do not contain it; JSON Lines keeps lists as arrays.
const ListSeparator = "|"

// String is the kind's name in the column documentation.
func (k Kind) String() string {
	switch k {
	case String:
		return "string"
	case Integer:
		return "integer"
	case Boolean:
		return "boolean"
	case DateTime:
		return "datetime"
	case Date:
		return "date"
	case List:
		return "list"
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Describe says in lang ("it" or "en") how values of the kind are written.
func (k Kind) Describe(lang string) string {
	it := map[Kind]string{
		String: "testo", Integer: "numero intero", Boolean: "true o false",
		DateTime: "data e ora RFC 3339 (UTC)", Date: "data AAAA-MM-GG",
		List: "elenco: in CSV separato da " + ListSeparator + ", in JSON un array",
	}
	en := map[Kind]string{
		String: "text", Integer: "whole number", Boolean: "true or false",
		DateTime: "RFC 3339 date and time (UTC)", Date: "YYYY-MM-DD date",
		List: "list: in CSV separated by " + ListSeparator + ", in JSON an array",
	}
	if lang == "en" {
		return en[k]
	}
	return it[k]
}

// value is one cell. A zero time is no value.
type value struct {
	kind Kind
	str  string
	num  int64
	flag bool
	at   time.Time
	list []string
}

// record is the cells of one row, filled in column order and reused from
// row to row so that writing a row allocates as little as possible.
type record struct{ vals []value }

func (r *record) reset() { r.vals = r.vals[:0] }

func (r *record) text(s string) { r.vals = append(r.vals, value{kind: String, str: s}) }

func (r *record) integer(n int64) { r.vals = append(r.vals, value{kind: Integer, num: n}) }

func (r *record) boolean(b bool) { r.vals = append(r.vals, value{kind: Boolean, flag: b}) }

func (r *record) date(s string) { r.vals = append(r.vals, value{kind: Date, str: s}) }

func (r *record) list(l []string) { r.vals = append(r.vals, value{kind: List, list: l}) }

func (r *record) datetime(ts *timestamppb.Timestamp) {
	v := value{kind: DateTime}
	if ts != nil && (ts.GetSeconds() != 0 || ts.GetNanos() != 0) && ts.IsValid() {
		v.at = ts.AsTime()
	}
	r.vals = append(r.vals, v)
}

// Format is a file format of the tables.
type Format string

const (
	// CSV is RFC 4180: UTF-8 without byte order mark, comma-separated,
	// CRLF line ends, a header row of the column names.
	CSV Format = "csv"
	// JSONL is JSON Lines: one JSON object per line, keyed by the column
	// names, in column order.
	JSONL Format = "jsonl"
)

// Formats are the formats every table is published in.
var Formats = []Format{CSV, JSONL}

// ContentType is the media type the format is served with. JSON Lines has
// no registered media type; application/jsonl is what jsonlines.org
// proposes.
func (f Format) ContentType() string {
	if f == JSONL {
		return "application/jsonl; charset=utf-8"
	}
	return "text/csv; charset=utf-8; header=present"
}

// encoder writes rows of one format to a buffered writer; flush hands
// what is buffered to the underlying writer.
type encoder interface {
	header(cols []Column) error
	row(vals []value) error
	flush() error
}

func newEncoder(f Format, w io.Writer, cols []Column) (encoder, error) {
	switch f {
	case CSV:
		return newCSVEncoder(w, len(cols)), nil
	case JSONL:
		return newJSONLEncoder(w, cols), nil
	}
	return nil, fmt.Errorf("format %q: not one of csv, jsonl", f)
}

// csvEncoder is encoding/csv with a reused record.
type csvEncoder struct {
	w      *csv.Writer
	fields []string
}

func newCSVEncoder(w io.Writer, n int) *csvEncoder {
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	return &csvEncoder{w: cw, fields: make([]string, n)}
}

func (e *csvEncoder) header(cols []Column) error {
	for i, c := range cols {
		e.fields[i] = c.Name
	}
	return e.w.Write(e.fields)
}

func (e *csvEncoder) row(vals []value) error {
	for i := range vals {
		e.fields[i] = csvField(&vals[i])
	}
	return e.w.Write(e.fields)
}

func (e *csvEncoder) flush() error {
	e.w.Flush()
	return e.w.Error()
}

// csvField writes a cell as CSV text; lists are joined by ListSeparator,
// and an absent date or time is empty. Values are never altered (no
// spreadsheet-formula escaping): open data must say what the platform says.
func csvField(v *value) string {
	switch v.kind {
	case String, Date:
		return v.str
	case Integer:
		return strconv.FormatInt(v.num, 10)
	case Boolean:
		return strconv.FormatBool(v.flag)
	case DateTime:
		if v.at.IsZero() {
			return ""
		}
		return v.at.UTC().Format(time.RFC3339Nano)
	case List:
		return strings.Join(v.list, ListSeparator)
	}
	return ""
}

// jsonlEncoder writes each row as one JSON object by appending to a reused
// buffer: encoding/json would reflect over a map or a struct per row.
type jsonlEncoder struct {
	w    *bufio.Writer
	keys [][]byte // `"name":` of each column
	buf  []byte
}

func newJSONLEncoder(w io.Writer, cols []Column) *jsonlEncoder {
	e := &jsonlEncoder{w: bufio.NewWriterSize(w, 32<<10), buf: make([]byte, 0, 4<<10)}
	for _, c := range cols {
		k := appendJSONString(nil, c.Name)
		e.keys = append(e.keys, append(k, ':'))
	}
	return e
}

// header writes nothing: every line names its fields.
func (e *jsonlEncoder) header([]Column) error { return nil }

func (e *jsonlEncoder) row(vals []value) error {
	if len(vals) != len(e.keys) {
		return errors.New("jsonl: row does not match the columns")
	}
	b := append(e.buf[:0], '{')
	for i := range vals {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, e.keys[i]...)
		b = appendJSONValue(b, &vals[i])
	}
	b = append(b, '}', '\n')
	e.buf = b
	_, err := e.w.Write(b)
	return err
}

func (e *jsonlEncoder) flush() error { return e.w.Flush() }

func appendJSONValue(b []byte, v *value) []byte {
	switch v.kind {
	case String:
		return appendJSONString(b, v.str)
	case Date:
		if v.str == "" {
			return append(b, "null"...)
		}
		return appendJSONString(b, v.str)
	case Integer:
		return strconv.AppendInt(b, v.num, 10)
	case Boolean:
		return strconv.AppendBool(b, v.flag)
	case DateTime:
		if v.at.IsZero() {
			return append(b, "null"...)
		}
		b = append(b, '"')
		b = v.at.UTC().AppendFormat(b, time.RFC3339Nano)
		return append(b, '"')
	case List:
		b = append(b, '[')
		for i, s := range v.list {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, s)
		}
		return append(b, ']')
	}
	return append(b, "null"...)
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string (RFC 8259): quotes,
// backslashes and control characters escaped, invalid UTF-8 replaced by
// U+FFFD, and U+2028/U+2029 escaped so that a line is also valid
// JavaScript. HTML characters are left alone: the files are not HTML.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
