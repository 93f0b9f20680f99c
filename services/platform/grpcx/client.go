package grpcx

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// Dial returns a client connection to another service. Calls made without a
// deadline get defaultDeadline, so no call waits for ever.
func Dial(addr string, defaultDeadline time.Duration, extra ...grpc.DialOption) (*grpc.ClientConn, error) {
	if defaultDeadline <= 0 {
		defaultDeadline = 5 * time.Second
	}
	opts := append([]grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithChainUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, callOpts ...grpc.CallOption) error {
			if _, ok := ctx.Deadline(); !ok {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, defaultDeadline)
				defer cancel()
			}
			return invoker(ctx, method, req, reply, cc, callOpts...)
		}),
	}, extra...)
	conn, err := grpc.NewClient(addr, opts...)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	return conn, nil
}
