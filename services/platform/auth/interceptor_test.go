package auth_test

import (
	"context"
	"crypto/ed25519"
	"net"
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/reflection"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"

	"github.com/gemella/gemella/services/platform/auth"
)

// TestHealthAndReflectionNeedNoToken: a probe or grpcurl that sends a
// malformed, foreign or doubled authorization value still gets the health
// status and the list of services, while an application method refuses
// the same value.
func TestHealthAndReflectionNeedNoToken(t *testing.T) {
	verifier, err := auth.NewVerifier(newKey(t).Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(grpc.UnaryInterceptor(auth.UnaryServerInterceptor(verifier)), grpc.StreamInterceptor(auth.StreamServerInterceptor(verifier)))
	healthpb.RegisterHealthServer(srv, health.NewServer())
	reflection.Register(srv)
	srv.RegisterService(&whoAmIDesc, whoAmI{})
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	foreign, _, _ := newIssuer(t, newKey(t)).Issue(alice)

	for _, md := range [][]string{
		{"authorization", "Bearer not-a-token"},
		{"authorization", "Basic dXNlcjpwYXNz"},
		{"authorization", "Bearer " + foreign},
		{"authorization", "Bearer a", "authorization", "Bearer b"},
	} {
		t.Run(md[1], func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			ctx = metadata.AppendToOutgoingContext(ctx, md...)

			resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
			if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
				t.Errorf("health Check: %v %v, want SERVING", resp, err)
			}
			watch, err := healthpb.NewHealthClient(conn).Watch(ctx, &healthpb.HealthCheckRequest{})
			if err == nil {
				resp, err = watch.Recv()
			}
			if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
				t.Errorf("health Watch: %v %v, want SERVING", resp, err)
			}

			if services, err := listServices(ctx, conn); err != nil || !slices.Contains(services, "grpc.health.v1.Health") || !slices.Contains(services, whoAmIDesc.ServiceName) {
				t.Errorf("reflection ListServices: %v %v, want the health and whoAmI services", services, err)
			}

			if _, err := (whoAmIClient{conn}).Check(ctx, &healthpb.HealthCheckRequest{}); status.Code(err) != codes.Unauthenticated {
				t.Errorf("an application method: %v, want Unauthenticated", err)
			}
		})
	}
}

func listServices(ctx context.Context, conn *grpc.ClientConn) ([]string, error) {
	stream, err := reflectionpb.NewServerReflectionClient(conn).ServerReflectionInfo(ctx)
	if err != nil {
		return nil, err
	}
	if err := stream.Send(&reflectionpb.ServerReflectionRequest{
		MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{ListServices: "*"},
	}); err != nil {
		return nil, err
	}
	resp, err := stream.Recv()
	if err != nil {
		return nil, err
	}
	_ = stream.CloseSend()
	var names []string
	for _, s := range resp.GetListServicesResponse().GetService() {
		names = append(names, s.GetName())
	}
	return names, nil
}

func TestExemptMethod(t *testing.T) {
	for method, want := range map[string]bool{
		"/grpc.health.v1.Health/Check":                                   true,
		"/grpc.health.v1.Health/Watch":                                   true,
		"/grpc.reflection.v1.ServerReflection/ServerReflectionInfo":      true,
		"/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo": true,
		"/gemella.catalog.v1.CatalogService/GetPractice":                 false,
		"/grpc.health.v1.HealthX/Check":                                  false,
		"/gemella.grpc.health.v1.Health/Check":                           false,
	} {
		if got := auth.ExemptMethod(method); got != want {
			t.Errorf("ExemptMethod(%q) = %t, want %t", method, got, want)
		}
	}
}
