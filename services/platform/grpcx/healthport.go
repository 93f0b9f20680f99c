package grpcx

import (
	"context"
	"errors"
	"fmt"
	"net"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// LivenessService is the health service name that the health port
// (config.GRPCServer.HealthAddr) answers SERVING for while the process
// serves, whatever its dependencies: a liveness probe asks for it, so that
// a store outage makes replicas unready (the "" status) but does not get
// them restarted.
const LivenessService = "liveness"

// healthPort serves the server's health service alone, in plain text: the
// kubelet's gRPC probes speak no TLS. It answers for LivenessService
// itself and hands every other question to the server's health service.
type healthPort struct {
	*health.Server
	grpc *grpc.Server
	lis  net.Listener
}

func (h *healthPort) Check(ctx context.Context, req *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	if req.GetService() == LivenessService {
		return &healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVING}, nil
	}
	return h.Server.Check(ctx, req)
}

func (h *healthPort) Watch(req *healthpb.HealthCheckRequest, stream healthpb.Health_WatchServer) error {
	if req.GetService() == LivenessService {
		return status.Error(codes.Unimplemented, "watch of the liveness service: use Check")
	}
	return h.Server.Watch(req, stream)
}

// listenHealthPort binds the configured health address, if any.
func (s *Server) listenHealthPort() error {
	if s.cfg.HealthAddr == "" || s.healthPort != nil {
		return nil
	}
	lis, err := net.Listen("tcp", s.cfg.HealthAddr)
	if err != nil {
		return fmt.Errorf("%s: listen for health on %s: %w", s.name, s.cfg.HealthAddr, err)
	}
	hp := &healthPort{Server: s.health, grpc: grpc.NewServer(serverKeepaliveOptions()...), lis: lis}
	healthpb.RegisterHealthServer(hp.grpc, hp)
	s.healthPort = hp
	return nil
}

// serveHealthPort serves the health port, if any, until stopHealthPort.
func (s *Server) serveHealthPort() {
	hp := s.healthPort
	if hp == nil {
		return
	}
	go func() {
		if err := hp.grpc.Serve(hp.lis); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			s.logger.Error("health port stopped", "err", err)
		}
	}()
	s.logger.Info("gRPC health port listening", "addr", hp.lis.Addr().String())
}

// HealthAddr is the bound address of the health port, valid after Listen;
// empty without one.
func (s *Server) HealthAddr() string {
	if s.healthPort == nil {
		return s.cfg.HealthAddr
	}
	return s.healthPort.lis.Addr().String()
}

func (s *Server) stopHealthPort() {
	if s.healthPort != nil {
		s.healthPort.grpc.Stop()
	}
}
