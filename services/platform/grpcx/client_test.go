package grpcx_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/gemella/gemella/services/platform/auth"
	"github.com/gemella/gemella/services/platform/grpcx"
)

// echoAuthorization answers with the authorization value it received.
type echoAuthorization struct {
	healthpb.UnimplementedHealthServer
}

func (echoAuthorization) Check(ctx context.Context, _ *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	return nil, status.Error(codes.NotFound, "authorization="+strings.Join(md.Get(auth.MetadataKey), "|"))
}

// relay serves a call by making one to next, as twinning asks catalog.
type relay struct {
	healthpb.UnimplementedHealthServer
	next healthpb.HealthClient
	// outgoing, when set, is the token the relay sets itself.
	outgoing string
}

func (r relay) Check(ctx context.Context, req *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	if r.outgoing != "" {
		ctx = auth.WithBearerToken(ctx, r.outgoing)
	}
	return r.next.Check(ctx, req)
}

func serve(t *testing.T, srv healthpb.HealthServer) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer()
	healthpb.RegisterHealthServer(s, srv)
	go func() { _ = s.Serve(lis) }()
	t.Cleanup(s.Stop)
	return lis.Addr().String()
}

func dial(t *testing.T, addr string) healthpb.HealthClient {
	t.Helper()
	conn, err := grpcx.Dial(addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return healthpb.NewHealthClient(conn)
}

func TestDialPassesTheCallersTokenOn(t *testing.T) {
	downstream := dial(t, serve(t, echoAuthorization{}))
	passOn := dial(t, serve(t, relay{next: downstream}))
	ownToken := dial(t, serve(t, relay{next: downstream, outgoing: "service-token"}))

	tests := []struct {
		name   string
		client healthpb.HealthClient
		token  string
		want   string
	}{
		{"the member's token reaches the next service", passOn, "member-token", "authorization=Bearer member-token"},
		{"an anonymous call stays anonymous", passOn, "", "authorization="},
		{"a token the service sets wins", ownToken, "member-token", "authorization=Bearer service-token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if tt.token != "" {
				ctx = auth.WithBearerToken(ctx, tt.token)
			}
			_, err := tt.client.Check(ctx, &healthpb.HealthCheckRequest{})
			if got := status.Convert(err).Message(); got != tt.want {
				t.Fatalf("downstream saw %q, want %q", got, tt.want)
			}
		})
	}
}
