package server

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"google.golang.org/grpc"

	catalogv1 "github.com/gemella/gemella/proto/gemella/catalog/v1"
)

// benchCatalog answers GetPractice with a practice of the size of the demo
// data (about 1.8 KB of JSON), as make bench's pair (a) does.
type benchCatalog struct {
	stubCatalog
}

var benchPractice = &catalogv1.Practice{
	Id:                   "p-bench",
	Slug:                 "laboratori-territoriali-per-l-occupabilita",
	Title:                "Laboratori territoriali per l'occupabilità",
	Summary:              "Scuole, imprese e centri per l'impiego progettano insieme percorsi brevi che portano i giovani dalla formazione al lavoro.",
	Description:          strings.Repeat("Il percorso alterna aula e impresa; ogni gruppo ha un tutor scolastico e uno aziendale. ", 4),
	OwnerOrganizationIds: []string{"o-1"},
	Themes:               []string{"occupabilità", "alternanza scuola-lavoro"},
	Sectors:              []string{"meccanica", "turismo"},
	Territory:            &catalogv1.Territory{Code: "ITI1", Name: "Toscana"},
	Problem:              "Molti diplomati non trovano lavoro nel settore per cui si sono formati.",
	Results:              "Due terzi dei partecipanti hanno un contratto entro sei mesi.",
	StartDate:            "2019-09-01",
	Ongoing:              true,
	Languages:            []string{"it", "en"},
	Status:               catalogv1.PracticeStatus_PRACTICE_STATUS_PUBLISHED,
	Etag:                 `"3"`,
	Models: []*catalogv1.Model{
		{Code: "A", Title: "Co-progettazione scuola-impresa", Description: "Un tavolo stabile decide i contenuti dei moduli."},
	},
}

func (benchCatalog) GetPractice(context.Context, *catalogv1.GetPracticeRequest) (*catalogv1.Practice, error) {
	return benchPractice, nil
}

func newBenchGateway(b *testing.B) http.Handler {
	b.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	g := grpc.NewServer()
	catalogv1.RegisterCatalogServiceServer(g, benchCatalog{})
	go func() { _ = g.Serve(lis) }()
	b.Cleanup(g.Stop)
	cfg := DefaultConfig()
	cfg.CatalogAddr = lis.Addr().String()
	cfg.TwinningAddr, cfg.DiscussionAddr, cfg.NATSURL = BackendDisabled, BackendDisabled, BackendDisabled
	srv, err := New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelError})))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = srv.Close() })
	return srv.Handler()
}

// BenchmarkGetPractice is a REST GET of a practice through the whole
// handler (middleware, grpc-gateway, a real gRPC call on loopback to a
// backend that answers at once), without the HTTP server around it.
func BenchmarkGetPractice(b *testing.B) {
	h := newBenchGateway(b)
	get := func(header http.Header) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, "/v1/practices/p-bench", nil)
		for k, v := range header {
			req.Header[k] = v
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	first := get(nil)
	if first.Code != http.StatusOK {
		b.Fatalf("status %d: %s", first.Code, first.Body)
	}
	b.Run("200", func(b *testing.B) {
		b.ReportAllocs()
		b.SetParallelism(8)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if rec := get(nil); rec.Code != http.StatusOK {
					b.Errorf("status %d", rec.Code)
					return
				}
			}
		})
	})
	b.Run("304", func(b *testing.B) {
		b.ReportAllocs()
		inm := http.Header{"If-None-Match": {first.Header().Get("ETag")}}
		for b.Loop() {
			if rec := get(inm); rec.Code != http.StatusNotModified {
				b.Fatalf("status %d", rec.Code)
			}
		}
	})
}
