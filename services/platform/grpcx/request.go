package grpcx

import (
	"context"
	"fmt"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/gemella/gemella/services/platform/apperr"
)

// Etag is the etag a write is based on: the one in the message, or else the
// If-Match header that the gateway forwards as metadata.
// "*" (If-Match: * of RFC 9110: whatever the current version is) is no
// condition, as an empty etag.
func Etag(ctx context.Context, fromMessage string) string {
	etag := fromMessage
	if etag == "" {
		if v := metadata.ValueFromIncomingContext(ctx, "if-match"); len(v) > 0 {
			etag = strings.TrimSpace(v[0])
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

// etagAgreementUnary refuses a call whose If-Match (the metadata the
// gateway forwards from the header) and whose message's etag name
// different versions: Etag takes the message's, so a stale If-Match
// beside a current body etag would pass without a word, and the reverse
// would be refused for the wrong reason. Either alone, or both naming
// the same version, pass; If-Match: * is no condition and agrees with
// any etag. Calls without If-Match (every read) cost one metadata look-up.
func etagAgreementUnary() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if v := metadata.ValueFromIncomingContext(ctx, "if-match"); len(v) > 0 {
			if m, ok := req.(proto.Message); ok {
				if field, etag := messageEtag(m.ProtoReflect()); etag != "" && !ifMatchNames(v[0], etag) {
					return nil, apperr.InvalidBecause(field, apperr.ReasonFieldInvalid, fmt.Sprintf(
						"is %s but the If-Match header says %s: send the etag once, or the same in both", etag, strings.TrimSpace(v[0])))
				}
			}
		}
		return handler(ctx, req)
	}
}

// messageEtag is the etag a request carries, as Etag's callers read it:
// its own etag field, or its resource's (practice.etag); the field's path
// names it.
func messageEtag(m protoreflect.Message) (field, etag string) {
	if e := stringField(m, "etag"); e != "" {
		return "etag", e
	}
	var found string
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if fd.Kind() != protoreflect.MessageKind || fd.IsList() || fd.IsMap() {
			return true
		}
		if e := stringField(v.Message(), "etag"); e != "" {
			field, found = string(fd.Name())+".etag", e
			return false
		}
		return true
	})
	return field, found
}

func stringField(m protoreflect.Message, name protoreflect.Name) string {
	fd := m.Descriptor().Fields().ByName(name)
	if fd == nil || fd.Kind() != protoreflect.StringKind || fd.IsList() {
		return ""
	}
	return strings.TrimSpace(m.Get(fd).String())
}

// ifMatchNames reports whether the If-Match value (*, or entity tags
// separated by commas, weak or strong, or a bare version) names etag's
// version.
func ifMatchNames(ifMatch, etag string) bool {
	want := etagVersion(etag)
	for _, tag := range strings.Split(ifMatch, ",") {
		tag = strings.TrimSpace(tag)
		if tag == "*" || etagVersion(tag) == want {
			return true
		}
	}
	return false
}

func etagVersion(tag string) string { return strings.Trim(strings.TrimPrefix(tag, "W/"), `"`) }
