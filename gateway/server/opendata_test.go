package server

import (
	"context"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/timestamppb"

	catalogv1 "github.com/gemella/gemella/proto/gemella/catalog/v1"
)

// listingCatalog lists one published practice and one draft (as a buggy
// service might), and notes what each call carried.
type listingCatalog struct {
	catalogv1.UnimplementedCatalogServiceServer
	mu          sync.Mutex
	credentials []string
	deadlines   []time.Duration
}

func (c *listingCatalog) ListPractices(ctx context.Context, _ *catalogv1.ListPracticesRequest) (*catalogv1.ListPracticesResponse, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	deadline, _ := ctx.Deadline()
	c.mu.Lock()
	c.credentials = append(c.credentials, md.Get("authorization")...)
	c.deadlines = append(c.deadlines, time.Until(deadline))
	c.mu.Unlock()
	at := timestamppb.New(time.Date(2024, 1, 1, 9, 0, 0, 0, time.UTC))
	return &catalogv1.ListPracticesResponse{Practices: []*catalogv1.Practice{
		{Id: "p-draft", Title: "Bozza", Status: catalogv1.PracticeStatus_PRACTICE_STATUS_DRAFT, Etag: `"1"`, CreateTime: at, UpdateTime: at},
		{Id: "p-public", Title: "Tos.Ca.", Status: catalogv1.PracticeStatus_PRACTICE_STATUS_PUBLISHED, Etag: `"4"`, CreateTime: at, UpdateTime: at},
	}}, nil
}

func startListingCatalog(t *testing.T) (string, *listingCatalog) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &listingCatalog{}
	srv := grpc.NewServer()
	catalogv1.RegisterCatalogServiceServer(srv, c)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return lis.Addr().String(), c
}

// The gateway routes /opendata/ to the open data (not the portal), calls
// the services anonymously with the downloads' own deadline rather than
// the request timeout, fails with its JSON error shape, and counts the
// downloads under bounded route names.
func TestTheGatewayServesOpenData(t *testing.T) {
	addr, catalog := startListingCatalog(t)
	_, base := startInstrumentedGateway(t, func(c *Config) {
		c.CatalogAddr = addr
		c.RequestTimeout = time.Second
		c.OpenData.CallTimeout = time.Minute
	})
	r := do(t, http.MethodGet, base+"/opendata/practices.csv", map[string]string{"Authorization": "Bearer some-members-token", "Cookie": credentialCookie + "=another-token"}, nil)
	if r.status != http.StatusOK || !strings.Contains(string(r.body), "p-public") || strings.Contains(string(r.body), "p-draft") {
		t.Fatalf("GET /opendata/practices.csv: %d %q; want 200 with the published practice only", r.status, r.body)
	}
	if r.header.Get("X-Request-Id") == "" {
		t.Error("the download has no X-Request-Id: it went around the gateway's middleware")
	}
	catalog.mu.Lock()
	if len(catalog.credentials) != 0 {
		t.Errorf("the catalog received credentials %v; open data is read anonymously", catalog.credentials)
	}
	for _, d := range catalog.deadlines {
		if d < 30*time.Second {
			t.Errorf("a list call had %s left, the request timeout's; want the open data call timeout (1m)", d.Round(time.Millisecond))
		}
	}
	catalog.mu.Unlock()

	if r := do(t, http.MethodGet, base+"/opendata/", nil, nil); r.status != http.StatusOK || !strings.Contains(string(r.body), "catalog.jsonld") {
		t.Errorf("GET /opendata/: %d", r.status)
	}
	missing := do(t, http.MethodGet, base+"/opendata/nothing.csv", nil, nil)
	if missing.status != http.StatusNotFound {
		t.Fatalf("GET /opendata/nothing.csv: %d, want 404", missing.status)
	}
	if e := decodeError(t, missing); e.Status != "NOT_FOUND" {
		t.Errorf("error status %q, want NOT_FOUND", e.Status)
	}
	body := scrape(t, base+"/metrics")
	if got := metricLine(body, "gemella_http_requests_total", `code="200",method="GET",route="/opendata/{table}.{format}"`); got != "1" {
		t.Errorf("downloads counted %q under /opendata/{table}.{format}, want 1", got)
	}
	if strings.Contains(body, `route="/opendata/nothing.csv"`) {
		t.Error("a raw open data path became a metrics label")
	}
}
