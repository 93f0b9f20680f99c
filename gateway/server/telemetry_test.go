package server

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	catalogv1 "github.com/gemella/gemella/proto/gemella/catalog/v1"
	"github.com/gemella/gemella/services/platform/config"
	"github.com/gemella/gemella/services/platform/grpcx"
	"github.com/gemella/gemella/services/platform/telemetry"
)

// startInstrumentedGateway runs the gateway with mutate's configuration and
// opts; the test's cleanup stops it.
func startInstrumentedGateway(t *testing.T, mutate func(*Config), opts ...Option) (*Server, string) {
	t.Helper()
	cfg := DefaultConfig()
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.TwinningAddr, cfg.DiscussionAddr, cfg.NotificationAddr, cfg.NATSURL = BackendDisabled, BackendDisabled, BackendDisabled, BackendDisabled
	mutate(&cfg)
	srv, err := New(context.Background(), cfg, slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})), opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := srv.Listen(); err != nil {
		t.Fatalf("Listen: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		if err := srv.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return srv, "http://" + srv.Addr()
}

// endSignal tells the test each time a span ends, so it can wait for the
// spans that end after the answer was sent.
type endSignal struct {
	sdktrace.SpanProcessor
	ended chan struct{}
}

func (e endSignal) OnEnd(s sdktrace.ReadOnlySpan) {
	e.SpanProcessor.OnEnd(s)
	e.ended <- struct{}{}
}

func waitForSpans(t *testing.T, e endSignal, n int) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for i := 0; i < n; i++ {
		select {
		case <-e.ended:
		case <-timeout:
			t.Fatalf("only %d of %d spans ended within 10s", i, n)
		}
	}
}

// tracedCatalog is the stub catalog noting what an event written in its
// handler would carry.
type tracedCatalog struct {
	stubCatalog
	saw chan<- [2]string
}

func (c tracedCatalog) GetPractice(ctx context.Context, req *catalogv1.GetPracticeRequest) (*catalogv1.Practice, error) {
	c.saw <- [2]string{telemetry.Traceparent(ctx), grpcx.RequestID(ctx)}
	return c.stubCatalog.GetPractice(ctx, req)
}

// startGRPCXCatalog runs catalog on a real grpcx server, traced by tp.
func startGRPCXCatalog(t *testing.T, tp trace.TracerProvider, catalog catalogv1.CatalogServiceServer) string {
	t.Helper()
	srv, err := grpcx.NewServer(grpcx.ServerOptions{
		Name: "catalog", Config: config.GRPCServer{Addr: "127.0.0.1:0", DefaultDeadline: 5 * time.Second},
		Logger:         slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})),
		TracerProvider: tp,
	})
	if err != nil {
		t.Fatal(err)
	}
	catalogv1.RegisterCatalogServiceServer(srv.GRPC(), catalog)
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("catalog: %v", err)
		}
	})
	return srv.Addr()
}

// TestOneTraceFromTheHTTPRequestIntoTheService: the gateway's request
// span, its gRPC client span and the catalog's server span share one
// trace, each the parent of the next, and the catalog's handler reads the
// traceparent and the request id an event would carry.
func TestOneTraceFromTheHTTPRequestIntoTheService(t *testing.T) {
	recorder := tracetest.NewSpanRecorder()
	signal := endSignal{SpanProcessor: recorder, ended: make(chan struct{}, 16)}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(signal))
	saw := make(chan [2]string, 1)
	backend := startGRPCXCatalog(t, tp, tracedCatalog{saw: saw})
	_, base := startInstrumentedGateway(t, func(c *Config) { c.CatalogAddr = backend }, WithTracerProvider(tp))

	// A client's own traceparent is kept as a link, not continued: the
	// gateway is the public edge (GEMELLA_TRUST_PROXY_HEADERS is off).
	const clientTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
	r := do(t, http.MethodGet, base+"/v1/practices/p1", map[string]string{
		"X-Request-Id": "trace-me-1",
		"Traceparent":  "00-" + clientTrace + "-00f067aa0ba902b7-01",
	}, nil)
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	waitForSpans(t, signal, 3)
	inService := <-saw

	byKind := map[trace.SpanKind][]sdktrace.ReadOnlySpan{}
	for _, s := range recorder.Ended() {
		byKind[s.SpanKind()] = append(byKind[s.SpanKind()], s)
	}
	if len(byKind[trace.SpanKindServer]) != 2 || len(byKind[trace.SpanKindClient]) != 1 {
		t.Fatalf("spans by kind: %v, want two server spans and one client span", byKind)
	}
	var httpSpan, grpcSpan sdktrace.ReadOnlySpan
	for _, s := range byKind[trace.SpanKindServer] {
		if s.Parent().IsValid() && !s.Parent().IsRemote() {
			t.Errorf("server span %q has a local parent", s.Name())
		}
		if s.Name() == "GET /v1/practices/{id}" {
			httpSpan = s
		} else {
			grpcSpan = s
		}
	}
	clientSpan := byKind[trace.SpanKindClient][0]
	if httpSpan == nil {
		t.Fatalf("no gateway span named by its route; server spans %q and %q",
			byKind[trace.SpanKindServer][0].Name(), byKind[trace.SpanKindServer][1].Name())
	}
	traceID := httpSpan.SpanContext().TraceID()
	if traceID.String() == clientTrace || httpSpan.Parent().IsValid() {
		t.Errorf("the gateway continued the client's trace %s; want a new root", clientTrace)
	}
	if links := httpSpan.Links(); len(links) != 1 || links[0].SpanContext.TraceID().String() != clientTrace {
		t.Errorf("gateway span links %v, want one to the client's trace", links)
	}
	for _, s := range []sdktrace.ReadOnlySpan{clientSpan, grpcSpan} {
		if s.SpanContext().TraceID() != traceID {
			t.Errorf("span %q is in trace %s, want the request's %s", s.Name(), s.SpanContext().TraceID(), traceID)
		}
	}
	if clientSpan.Parent().SpanID() != httpSpan.SpanContext().SpanID() {
		t.Errorf("the gRPC client span is not a child of the HTTP request span")
	}
	if grpcSpan.Parent().SpanID() != clientSpan.SpanContext().SpanID() {
		t.Errorf("the catalog's span is not a child of the gateway's call")
	}
	if grpcSpan.Name() != "gemella.catalog.v1.CatalogService/GetPractice" {
		t.Errorf("catalog span named %q", grpcSpan.Name())
	}
	if want := "00-" + traceID.String() + "-" + grpcSpan.SpanContext().SpanID().String() + "-01"; inService[0] != want {
		t.Errorf("the catalog's handler read traceparent %q, want %q", inService[0], want)
	}
	if inService[1] != "trace-me-1" {
		t.Errorf("the catalog's handler read request id %q, want trace-me-1", inService[1])
	}
	var route, requestID string
	for _, a := range httpSpan.Attributes() {
		switch a.Key {
		case "http.route":
			route = a.Value.AsString()
		case "gemella.request_id":
			requestID = a.Value.AsString()
		}
	}
	if route != "/v1/practices/{id}" || requestID != "trace-me-1" {
		t.Errorf("gateway span http.route %q, gemella.request_id %q", route, requestID)
	}
}

// TestATrustedProxysTraceIsContinued: behind a proxy trusted with the
// forwarded headers, the gateway's span joins the proxy's trace.
func TestATrustedProxysTraceIsContinued(t *testing.T) {
	recorder := tracetest.NewSpanRecorder()
	signal := endSignal{SpanProcessor: recorder, ended: make(chan struct{}, 16)}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(signal))
	backend, _ := startBackend(t)
	_, base := startInstrumentedGateway(t, func(c *Config) { c.CatalogAddr = backend; c.TrustProxyHeaders = true }, WithTracerProvider(tp))
	const proxyTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
	if r := do(t, http.MethodGet, base+"/v1/practices/p1", map[string]string{"Traceparent": "00-" + proxyTrace + "-00f067aa0ba902b7-01"}, nil); r.status != http.StatusOK {
		t.Fatalf("status %d", r.status)
	}
	waitForSpans(t, signal, 2) // the request and its call (the stub backend is not traced)
	for _, s := range recorder.Ended() {
		if s.SpanContext().TraceID().String() != proxyTrace {
			t.Errorf("span %q in trace %s, want the proxy's %s", s.Name(), s.SpanContext().TraceID(), proxyTrace)
		}
	}
}

func scrape(t *testing.T, url string) string {
	t.Helper()
	r := do(t, http.MethodGet, url, nil, nil)
	if r.status != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, r.status, r.body)
	}
	return string(r.body)
}

// metricLine finds the sample of name with exactly labels (in the
// exposition's sorted order) and returns its value, or "".
func metricLine(body, name, labels string) string {
	prefix := name + "{" + labels + "} "
	for _, line := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(line, prefix); ok {
			return v
		}
	}
	return ""
}

// TestHTTPMetricsMoveWithTraffic: each answer counts under its route
// pattern, method and code, the raw path never becomes a label, and the
// series move when more requests come.
func TestHTTPMetricsMoveWithTraffic(t *testing.T) {
	backend, _ := startBackend(t)
	_, base := startInstrumentedGateway(t, func(c *Config) { c.CatalogAddr = backend })

	for _, path := range []string{"/v1/practices/p1", "/v1/practices/p2", "/v1/practices/notfound", "/v1/nothing-here"} {
		do(t, http.MethodGet, base+path, nil, nil)
	}
	do(t, http.MethodPost, base+"/v1/practices/p1:publish", nil, strings.NewReader(`{}`))
	do(t, "BREW", base+"/v1/practices/p1", nil, nil)
	body := scrape(t, base+"/metrics")

	for _, want := range []struct{ name, labels, value string }{
		{"gemella_http_requests_total", `code="200",method="GET",route="/v1/practices/{id}"`, "2"},
		{"gemella_http_requests_total", `code="404",method="GET",route="/v1/practices/{id}"`, "1"},
		{"gemella_http_requests_total", `code="404",method="GET",route="unmatched"`, "1"},
		{"gemella_http_requests_total", `code="501",method="POST",route="/v1/practices/{id}:publish"`, "1"},
		{"gemella_http_request_duration_seconds_count", `method="GET",route="/v1/practices/{id}"`, "3"},
	} {
		if got := metricLine(body, want.name, want.labels); got != want.value {
			t.Errorf("%s{%s} = %q, want %s", want.name, want.labels, got, want.value)
		}
	}
	if !strings.Contains(body, `method="OTHER"`) {
		t.Errorf("an unknown method is not counted as OTHER")
	}
	for _, raw := range []string{`route="/v1/practices/p1"`, `route="/v1/practices/notfound"`, `route="/v1/nothing-here"`, `method="BREW"`} {
		if strings.Contains(body, raw) {
			t.Errorf("metrics carry the unbounded label %s", raw)
		}
	}

	do(t, http.MethodGet, base+"/v1/practices/p3", nil, nil)
	do(t, http.MethodGet, base+"/healthz", nil, nil)
	body = scrape(t, base+"/metrics")
	if got := metricLine(body, "gemella_http_requests_total", `code="200",method="GET",route="/v1/practices/{id}"`); got != "3" {
		t.Errorf("after one more request the counter is %q, want 3", got)
	}
	if got := metricLine(body, "gemella_http_requests_total", `code="200",method="GET",route="/healthz"`); got != "1" {
		t.Errorf("/healthz counted %q, want 1", got)
	}
}

// TestMetricsOnTheirOwnListener: with GEMELLA_GATEWAY_METRICS_ADDR set the
// metrics leave the public listener.
func TestMetricsOnTheirOwnListener(t *testing.T) {
	backend, _ := startBackend(t)
	srv, base := startInstrumentedGateway(t, func(c *Config) { c.CatalogAddr = backend; c.MetricsAddr = "127.0.0.1:0" })
	do(t, http.MethodGet, base+"/v1/practices/p1", nil, nil)
	if srv.MetricsAddr() == "" {
		t.Fatal("no metrics listener bound")
	}
	body := scrape(t, "http://"+srv.MetricsAddr()+"/metrics")
	if got := metricLine(body, "gemella_http_requests_total", `code="200",method="GET",route="/v1/practices/{id}"`); got != "1" {
		t.Errorf("metrics listener: counter %q, want 1", got)
	}
	if r := do(t, http.MethodGet, base+"/metrics", nil, nil); r.status == http.StatusOK && strings.Contains(string(r.body), "gemella_http_requests_total") {
		t.Errorf("the public listener still serves the metrics")
	}
}

func TestMetricsAddrIsValidated(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MetricsAddr = "no-port"
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "GEMELLA_GATEWAY_METRICS_ADDR") {
		t.Errorf("a bad metrics address: %v", err)
	}
	cfg.MetricsAddr = cfg.HTTPAddr
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "must differ") {
		t.Errorf("the metrics address equal to the HTTP one: %v", err)
	}
}

// freeAddr is a loopback address where nothing listens.
func freeAddr(t *testing.T) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	if err := lis.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// TestABackendDownLeavesTheGatewayReady: one backend was never up and
// another stops; the gateway stays ready, its working routes answer, and
// the routes of the backends that are down answer 503 UNAVAILABLE at once,
// not 504 after the request deadline, which is set far beyond the test's
// other waits so that waiting for it could not pass for a 503.
func TestABackendDownLeavesTheGatewayReady(t *testing.T) {
	catalog, stopCatalog := startBackend(t)
	_, base := startInstrumentedGateway(t, func(c *Config) {
		c.CatalogAddr = catalog
		c.TwinningAddr = freeAddr(t)
		c.RequestTimeout = 2 * time.Minute
	})
	patient := &http.Client{Timeout: 5 * time.Minute}
	get := func(path string) response {
		t.Helper()
		resp, err := patient.Get(base + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return response{status: resp.StatusCode, header: resp.Header, body: b}
	}
	unavailable := func(step, path string) {
		t.Helper()
		r := get(path)
		if r.status != http.StatusServiceUnavailable {
			t.Fatalf("%s: GET %s = %d, want 503; body %s", step, path, r.status, r.body)
		}
		if got := decodeError(t, r); got.Status != "UNAVAILABLE" {
			t.Errorf("%s: error.status %q, want UNAVAILABLE", step, got.Status)
		}
	}

	if r := get("/readyz"); r.status != http.StatusOK || strings.TrimSpace(string(r.body)) != `{"status":"ready"}` {
		t.Errorf("readyz with twinning down: %d %s", r.status, r.body)
	}
	if r := get("/readyz?verbose"); r.status != http.StatusOK ||
		strings.TrimSpace(string(r.body)) != `{"status":"ready","backends":{"catalog":"SERVING","twinning":"UNREACHABLE"}}` {
		t.Errorf("readyz?verbose: %d %s", r.status, r.body)
	}
	unavailable("twinning never started", "/v1/twinnings/t1")
	unavailable("twinning, asked again", "/v1/twinnings/t1")
	if r := get("/v1/practices/p1"); r.status != http.StatusOK {
		t.Errorf("the catalog's route while twinning is down: %d %s", r.status, r.body)
	}

	stopCatalog()
	// p1's answer may still come from the cache of anonymous reads for
	// a moment (GEMELLA_GATEWAY_PUBLIC_CACHE_TTL): ask for another one.
	unavailable("catalog stopped", "/v1/practices/p2")
	unavailable("catalog, asked again", "/v1/practices/p2")
	if r := get("/readyz"); r.status != http.StatusOK {
		t.Errorf("readyz with every backend down: %d %s", r.status, r.body)
	}
}

// TestAFailedRequestsSpanSaysSo: a 5xx answer leaves an error status and
// the status code on the gateway's span, a 4xx only the code; probes are
// not traced.
func TestAFailedRequestsSpanSaysSo(t *testing.T) {
	recorder := tracetest.NewSpanRecorder()
	signal := endSignal{SpanProcessor: recorder, ended: make(chan struct{}, 16)}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(signal))
	backend, _ := startBackend(t)
	_, base := startInstrumentedGateway(t, func(c *Config) { c.CatalogAddr = backend }, WithTracerProvider(tp))
	for _, id := range []string{"broken", "notfound"} {
		do(t, http.MethodGet, base+"/v1/practices/"+id, nil, nil)
	}
	do(t, http.MethodGet, base+"/healthz", nil, nil)
	waitForSpans(t, signal, 4) // two requests, each with its gRPC client span
	got := map[int64]codes.Code{}
	for _, s := range recorder.Ended() {
		if s.SpanKind() != trace.SpanKindServer {
			continue
		}
		if s.Name() != "GET /v1/practices/{id}" {
			t.Errorf("server span %q, want only the two practice reads", s.Name())
		}
		attrs := map[attribute.Key]attribute.Value{}
		for _, a := range s.Attributes() {
			attrs[a.Key] = a.Value
		}
		if attrs["http.request.method"].AsString() != "GET" || attrs["url.path"].AsString() == "" || attrs["http.route"].AsString() != "/v1/practices/{id}" {
			t.Errorf("span %q attributes %v", s.Name(), s.Attributes())
		}
		got[attrs["http.response.status_code"].AsInt64()] = s.Status().Code
	}
	if len(got) != 2 || got[500] != codes.Error || got[404] != codes.Unset {
		t.Errorf("status code -> span status %v, want 500 -> Error and 404 -> Unset", got)
	}
}
