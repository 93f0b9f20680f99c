// Package grpcx starts gRPC servers and clients the same way in every
// service: health, reflection, panic recovery, structured logging,
// Prometheus metrics, a default deadline, and one error mapping.
package grpcx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"runtime/debug"
	"sync"
	"time"

	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/recovery"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"

	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/config"
)

// ServerOptions configures NewServer.
type ServerOptions struct {
	// Name of the service, used in logs and metrics.
	Name   string
	Config config.GRPCServer
	Logger *slog.Logger
	// Unary interceptors that run after the standard ones (e.g. auth).
	Unary []grpc.UnaryServerInterceptor
	// Stream interceptors that run after the standard ones.
	Stream []grpc.StreamServerInterceptor
	// TracerProvider traces the calls the server receives (see
	// ServerStatsHandler); nil is the global one, which telemetry.Setup
	// installs. A process running several services gives each its own.
	TracerProvider trace.TracerProvider
}

// Server is a gRPC server with the standard services registered.
type Server struct {
	name     string
	grpc     *grpc.Server
	health   *health.Server
	logger   *slog.Logger
	lis      net.Listener
	metrics  *http.Server
	registry *prometheus.Registry
	cfg      config.GRPCServer

	// healthMu orders the serving status that SetServing reports with the
	// one Serve applies when it starts.
	healthMu   sync.Mutex
	notServing bool
	// healthPort serves health alone in plain text (see healthport.go).
	healthPort *healthPort
}

// NewServer builds the server; register services on GRPC() before Serve.
func NewServer(opts ServerOptions) (*Server, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Config.DefaultDeadline <= 0 {
		opts.Config.DefaultDeadline = 10 * time.Second
	}
	logger := opts.Logger
	registry := prometheus.NewRegistry()
	registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	srvMetrics := grpcprom.NewServerMetrics(grpcprom.WithServerHandlingTimeHistogram())
	if err := registry.Register(srvMetrics); err != nil {
		return nil, fmt.Errorf("register grpc metrics: %w", err)
	}
	recoverOpt := recovery.WithRecoveryHandlerContext(func(ctx context.Context, p any) error {
		logger.ErrorContext(ctx, "panic in handler", "panic", p, "stack", string(debug.Stack()))
		return status.Error(codes.Internal, "internal error")
	})
	unary := []grpc.UnaryServerInterceptor{
		srvMetrics.UnaryServerInterceptor(),
		logUnary(logger),
		recovery.UnaryServerInterceptor(recoverOpt),
		defaultDeadlineUnary(opts.Config.DefaultDeadline),
		retryPushbackUnary(),
		errorMappingUnary(logger),
		etagAgreementUnary(),
	}
	unary = append(unary, opts.Unary...)
	stream := []grpc.StreamServerInterceptor{
		srvMetrics.StreamServerInterceptor(),
		logStream(logger),
		recovery.StreamServerInterceptor(recoverOpt),
		errorMappingStream(logger),
	}
	stream = append(stream, opts.Stream...)
	creds, err := serverCredentials(opts.Config.TLS, logger)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", opts.Name, err)
	}
	gs := grpc.NewServer(append(serverKeepaliveOptions(), creds,
		grpc.StatsHandler(ServerStatsHandler(opts.TracerProvider)),
		grpc.ChainUnaryInterceptor(unary...),
		grpc.ChainStreamInterceptor(stream...),
		grpc.MaxRecvMsgSize(4<<20),
		grpc.NumStreamWorkers(streamWorkers()),
	)...)
	hs := health.NewServer()
	healthpb.RegisterHealthServer(gs, hs)
	reflection.Register(gs)
	s := &Server{name: opts.Name, grpc: gs, health: hs, logger: logger, registry: registry, cfg: opts.Config}
	srvMetrics.InitializeMetrics(gs)
	return s, nil
}

// streamWorkers is the number of long-lived goroutines that serve the
// calls: a call handled on a fresh goroutine grows its stack through the
// interceptor chain each time (runtime.newstack and copystack were a tenth
// of the catalog's CPU under parallel load in make bench (b)), one handled
// by a worker finds the stack already grown. When every worker is busy
// grpc-go starts a goroutine for the call as without workers, so this
// bounds nothing; workers renew their stacks after 65,536 calls.
func streamWorkers() uint32 { return uint32(4 * runtime.GOMAXPROCS(0)) }

// GRPC is the server to register service implementations on.
func (s *Server) GRPC() *grpc.Server { return s.grpc }

// Registry holds the server's metrics; services may add their own.
func (s *Server) Registry() *prometheus.Registry { return s.registry }

// Listen binds the configured address (port 0 picks a free one).
func (s *Server) Listen() error {
	lis, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("%s: listen on %s: %w", s.name, s.cfg.Addr, err)
	}
	s.lis = lis
	if err := s.listenHealthPort(); err != nil {
		_ = lis.Close()
		s.lis = nil
		return err
	}
	return nil
}

// Addr is the bound address; valid after Listen.
func (s *Server) Addr() string {
	if s.lis == nil {
		return s.cfg.Addr
	}
	return s.lis.Addr().String()
}

// Serve serves until ctx is done, then stops gracefully: in-flight calls
// finish (bounded by the default deadline), new ones are refused.
func (s *Server) Serve(ctx context.Context) error {
	if s.lis == nil {
		if err := s.Listen(); err != nil {
			return err
		}
	}
	s.healthMu.Lock()
	s.applyServingLocked()
	s.healthMu.Unlock()
	if s.cfg.MetricsAddr != "" {
		mux := http.NewServeMux()
		mux.Handle("/metrics", promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{}))
		s.metrics = &http.Server{Addr: s.cfg.MetricsAddr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		go func() {
			if err := s.metrics.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.logger.Error("metrics server stopped", "err", err)
			}
		}()
	}
	s.serveHealthPort()
	defer s.stopHealthPort()
	errc := make(chan error, 1)
	go func() { errc <- s.grpc.Serve(s.lis) }()
	s.logger.Info("gRPC server listening", "addr", s.Addr())
	select {
	case err := <-errc:
		return fmt.Errorf("%s: serve: %w", s.name, err)
	case <-ctx.Done():
	}
	s.health.Shutdown()
	stopped := make(chan struct{})
	go func() { s.grpc.GracefulStop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(s.cfg.DefaultDeadline):
		s.grpc.Stop()
	}
	if s.metrics != nil {
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = s.metrics.Shutdown(shutdownCtx)
	}
	s.logger.Info("gRPC server stopped")
	return nil
}

// SetServing reports what the health service answers, for the whole
// server ("") and for every service registered on it: SERVING while
// serving is true, NOT_SERVING otherwise. A server that depends on a
// database or a broker calls it as they come and go; one that never calls
// it is SERVING while it serves. Called before Serve, it sets the status
// Serve starts with; once Serve has stopped, every status is NOT_SERVING
// for good.
func (s *Server) SetServing(serving bool) {
	s.healthMu.Lock()
	defer s.healthMu.Unlock()
	s.notServing = !serving
	s.applyServingLocked()
}

// applyServingLocked sets every status to the current one; s.healthMu is held.
func (s *Server) applyServingLocked() {
	st := healthpb.HealthCheckResponse_SERVING
	if s.notServing {
		st = healthpb.HealthCheckResponse_NOT_SERVING
	}
	for name := range s.grpc.GetServiceInfo() {
		s.health.SetServingStatus(name, st)
	}
	s.health.SetServingStatus("", st)
}

func defaultDeadlineUnary(d time.Duration) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if _, ok := ctx.Deadline(); !ok {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, d)
			defer cancel()
		}
		return handler(ctx, req)
	}
}

// slowUnavailable is how long a call may take before failing UNAVAILABLE
// for its client to try it again (readRetry): a quick refusal (the store
// known to be away, the service not ready) is worth another replica, a
// call that waited out its store or its search index is not, as another
// attempt would wait as long and the caller's deadline would pass first.
const slowUnavailable = 300 * time.Millisecond

// retryPushbackUnary tells the client not to retry a slow UNAVAILABLE
// (gRPC's server pushback, grpc-retry-pushback-ms below zero).
func retryPushbackUnary() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		start := time.Now()
		resp, err := handler(ctx, req)
		if err != nil && status.Code(err) == codes.Unavailable && time.Since(start) > slowUnavailable {
			_ = grpc.SetTrailer(ctx, metadata.Pairs("grpc-retry-pushback-ms", "-1"))
		}
		return resp, err
	}
}

// ClientGone reports an error caused by the call's own context being
// canceled, which is how a server learns that its client went away (a
// browser closing a live stream, a page left while it loaded).
func ClientGone(ctx context.Context, err error) bool {
	return errors.Is(ctx.Err(), context.Canceled) && (errors.Is(err, context.Canceled) || status.Code(err) == codes.Canceled)
}

func errorMappingUnary(logger *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		resp, err := handler(ctx, req)
		if err != nil {
			err = mapAndLog(ctx, logger, info.FullMethod, err)
		}
		return resp, err
	}
}

func errorMappingStream(logger *slog.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		err := handler(srv, ss)
		if err != nil {
			err = mapAndLog(ss.Context(), logger, info.FullMethod, err)
		}
		return err
	}
}

func mapAndLog(ctx context.Context, logger *slog.Logger, method string, err error) error {
	if ClientGone(ctx, err) {
		// Nobody waits for the answer: no failure of the service, whatever
		// the error that the cancellation caused calls itself (a store's
		// network error, another service "unavailable").
		logger.DebugContext(ctx, "call ended: the client went away", "method", method, "err", err)
		return withReason(codes.Canceled, "request canceled", apperr.ReasonRequestCancelled)
	}
	mapped := ToStatus(err)
	if st, _ := status.FromError(mapped); st.Code() == codes.Internal || st.Code() == codes.Unavailable {
		logger.ErrorContext(ctx, "call failed", "method", method, "err", err)
	}
	return mapped
}
