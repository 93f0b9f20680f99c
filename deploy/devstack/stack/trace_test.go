package stack

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/protobuf/proto"

	catalogv1 "github.com/gemella/gemella/proto/gemella/catalog/v1"
	eventsv1 "github.com/gemella/gemella/proto/gemella/events/v1"
	twinningv1 "github.com/gemella/gemella/proto/gemella/twinning/v1"
	"github.com/gemella/gemella/services/platform/auth"
	"github.com/gemella/gemella/services/platform/grpcx"
	"github.com/gemella/gemella/services/platform/servicekit"
	catalog "github.com/gemella/gemella/services/practice-catalog/service"
	twinning "github.com/gemella/gemella/services/twinning/service"
)

// recorded holds every span the package's stacks end. A process has one
// tracing (servicekit sets it up with the first service), so it is
// installed for the whole package, before any test starts a stack; the
// trace test picks its spans out by trace id.
var recorded = tracetest.NewInMemoryExporter()

// ours keeps the spans of named tracers: the embedded FerretDB traces
// every query it serves with otel.Tracer(""), dozens a second, which the
// tests do not look at and need not hold in memory.
type ours struct{ sdktrace.SpanExporter }

func (o ours) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	kept := spans[:0:0]
	for _, s := range spans {
		if s.InstrumentationScope().Name != "" {
			kept = append(kept, s)
		}
	}
	return o.SpanExporter.ExportSpans(ctx, kept)
}

func TestMain(m *testing.M) {
	if !servicekit.UseTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSyncer(ours{recorded}))) {
		fmt.Fprintln(os.Stderr, "tracing was set up before the tests could record it")
		os.Exit(2)
	}
	os.Exit(m.Run())
}

// One request through the gateway is one trace: the gateway's HTTP span,
// its gRPC call to the twinning service, the twinning service's span, the
// event it writes (the envelope's traceparent and the NATS headers) and
// the discussion service's consumer that opens the approved twinning's
// thread. The request id goes the same way, into the event and the
// consumer. The catalog's events carry a traceparent, and the gateway's
// metrics count the request by route.
func TestOneTraceFromTheGatewayToAnotherServicesConsumer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole stack")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	st := startForTest(ctx, t, t.TempDir(), false)

	// Two organisations and a proposed twinning between them, over gRPC.
	asAdmin, err := st.loader.context(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	cat := catalogClient(t, st.CatalogAddr())
	var orgIDs []string
	for _, name := range []string{"Traced Region", "Traced Town"} {
		org, err := cat.CreateOrganization(asAdmin, &catalogv1.CreateOrganizationRequest{
			RequestId: "trace-test-" + strings.ReplaceAll(name, " ", "-"),
			Organization: &catalogv1.Organization{Name: name, Kind: catalogv1.OrganizationKind_ORGANIZATION_KIND_REGION,
				Territory: &catalogv1.Territory{Code: "ITI1", Name: "Toscana"}},
		})
		if err != nil {
			t.Fatalf("create organisation %s: %v", name, err)
		}
		orgIDs = append(orgIDs, org.GetId())
	}
	asStaff, err := st.loader.context(ctx, orgIDs)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := grpcx.Dial(st.URLs().Twinning, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	tw := twinningv1.NewTwinningServiceClient(conn)
	created, err := tw.CreateTwinning(asStaff, &twinningv1.CreateTwinningRequest{RequestId: "trace-test-twinning", Twinning: &twinningv1.Twinning{
		Code: "TRACE", Title: "A traced twinning", Summary: "Followed from the gateway to the discussion service.",
		Origin:                  twinningv1.Origin_ORIGIN_DIRECT,
		Objectives:              []*twinningv1.Objective{{Level: "regional", Text: "One trace across the services."}},
		OfferingOrganizationIds: orgIDs[:1], ReceivingOrganizationIds: orgIDs[1:], StartDate: "2026-01-15",
	}})
	if err != nil {
		t.Fatalf("create twinning: %v", err)
	}
	proposed, err := tw.ProposeTwinning(asStaff, &twinningv1.TransitionTwinningRequest{Id: created.GetId(), Etag: created.GetEtag()})
	if err != nil {
		t.Fatalf("propose twinning: %v", err)
	}

	// The approval, through the gateway, with a request id of ours.
	token, _, err := st.loader.issuer.Issue(auth.Caller{MemberID: LoaderMemberID, DisplayName: loaderName,
		Roles: []string{auth.RoleMember, auth.RoleEditor, auth.RoleCoordinator}, Organizations: orgIDs})
	if err != nil {
		t.Fatal(err)
	}
	const requestID = "trace-test-approve"
	approvePath := "/v1/twinnings/" + created.GetId() + ":approve"
	status, body := httpCall(ctx, t, http.MethodPost, st.GatewayURL()+approvePath, token, requestID, `{"etag":`+strconv.Quote(proposed.GetEtag())+`}`)
	if status != http.StatusOK {
		t.Fatalf("POST %s: %d %s", approvePath, status, body)
	}

	gatewaySpan := waitForSpan(ctx, t, "the gateway's span of the request", func(s tracetest.SpanStub) bool {
		return s.SpanKind == trace.SpanKindServer && hasAttribute(s, "gemella.request_id", requestID)
	})
	traceID := gatewaySpan.SpanContext.TraceID()
	consumerSpan := waitForSpan(ctx, t, "the discussion consumer's span", func(s tracetest.SpanStub) bool {
		return s.SpanKind == trace.SpanKindConsumer && s.Name == "consume twinning.twinning.approved" && s.SpanContext.TraceID() == traceID
	})
	if consumerSpan.Status.Code == codes.Error {
		t.Errorf("the consumer's span ended in error: %s", consumerSpan.Status.Description)
	}
	if !hasAttribute(consumerSpan, "gemella.request_id", requestID) {
		t.Errorf("the consumer's span has no request id %q: %v", requestID, consumerSpan.Attributes)
	}
	// Each hop is the child of the one before: the gateway's HTTP span, its
	// gRPC call, the twinning service's span of that call, whose context
	// the event carried to the consumer.
	const approveRPC = "gemella.twinning.v1.TwinningService/ApproveTwinning"
	parent := gatewaySpan
	for _, want := range []struct {
		what string
		kind trace.SpanKind
		name string
	}{
		{"the gateway's call", trace.SpanKindClient, approveRPC},
		{"the twinning service's span", trace.SpanKindServer, approveRPC},
	} {
		child, ok := findSpan(func(s tracetest.SpanStub) bool {
			return s.SpanContext.TraceID() == traceID && s.SpanKind == want.kind && s.Name == want.name
		})
		if !ok {
			t.Fatalf("trace %s has no span of %s (%s %s)", traceID, want.what, want.kind, want.name)
		}
		if child.Parent.SpanID() != parent.SpanContext.SpanID() {
			t.Errorf("%s (%s) is not a child of %q", want.what, child.Name, parent.Name)
		}
		parent = child
	}
	if consumerSpan.Parent.SpanID() != parent.SpanContext.SpanID() || !consumerSpan.Parent.IsRemote() {
		t.Errorf("the consumer's span is not a remote child of the twinning service's span")
	}

	// The event itself, as the stream keeps it.
	js := jetStream(t, st.NATSURL())
	msg := lastMessage(ctx, t, js, twinning.StreamName, "twinning.twinning.approved")
	if got := msg.Header.Get("traceparent"); !strings.Contains(got, traceID.String()) {
		t.Errorf("the event's NATS traceparent header is %q, want one of trace %s", got, traceID)
	}
	var env eventsv1.Envelope
	if err := proto.Unmarshal(msg.Data, &env); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(env.GetTraceparent(), traceID.String()) {
		t.Errorf("the envelope's traceparent is %q, want one of trace %s", env.GetTraceparent(), traceID)
	}
	if env.GetRequestId() != requestID {
		t.Errorf("the envelope's request id is %q, want %q", env.GetRequestId(), requestID)
	}

	// What `make run` shows too: the catalog's events carry a traceparent
	// (here of the organisations created above).
	orgEvent := lastMessage(ctx, t, js, catalog.StreamName, "catalog.organisation.created")
	if err := proto.Unmarshal(orgEvent.Data, &env); err != nil {
		t.Fatal(err)
	}
	if len(env.GetTraceparent()) != len("00-")+32+1+16+len("-01") {
		t.Errorf("a CATALOG event's traceparent is %q, want a W3C traceparent", env.GetTraceparent())
	}

	// And the gateway's /metrics counts the request by its route.
	if n := httpRequestsCounted(ctx, t, st.GatewayURL(), "/v1/twinnings/{id}:approve", "POST", "200"); n < 1 {
		t.Errorf("gemella_http_requests_total for the approval = %v, want at least 1", n)
	}
}

func httpCall(ctx context.Context, t *testing.T, method, url, token, requestID, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if requestID != "" {
		req.Header.Set("X-Request-Id", requestID)
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw)
}

// waitForSpan waits for an ended span that match accepts.
func waitForSpan(ctx context.Context, t *testing.T, what string, match func(tracetest.SpanStub) bool) tracetest.SpanStub {
	t.Helper()
	for {
		for _, s := range recorded.GetSpans() {
			if match(s) {
				return s
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("no %s among %d recorded spans", what, len(recorded.GetSpans()))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func findSpan(match func(tracetest.SpanStub) bool) (tracetest.SpanStub, bool) {
	for _, s := range recorded.GetSpans() {
		if match(s) {
			return s, true
		}
	}
	return tracetest.SpanStub{}, false
}

func hasAttribute(s tracetest.SpanStub, key, value string) bool {
	for _, kv := range s.Attributes {
		if kv.Key == attribute.Key(key) && kv.Value.AsString() == value {
			return true
		}
	}
	return false
}

func jetStream(t *testing.T, url string) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatalf("connect to nats: %v", err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// lastMessage waits until the relay has put an event on subject and
// returns the last one.
func lastMessage(ctx context.Context, t *testing.T, js jetstream.JetStream, stream, subject string) *jetstream.RawStreamMsg {
	t.Helper()
	for {
		s, err := js.Stream(ctx, stream)
		if err == nil {
			var msg *jetstream.RawStreamMsg
			if msg, err = s.GetLastMsgForSubject(ctx, subject); err == nil {
				return msg
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("no %s event on stream %s: %v", subject, stream, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// httpRequestsCounted reads the gateway's gemella_http_requests_total of
// one route, method and code from /metrics.
func httpRequestsCounted(ctx context.Context, t *testing.T, gatewayURL, route, method, code string) float64 {
	t.Helper()
	status, body := httpCall(ctx, t, http.MethodGet, gatewayURL+"/metrics", "", "", "")
	if status != http.StatusOK {
		t.Fatalf("GET /metrics: %d", status)
	}
	labels := []string{`code="` + code + `"`, `method="` + method + `"`, `route="` + route + `"`}
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "gemella_http_requests_total{") {
			continue
		}
		all := true
		for _, l := range labels {
			all = all && strings.Contains(line, l)
		}
		if !all {
			continue
		}
		n, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		return n
	}
	return 0
}
