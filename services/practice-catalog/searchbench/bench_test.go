package searchbench

import (
	"context"
	"io"
	"log/slog"
	"math/rand"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/gemella/gemella/services/practice-catalog/internal/domain/practice"
	"github.com/gemella/gemella/services/practice-catalog/internal/search"
)

// BenchmarkQueries measures SearchPractices on a catalogue at rest.
func BenchmarkQueries(b *testing.B) {
	x, err := search.Open(search.Config{Dir: filepath.Join(b.TempDir(), "i"), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	defer x.Close()
	g := newGenerator(rand.New(rand.NewSource(1)))
	_ = x.ApplyOrganizations(g.organizations())
	var batch []*practice.Practice
	for i := 0; i < benchQueryPractices(); i++ {
		batch = append(batch, g.practice(i))
		if len(batch) == 1000 {
			if err := x.LoadPractices(batch); err != nil {
				b.Fatal(err)
			}
			batch = nil
		}
	}
	x.Settle(context.Background(), 20*time.Second)
	qs := g.queries(200)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := x.SearchPractices(context.Background(), qs[i%len(qs)]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkIndexing measures batched indexing, per practice.
func BenchmarkIndexing(b *testing.B) {
	x, err := search.Open(search.Config{Dir: filepath.Join(b.TempDir(), "i"), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	defer x.Close()
	g := newGenerator(rand.New(rand.NewSource(1)))
	_ = x.ApplyOrganizations(g.organizations())
	b.ResetTimer()
	var batch []*practice.Practice
	for i := 0; i < b.N; i++ {
		batch = append(batch, g.practice(i))
		if len(batch) == 1000 {
			if err := x.LoadPractices(batch); err != nil {
				b.Fatal(err)
			}
			batch = nil
		}
	}
}

// benchQueryPractices is the size of BenchmarkQueries' catalogue:
// GEMELLA_SEARCHBENCH_PRACTICES, 5,000 by default.
func benchQueryPractices() int {
	if n, err := strconv.Atoi(os.Getenv("GEMELLA_SEARCHBENCH_PRACTICES")); err == nil && n > 0 {
		return n
	}
	return 5000
}
