package grpcx

import (
	"context"
	"fmt"
	"time"

	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/gemella/gemella/services/platform/auth"
)

// Dial returns a client connection to another service. Calls made without a
// deadline get defaultDeadline, so no call waits for ever. Calls made while
// serving a call carry that call's session token on (see
// ForwardAuthorization) and its request id (see RequestID), so the other
// service authorizes the member who asked, not the service in between, and
// logs the same request id. Every call is traced (ClientStatsHandler) with
// the global TracerProvider, or the one given with WithTracerProvider, and
// the trace context goes with it. A service that went away is retried at
// most a second apart (FastReconnect); extra options come last and win.
//
// addr is host:port or dns:///host:port; either is resolved by DNS, and
// calls go round robin over every address found (ReplicaDialOptions), so
// the replicas behind a Kubernetes headless Service share them. The
// connection is plain text unless WithClientTLS says otherwise.
func Dial(addr string, defaultDeadline time.Duration, extra ...grpc.DialOption) (*grpc.ClientConn, error) {
	if defaultDeadline <= 0 {
		defaultDeadline = 5 * time.Second
	}
	var tp trace.TracerProvider
	transport := grpc.WithTransportCredentials(insecure.NewCredentials())
	for _, o := range extra {
		switch o := o.(type) {
		case tracerProviderOption:
			tp = o.tp
		case clientTLSOption:
			t, err := ClientTransport(o.cfg, nil)
			if err != nil {
				return nil, fmt.Errorf("dial %s: %w", addr, err)
			}
			transport = t
		}
	}
	opts := append([]grpc.DialOption{
		transport,
		grpc.WithStatsHandler(ClientStatsHandler(tp)),
		FastReconnect(defaultDeadline),
		grpc.WithChainUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, callOpts ...grpc.CallOption) error {
			if _, ok := ctx.Deadline(); !ok {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, defaultDeadline)
				defer cancel()
			}
			return invoker(withCallContext(ctx), method, req, reply, cc, callOpts...)
		}),
		grpc.WithChainStreamInterceptor(func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, callOpts ...grpc.CallOption) (grpc.ClientStream, error) {
			return streamer(withCallContext(ctx), desc, cc, method, callOpts...)
		}),
	}, ReplicaDialOptions()...)
	opts = append(opts, extra...)
	conn, err := grpc.NewClient(addr, opts...)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	return conn, nil
}

// ForwardAuthorization returns ctx with the incoming call's "authorization"
// metadata copied to the outgoing call, unless the outgoing context sets
// one already. A context that serves no call (a consumer acting on an
// event, as auth.System) has none to copy: such calls go out anonymous
// unless their caller sets a token.
func ForwardAuthorization(ctx context.Context) context.Context {
	if out, ok := metadata.FromOutgoingContext(ctx); ok && len(out.Get(auth.MetadataKey)) > 0 {
		return ctx
	}
	in, ok := metadata.FromIncomingContext(ctx)
	if !ok {
		return ctx
	}
	values := in.Get(auth.MetadataKey)
	if len(values) != 1 {
		// None to pass on; several were refused by the server already.
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, auth.MetadataKey, values[0])
}

// ForwardAuthorizationUnary is ForwardAuthorization as a unary client
// interceptor, for connections not made with Dial (Dial forwards the token
// and the request id itself).
func ForwardAuthorizationUnary(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	return invoker(ForwardAuthorization(ctx), method, req, reply, cc, opts...)
}

// ForwardAuthorizationStream is ForwardAuthorization as a stream client
// interceptor, for connections not made with Dial.
func ForwardAuthorizationStream(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	return streamer(ForwardAuthorization(ctx), desc, cc, method, opts...)
}
