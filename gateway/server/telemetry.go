package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	noopmetric "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/gemella/gemella/services/platform/grpcx"
	"github.com/gemella/gemella/services/platform/telemetry"
)

// This file is the gateway's telemetry: a span per HTTP request
// whose trace continues into every backend call (otelgrpc), and Prometheus
// series of the HTTP requests by route, method and status code.
//
// Metrics are served at /metrics on the gateway's own HTTP listener unless
// GEMELLA_GATEWAY_METRICS_ADDR names another address; then only that one
// serves them. One listener needs nothing more from `make run` or a small
// deployment; production sets the variable so that the public listener,
// behind the load balancer, does not show its internals to the internet,
// and Prometheus scrapes the private port, as it does the services'
// <SERVICE>_METRICS_ADDR.

// metricsPath is where Prometheus scrapes.
const metricsPath = "/metrics"

// backendConnectTimeout bounds one attempt to connect to a backend, so a
// backend that does not answer at all (not even with a refusal) costs a
// call at most this long before calls fail fast with UNAVAILABLE.
const backendConnectTimeout = 5 * time.Second

// Option adjusts what New builds.
type Option func(*options)

type options struct {
	tracerProvider trace.TracerProvider
}

// WithTracerProvider traces the gateway's requests and backend calls with
// tp instead of the global provider (which telemetry.Setup installs).
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(o *options) { o.tracerProvider = tp }
}

// gatewayTelemetry holds the gateway's tracer provider and HTTP metrics.
type gatewayTelemetry struct {
	// tp is nil for the global provider.
	tp       trace.TracerProvider
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	// onMainListener serves /metrics on the API's listener; otherwise
	// metricsListener does, once Listen has bound it.
	onMainListener  bool
	metricsListener net.Listener
}

func newGatewayTelemetry(cfg Config, opts []Option) (*gatewayTelemetry, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	t := &gatewayTelemetry{
		tp:       o.tracerProvider,
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gemella_http_requests_total",
			Help: "HTTP requests the gateway answered, by route pattern, method and status code.",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "gemella_http_request_duration_seconds",
			Help: "Time from a request's arrival to the end of its answer, by route pattern and method.",
			// From a cached read to a backend call near its deadline.
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "method"}),
		onMainListener: cfg.MetricsAddr == "",
	}
	for _, c := range []prometheus.Collector{t.requests, t.duration,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})} {
		if err := t.registry.Register(c); err != nil {
			return nil, fmt.Errorf("register gateway metrics: %w", err)
		}
	}
	return t, nil
}

// Registry holds the gateway's metrics, for a process that serves them
// itself or adds its own.
func (s *Server) Registry() *prometheus.Registry { return s.tel.registry }

// routeLabel is where the grpc-gateway mux notes the pattern that matched,
// for the middleware around it that counts and names the request.
type routeLabel struct{ name string }

// Route labels of requests that no pattern of the API names.
const (
	routePortal    = "portal"
	routeUnmatched = "unmatched"
)

// recordRoute is a grpc-gateway middleware: it runs once the mux has
// chosen a route, whose pattern is then in the request's context.
func recordRoute(next runtime.HandlerFunc) runtime.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request, params map[string]string) {
		if st := stateFrom(r.Context()); st != nil {
			if p, ok := runtime.HTTPPattern(r.Context()); ok {
				// Pattern.String builds the string anew each time:
				// strictInput, next, reads it from here.
				st.pattern = p.String()
				if st.route != nil {
					st.route.name = routeName(st.pattern)
				}
			}
		}
		next(w, r, params)
	}
}

// routeName is a pattern as written in the proto's http rule,
// "/v1/practices/{id}", from grpc-gateway's "/v1/practices/{id=*}".
func routeName(pattern string) string {
	if !strings.Contains(pattern, "=*}") {
		return pattern
	}
	return strings.ReplaceAll(pattern, "=*}", "}")
}

// methodLabel bounds the method label to the methods HTTP defines.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "OTHER"
}

// instrument wraps the whole gateway: /metrics (when served here) first,
// then a span per request (otelhttp), then the counting of every answer by
// route, whatever answered it (the API, the portal, a rate limit, a panic).
func (s *Server) instrument(next http.Handler) http.Handler {
	t := s.tel
	metrics := promhttp.HandlerFor(t.registry, promhttp.HandlerOpts{})
	counted := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		label := &routeLabel{name: routeUnmatched}
		if !isAPIPath(r.URL.Path) {
			label.name = routePortal
		}
		rec := &statusRecorder{ResponseWriter: w}
		r, st := withState(r)
		st.route = label
		defer func() {
			method := methodLabel(r.Method)
			t.requests.WithLabelValues(label.name, method, strconv.Itoa(rec.statusOrOK())).Inc()
			t.duration.WithLabelValues(label.name, method).Observe(time.Since(start).Seconds())
			span := trace.SpanFromContext(r.Context())
			if !span.IsRecording() {
				return
			}
			span.SetName(method + " " + label.name)
			span.SetAttributes(attribute.String("http.route", label.name))
			if id := rec.Header().Get(requestIDHeader); id != "" {
				span.SetAttributes(attribute.String("gemella.request_id", id))
			}
		}()
		next.ServeHTTP(rec, r)
	})
	otelOpts := []otelhttp.Option{
		otelhttp.WithPropagators(telemetry.Propagator()),
		// The HTTP metrics are the Prometheus series above.
		otelhttp.WithMeterProvider(noopmetric.NewMeterProvider()),
		otelhttp.WithFilter(func(r *http.Request) bool { return !isProbe(r.URL.Path) }),
		// An internet client's traceparent starts no trace of ours (it
		// could force sampling or reuse ids); it is kept as a link. Behind
		// a proxy trusted with the forwarded headers, the proxy's trace
		// is continued.
		otelhttp.WithPublicEndpointFn(func(*http.Request) bool { return !s.cfg.TrustProxyHeaders }),
	}
	if t.tp != nil {
		otelOpts = append(otelOpts, otelhttp.WithTracerProvider(t.tp))
	}
	traced := otelhttp.NewHandler(counted, "gateway", otelOpts...)
	if !t.onMainListener {
		return traced
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == metricsPath {
			metrics.ServeHTTP(w, r)
			return
		}
		traced.ServeHTTP(w, r)
	})
}

// isProbe names the requests of load balancers and scrapers, which would
// be most of the traces and tell nothing.
func isProbe(path string) bool {
	switch path {
	case "/healthz", "/readyz", metricsPath:
		return true
	}
	return false
}

// listenMetrics binds GEMELLA_GATEWAY_METRICS_ADDR when it is set; Listen
// calls it with s.mu held, so both addresses are known before Run.
func (s *Server) listenMetrics() error {
	if s.tel.onMainListener || s.tel.metricsListener != nil {
		return nil
	}
	ln, err := net.Listen("tcp", s.cfg.MetricsAddr)
	if err != nil {
		return fmt.Errorf("listen for metrics on %s: %w", s.cfg.MetricsAddr, err)
	}
	s.tel.metricsListener = ln
	return nil
}

// MetricsAddr is the bound address of the separate metrics listener, or ""
// when /metrics is served on the API's listener (or nothing is bound yet).
func (s *Server) MetricsAddr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tel.metricsListener == nil {
		return ""
	}
	return s.tel.metricsListener.Addr().String()
}

// serveMetrics serves /metrics on the separate listener, if there is one,
// until stop.
func (s *Server) serveMetrics() (stop func()) {
	s.mu.Lock()
	ln := s.tel.metricsListener
	s.mu.Unlock()
	if ln == nil {
		return func() {}
	}
	mux := http.NewServeMux()
	mux.Handle(metricsPath, promhttp.HandlerFor(s.tel.registry, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.logger.Error("metrics listener stopped", "addr", ln.Addr().String(), "error", err.Error())
		}
	}()
	s.logger.Info("gateway metrics listening", "addr", ln.Addr().String())
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		<-done
	}
}

// closeMetricsListener releases a metrics listener that Listen bound but
// Run never served (Run's shutdown closes it otherwise).
func (s *Server) closeMetricsListener() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tel == nil || s.tel.metricsListener == nil {
		return nil
	}
	err := s.tel.metricsListener.Close()
	s.tel.metricsListener = nil
	if err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("close metrics listener: %w", err)
	}
	return nil
}

// backendDialOptions connect the gateway to a backend: traced calls that
// carry the trace context and the request id, and a quick reconnection
// (grpcx.FastReconnect) so that a backend that is down answers UNAVAILABLE
// at once (a 503) and one that comes back is used within a second.
// Calls go round robin over every replica a backend's address resolves to,
// with keepalives (grpcx.ReplicaDialOptions), over TLS when
// GEMELLA_GRPC_CLIENT_TLS_* say so.
func (s *Server) backendDialOptions() ([]grpc.DialOption, error) {
	transport, err := grpcx.ClientTransport(s.cfg.Backends.TLS, s.logger)
	if err != nil {
		return nil, err
	}
	return append([]grpc.DialOption{
		transport,
		grpc.WithStatsHandler(grpcx.ClientStatsHandler(s.tel.tp)),
		grpcx.FastReconnect(backendConnectTimeout),
		grpc.WithChainUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
			return invoker(withRequestIDMetadata(ctx), method, req, reply, cc, opts...)
		}),
		grpc.WithChainStreamInterceptor(func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
			return streamer(withRequestIDMetadata(ctx), desc, cc, method, opts...)
		}),
	}, grpcx.ReplicaDialOptions()...), nil
}

// withRequestIDMetadata sends the request id with calls that grpc-gateway
// did not make (the portal's); grpc-gateway's own carry it already, from
// the forwarded X-Request-Id header.
func withRequestIDMetadata(ctx context.Context) context.Context {
	id := requestIDFrom(ctx)
	if id == "" {
		return ctx
	}
	// ValueFromOutgoingContext reads without copying the metadata.
	if len(metadata.ValueFromOutgoingContext(ctx, grpcx.RequestIDKey)) > 0 {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, grpcx.RequestIDKey, id)
}
