package grpcx

import (
	"context"
	"strings"

	"google.golang.org/grpc/metadata"

	"github.com/gemella/gemella/services/platform/apperr"
)

// Etag is the etag a write is based on: the one in the message, or else the
// If-Match header that the gateway forwards as metadata.
func Etag(ctx context.Context, fromMessage string) string {
	if fromMessage != "" {
		return fromMessage
	}
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if v := md.Get("if-match"); len(v) > 0 {
			return strings.TrimSpace(v[0])
		}
	}
	return ""
}

// Required is the InvalidArgument error for a missing message field.
func Required(present bool, field string) error {
	if !present {
		return apperr.Invalid(field, "is required")
	}
	return nil
}
