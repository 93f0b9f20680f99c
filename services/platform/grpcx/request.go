package grpcx

import (
	"context"
	"strings"

	"google.golang.org/grpc/metadata"

	"github.com/gemella/gemella/services/platform/apperr"
)

// Etag is the etag a write is based on: the one in the message, or else the
// If-Match header that the gateway forwards as metadata.
// "*" (If-Match: * of RFC 9110: whatever the current version is) is no
// condition, as an empty etag.
func Etag(ctx context.Context, fromMessage string) string {
	etag := fromMessage
	if etag == "" {
		if md, ok := metadata.FromIncomingContext(ctx); ok {
			if v := md.Get("if-match"); len(v) > 0 {
				etag = strings.TrimSpace(v[0])
			}
		}
	}
	if etag == "*" {
		return ""
	}
	return etag
}

// Required is the InvalidArgument error for a missing message field.
func Required(present bool, field string) error {
	if !present {
		return apperr.Invalid(field, "is required")
	}
	return nil
}
