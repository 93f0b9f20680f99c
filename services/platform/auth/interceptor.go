package auth

import (
	"context"
	"errors"
	"strings"

	"github.com/golang-jwt/jwt/v5"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/gemella/gemella/services/platform/apperr"
)

// MetadataKey is the gRPC metadata key of the token ("authorization: Bearer
// <token>"); grpc-gateway forwards the HTTP Authorization header under it.
const MetadataKey = "authorization"

const bearerPrefix = "bearer "

// CallerFromMetadata reads the caller of an incoming call: Anonymous without
// an authorization value, the token's member with a valid one, and an
// Unauthenticated status error for anything else (another scheme, a bad
// signature, an expired token). A bad token is refused, not downgraded to
// anonymous, so that a client learns its session has ended.
func CallerFromMetadata(ctx context.Context, v *Verifier) (Caller, error) {
	// ValueFromIncomingContext reads the one key without copying the
	// whole metadata, as FromIncomingContext does on every call.
	values := metadata.ValueFromIncomingContext(ctx, MetadataKey)
	if len(values) == 0 {
		return Anonymous, nil
	}
	if len(values) > 1 {
		return Anonymous, unauthenticated("send one authorization value, not several", apperr.ReasonAuthenticationRequired)
	}
	value := strings.TrimSpace(values[0])
	if len(value) < len(bearerPrefix) || !strings.EqualFold(value[:len(bearerPrefix)], bearerPrefix) {
		return Anonymous, unauthenticated(`authorization must be "Bearer <token>"`, apperr.ReasonAuthenticationRequired)
	}
	token := strings.TrimSpace(value[len(bearerPrefix):])
	claims, err := v.Verify(token)
	if err != nil {
		// The reason (ended, expired, or not a token of ours: malformed,
		// unknown key, bad signature) helps a client developer and tells
		// an attacker nothing the token did not.
		return Anonymous, unauthenticated(err.Error(), refusalReason(err))
	}
	return claims.Caller(), nil
}

// refusalReason tells a logged-out session from an expired token and
// from one that is not a valid token of this platform at all.
func refusalReason(err error) apperr.Reason {
	switch {
	case errors.Is(err, ErrSessionEnded):
		return apperr.ReasonSessionEnded
	case errors.Is(err, jwt.ErrTokenExpired):
		return apperr.ReasonSessionExpired
	default:
		return apperr.ReasonTokenInvalid
	}
}

// unauthenticated is the status of a refused token, with its reason (a
// google.rpc.ErrorInfo) so that a client can tell a logged-out session
// from an expired or malformed token.
func unauthenticated(msg string, reason apperr.Reason) error {
	st := status.New(codes.Unauthenticated, msg)
	if withInfo, err := st.WithDetails(&errdetails.ErrorInfo{Reason: string(reason), Domain: apperr.Domain}); err == nil {
		st = withInfo
	}
	return st.Err()
}

// ExemptMethod reports the methods that never need a token and never look
// at one: the standard gRPC health service and server reflection. A load
// balancer's probe or an operator's grpcurl must work whatever
// authorization header a proxy or a stale client configuration adds, and
// these methods show nothing that is not public.
func ExemptMethod(fullMethod string) bool {
	return strings.HasPrefix(fullMethod, "/grpc.health.v1.Health/") ||
		strings.HasPrefix(fullMethod, "/grpc.reflection.")
}

// UnaryServerInterceptor puts the caller of every unary call in its context
// (see CallerFromMetadata) and refuses calls with a bad token. Calls to an
// ExemptMethod pass through anonymous, their token unread.
func UnaryServerInterceptor(v *Verifier) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if ExemptMethod(info.FullMethod) {
			return handler(ctx, req)
		}
		c, err := CallerFromMetadata(ctx, v)
		if err != nil {
			return nil, err
		}
		return handler(WithCaller(ctx, c), req)
	}
}

// StreamServerInterceptor is UnaryServerInterceptor for streaming calls.
func StreamServerInterceptor(v *Verifier) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		if ExemptMethod(info.FullMethod) {
			return handler(srv, ss)
		}
		c, err := CallerFromMetadata(ss.Context(), v)
		if err != nil {
			return err
		}
		return handler(srv, &callerStream{ServerStream: ss, ctx: WithCaller(ss.Context(), c)})
	}
}

type callerStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *callerStream) Context() context.Context { return s.ctx }

// WithBearerToken returns an outgoing context that sends token to a gRPC
// server, for clients and tests.
func WithBearerToken(ctx context.Context, token string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, MetadataKey, "Bearer "+token)
}
