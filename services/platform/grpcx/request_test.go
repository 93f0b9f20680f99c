package grpcx

import (
	"context"
	"testing"

	"google.golang.org/grpc/metadata"

	"github.com/gemella/gemella/services/platform/apperr"
)

func TestEtagPrefersTheMessageThenIfMatch(t *testing.T) {
	ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("if-match", ` "7" `))
	if got := Etag(ctx, `"3"`); got != `"3"` {
		t.Fatalf("message etag: %q", got)
	}
	if got := Etag(ctx, ""); got != `"7"` {
		t.Fatalf("If-Match: %q", got)
	}
	if got := Etag(context.Background(), ""); got != "" {
		t.Fatalf("none: %q", got)
	}
	// If-Match: * is whatever the current version is: no condition.
	star := metadata.NewIncomingContext(context.Background(), metadata.Pairs("if-match", "*"))
	if got := Etag(star, ""); got != "" {
		t.Fatalf("If-Match *: %q", got)
	}
	if got := Etag(context.Background(), "*"); got != "" {
		t.Fatalf("etag *: %q", got)
	}
	if apperr.KindOf(Required(false, "practice")) != apperr.KindInvalidArgument || Required(true, "x") != nil {
		t.Fatal("Required")
	}
}
