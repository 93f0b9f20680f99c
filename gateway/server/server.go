// Package server is the Gemella REST gateway: it exposes the gRPC services as
// REST+JSON through grpc-gateway, serves the OpenAPI document and the health
// endpoints, and maps every failure to one JSON error shape. It is used by
// cmd/gateway and by the dev launcher.
package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/gemella/gemella/gateway/feed"
	"github.com/gemella/gemella/gateway/portal"
	catalogv1 "github.com/gemella/gemella/proto/gemella/catalog/v1"
	discussionv1 "github.com/gemella/gemella/proto/gemella/discussion/v1"
	notificationv1 "github.com/gemella/gemella/proto/gemella/notification/v1"
	"github.com/gemella/gemella/proto/openapi"
)

// backend is one gRPC service exposed through the gateway.
type backend struct {
	name     string
	addr     string
	register func(ctx context.Context, mux *runtime.ServeMux, conn *grpc.ClientConn) error
}

// backends lists every service behind the gateway. Adding one is a line here
// (and its address in Config).
func backends(cfg Config) []backend {
	all := []backend{
		{name: "catalog", addr: cfg.CatalogAddr, register: catalogv1.RegisterCatalogServiceHandler},
		{name: "twinning", addr: cfg.TwinningAddr, register: registerTwinning},
		{name: "discussion", addr: cfg.DiscussionAddr, register: discussionv1.RegisterDiscussionServiceHandler},
		{name: "notification", addr: cfg.NotificationAddr, register: notificationv1.RegisterNotificationServiceHandler},
	}
	var enabled []backend
	for _, b := range all {
		if b.addr != "" && b.addr != BackendDisabled {
			enabled = append(enabled, b)
		}
	}
	return enabled
}

type backendConn struct {
	name   string
	conn   *grpc.ClientConn
	health grpc_health_v1.HealthClient
}

// Server is the REST gateway. Build it with New, start it with Run, and
// release its backend connections with Close once Run has returned.
type Server struct {
	cfg      Config
	logger   *slog.Logger
	backends []backendConn
	handler  http.Handler
	openAPI  []byte
	routes   routeTable
	// methods are the methods of every path, for the Allow of a 405.
	methods pathMethods

	mu       sync.Mutex
	listener net.Listener
	feed     *feed.Hub
	tel      *gatewayTelemetry
	// publicCache keeps anonymous API answers for a moment; nil when
	// GEMELLA_GATEWAY_PUBLIC_CACHE_TTL is 0.
	publicCache *publicCache
	// site is the portal, for the pages the gateway's own middleware
	// answers (a rate limit reached on a form).
	site *portal.Portal
	// limits are the rate limits, shared among the replicas that
	// presence counts (replicas.go).
	limits   *limits
	presence *presence
	// holds counts the HoldReadiness calls not yet released.
	holds atomic.Int32
}

// feedPath is the live event feed; a stream, so no request deadline.
const feedPath = "/v1/events"

// New connects to every backend (lazily: gRPC dials on first use) and builds
// the HTTP handler. It does not listen; see Listen and Run.
func New(ctx context.Context, cfg Config, logger *slog.Logger, opts ...Option) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("gateway configuration: %w", err)
	}
	if logger == nil {
		logger = slog.Default()
	}
	routes, err := loadRoutes()
	if err != nil {
		return nil, fmt.Errorf("read the HTTP bindings: %w", err)
	}
	doc, err := buildOpenAPI(openapi.JSON, routes)
	if err != nil {
		return nil, fmt.Errorf("prepare OpenAPI document: %w", err)
	}
	tel, err := newGatewayTelemetry(cfg, opts)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, logger: logger, openAPI: doc, routes: routes, tel: tel, publicCache: newPublicCache(cfg.PublicCacheTTL)}
	for _, rt := range routes.unique() {
		s.methods.add(rt.method, rt.template)
	}
	if cfg.NATSURL != "" && cfg.NATSURL != BackendDisabled {
		hub, err := feed.NewHub(ctx, feed.Config{NATSURL: cfg.NATSURL, Auth: cfg.FeedNATS, Replicas: cfg.FeedStreamReplicas, Logger: logger.With("component", "feed"),
			// Any replica's write shows in every replica's anonymous reads
			// as soon as its event arrives.
			OnEvent: s.publicCache.invalidate})
		if err != nil {
			return nil, fmt.Errorf("live feed: %w", err)
		}
		s.feed = hub
	}

	mux := runtime.NewServeMux(
		runtime.WithMarshalerOption(runtime.MIMEWildcard, newJSONMarshaler()),
		runtime.WithIncomingHeaderMatcher(forwardedHeader),
		runtime.WithMetadata(clientAddressMetadata),
		runtime.WithErrorHandler(s.handleError),
		runtime.WithRoutingErrorHandler(s.handleRoutingError),
		runtime.WithForwardResponseOption(setSessionCookie),
		runtime.WithForwardResponseOption(setResourceETag),
		runtime.WithOutgoingHeaderMatcher(noGRPCMetadata),
		runtime.WithOutgoingTrailerMatcher(noGRPCMetadata),
		runtime.WithMiddlewares(recordRoute, s.strictInput),
		// A route answers its own methods only (see methods.go).
		runtime.WithDisablePathLengthFallback(),
	)
	dialOpts, err := s.backendDialOptions()
	if err != nil {
		return nil, errors.Join(err, s.Close())
	}
	for _, b := range backends(cfg) {
		conn, err := grpc.NewClient(b.addr, dialOpts...)
		if err != nil {
			return nil, errors.Join(fmt.Errorf("connect to %s at %s: %w", b.name, b.addr, err), s.Close())
		}
		s.backends = append(s.backends, backendConn{name: b.name, conn: conn, health: grpc_health_v1.NewHealthClient(conn)})
		if err := b.register(ctx, mux, conn); err != nil {
			return nil, errors.Join(fmt.Errorf("register %s routes: %w", b.name, err), s.Close())
		}
		if b.name == "twinning" {
			if err := s.reportRoutes(mux, conn); err != nil {
				return nil, errors.Join(fmt.Errorf("register %s routes: %w", b.name, err), s.Close())
			}
		}
		if b.name == "notification" {
			if err := s.notificationRoutes(mux, conn); err != nil {
				return nil, errors.Join(fmt.Errorf("register %s routes: %w", b.name, err), s.Close())
			}
		}
	}
	if err := s.searchRoute(mux); err != nil {
		return nil, errors.Join(fmt.Errorf("route %s: %w", searchPath, err), s.Close())
	}
	if s.feed != nil {
		if err := s.handlePath(mux, http.MethodGet, feedPath, func(w http.ResponseWriter, r *http.Request, _ map[string]string) {
			if v := checkPlainQuery(r.URL.RawQuery, "twinning_id", "practice_id", "last_event_id"); len(v) > 0 {
				s.writeViolations(w, r, v)
				return
			}
			s.feed.ServeHTTP(w, r)
		}); err != nil {
			return nil, errors.Join(fmt.Errorf("route %s: %w", feedPath, err), s.Close())
		}
	}
	for path, h := range map[string]runtime.HandlerFunc{
		"/openapi.json": s.serveOpenAPI,
		"/healthz":      s.serveHealthz,
		"/readyz":       s.serveReadyz,
	} {
		// Registered on the grpc-gateway mux so that routing errors on these
		// paths have the same JSON shape as on the API.
		if err := s.handlePath(mux, http.MethodGet, path, h); err != nil {
			return nil, errors.Join(fmt.Errorf("route %s: %w", path, err), s.Close())
		}
	}

	site, err := s.newPortal()
	if err != nil {
		return nil, errors.Join(err, s.Close())
	}
	s.site = site
	s.limits = newLimits(cfg)
	s.presence = newPresence(s.limits.shareAmong, logger)
	open, err := s.newOpenData()
	if err != nil {
		return nil, errors.Join(err, s.Close())
	}

	compress, err := compressed()
	if err != nil {
		return nil, errors.Join(err, s.Close())
	}
	s.handler = s.instrument(chain(withOpenData(withPortal(s.onlyOwnMethods(mux), site), open),
		withRequestID,
		s.logRequests,
		s.recoverPanics,
		compress,
		withCORS(cfg.CORSOrigins),
		s.limits.middleware(s),
		withTimeout(cfg.RequestTimeout),
		s.limitBody,
		s.sessionCookies,
		s.httpCaching,
	))
	return s, nil
}

// Handler is the complete HTTP handler, middleware included.
func (s *Server) Handler() http.Handler { return s.handler }

// Listen binds the HTTP address without serving yet, so that a caller using
// port 0 can learn the address with Addr before calling Run.
func (s *Server) Listen() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.listener != nil {
		return nil
	}
	ln, err := net.Listen("tcp", s.cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", s.cfg.HTTPAddr, err)
	}
	if err := s.listenMetrics(); err != nil {
		return errors.Join(err, ln.Close())
	}
	s.listener = ln
	return nil
}

// ListenOn is Listen on a listener the caller has bound (and hands over:
// Close closes it), for a caller that must know the address before the
// gateway is built (the devstack's e-mails link to it).
func (s *Server) ListenOn(ln net.Listener) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.listener != nil {
		return errors.Join(errors.New("the gateway listens already"), ln.Close())
	}
	if err := s.listenMetrics(); err != nil {
		return errors.Join(err, ln.Close())
	}
	s.listener = ln
	return nil
}

// Addr is the bound address once Listen (or Run) has bound it, else "".
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.listener == nil {
		return ""
	}
	return s.listener.Addr().String()
}

// Run listens (unless Listen already did) and serves until ctx is done, then
// stops accepting connections and lets in-flight requests finish within
// ShutdownTimeout. It returns nil after a clean shutdown.
func (s *Server) Run(ctx context.Context) error {
	if err := s.Listen(); err != nil {
		return err
	}
	s.mu.Lock()
	ln := s.listener
	s.mu.Unlock()
	defer s.serveMetrics()()

	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 5 * time.Second,
		IdleTimeout:       2 * time.Minute,
		// No WriteTimeout: the request deadline bounds API calls, and a
		// server-wide write timeout would cut long-lived event streams.
		ErrorLog: slog.NewLogLogger(s.logger.Handler(), slog.LevelWarn),
	}
	feedDone := make(chan struct{})
	if s.feed != nil {
		feedCtx, stopFeed := context.WithCancel(context.WithoutCancel(ctx))
		// Shutdown waits for open feeds, which end only when the hub stops.
		srv.RegisterOnShutdown(stopFeed)
		go func() {
			defer close(feedDone)
			if err := s.feed.Run(feedCtx); err != nil {
				s.logger.Error("live feed stopped", slog.Any("err", err))
			}
		}()
		presenceDone := make(chan struct{})
		go func() {
			defer close(presenceDone)
			if err := s.presence.run(feedCtx, s.feed.Conn()); err != nil {
				s.logger.Error("gateway replicas are not counted: each applies the whole rate limits", slog.Any("err", err))
			}
		}()
		defer func() { <-presenceDone }()
		defer func() { stopFeed(); <-feedDone }()
	} else {
		close(feedDone)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	s.logger.InfoContext(ctx, "gateway listening", slog.String("addr", ln.Addr().String()))

	select {
	case err := <-served:
		return fmt.Errorf("serve HTTP on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}

	s.logger.InfoContext(ctx, "gateway shutting down", slog.Duration("timeout", s.cfg.ShutdownTimeout))
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		closeErr := srv.Close()
		<-served
		return errors.Join(fmt.Errorf("graceful shutdown: %w", err), closeErr)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve HTTP on %s: %w", ln.Addr(), err)
	}
	return nil
}

// Close closes the backend connections.
func (s *Server) Close() error {
	var errs []error
	for _, b := range s.backends {
		if err := b.conn.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close %s connection: %w", b.name, err))
		}
	}
	s.backends = nil
	errs = append(errs, s.closeMetricsListener())
	return errors.Join(errs...)
}

// forwardedHeader chooses the HTTP headers that reach the backends as gRPC
// metadata: Accept-Language says which language the reader reads (the
// notification service writes its sentences in it). Authorization is not listed because grpc-gateway always forwards
// it as "authorization"; listing it would send it twice.
// clientAddressMetadata tells the services the client's address, which the
// limits middleware put in ClientAddressHeader.
func clientAddressMetadata(_ context.Context, r *http.Request) metadata.MD {
	if a := r.Header.Get(ClientAddressHeader); a != "" {
		return metadata.Pairs("gemella-client-address", a)
	}
	return nil
}

func forwardedHeader(key string) (string, bool) {
	switch k := strings.ToLower(key); k {
	case "if-match", "x-request-id", "accept-language":
		return k, true
	}
	return "", false
}

// jsonMarshaler reads and writes proto messages as JSON with the proto field
// names (as the OpenAPI document does), writes every scalar and list even
// when empty but leaves unset messages out (the document declares them as
// objects, not null), and refuses unknown fields.
// Answers seen before are written from a cache of their JSON (encodedCache).
type jsonMarshaler struct {
	*runtime.JSONPb
	cache *encodedCache
}

func newJSONMarshaler() jsonMarshaler {
	return jsonMarshaler{JSONPb: &runtime.JSONPb{
		MarshalOptions:   protojson.MarshalOptions{UseProtoNames: true, EmitDefaultValues: true},
		UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: false},
	}, cache: newEncodedCache(encodedCacheBytes, encodedEntryBytes)}
}

// Marshal writes a message's JSON, from the cache when the same message
// was written before. grpc-gateway writes the bytes and keeps none.
func (m jsonMarshaler) Marshal(v any) ([]byte, error) {
	msg, ok := v.(proto.Message)
	if !ok || m.cache == nil {
		return m.JSONPb.Marshal(v)
	}
	return m.cache.marshal(msg, m.JSONPb)
}

// NewDecoder prefixes decoding errors so that the 400 a client gets says the
// body is at fault.
func (m jsonMarshaler) NewDecoder(r io.Reader) runtime.Decoder {
	d := m.JSONPb.NewDecoder(r)
	return runtime.DecoderFunc(func(v any) error {
		err := d.Decode(v)
		if err == nil || errors.Is(err, io.EOF) {
			return err
		}
		// The strict input check has seen the body first, so this is rare
		// (a value protojson reads differently); its words stay inside.
		return fmt.Errorf("invalid JSON body: %s", cleanMessage(err.Error()))
	})
}
