// Package paging implements page sizes and opaque page tokens after Google
// AIP-158: a token encodes where the previous page stopped and a hash of the
// filter it was issued for, so that it cannot be replayed with other filters.
package paging

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"strings"

	"github.com/gemella/gemella/services/platform/apperr"
)

const (
	// DefaultSize is the page size when the caller sends 0.
	DefaultSize = 20
	// MaxSize is the largest page any list returns; larger requests are capped.
	MaxSize = 100
)

// Size validates and normalises a requested page size.
func Size(requested int32) (int, error) {
	switch {
	case requested < 0:
		return 0, apperr.Invalid("page_size", "must not be negative")
	case requested == 0:
		return DefaultSize, nil
	case requested > MaxSize:
		return MaxSize, nil
	}
	return int(requested), nil
}

// Cursor is where a page stopped: the sort key and the id of the last item.
type Cursor struct {
	Key string `json:"k,omitempty"`
	ID  string `json:"i"`
}

type token struct {
	Cursor
	Filter uint32 `json:"f"`
}

// FilterHash identifies a combination of filters.
func FilterHash(parts ...string) uint32 {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return binary.BigEndian.Uint32(sum[:4])
}

// Encode makes the opaque next_page_token.
func Encode(c Cursor, filter uint32) string {
	b, _ := json.Marshal(token{Cursor: c, Filter: filter})
	return base64.RawURLEncoding.EncodeToString(b)
}

// Decode reads a page token; an empty token is the first page (nil cursor).
func Decode(s string, filter uint32) (*Cursor, error) {
	if s == "" {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, apperr.Invalid("page_token", "is not a token this service issued")
	}
	var t token
	if err := json.Unmarshal(b, &t); err != nil || t.ID == "" {
		return nil, apperr.Invalid("page_token", "is not a token this service issued")
	}
	if t.Filter != filter {
		return nil, apperr.Invalid("page_token", "was issued for other filters; repeat the filters of the first page")
	}
	return &t.Cursor, nil
}
