package searchbench

import (
	"bytes"
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestRunReports runs the benchmark on small catalogues, so that the
// report keeps working; GEMELLA_SEARCHBENCH_SIZES=10000,100000 runs the
// real sizes (what `make bench` does through Run).
func TestRunReports(t *testing.T) {
	sizes := []int{500, 2000}
	if env := os.Getenv("GEMELLA_SEARCHBENCH_SIZES"); env != "" {
		sizes = nil
		for _, s := range strings.Split(env, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil {
				t.Fatal(err)
			}
			sizes = append(sizes, n)
		}
	}
	var out bytes.Buffer
	if err := Run(context.Background(), &out, sizes); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + out.String())
	for _, want := range []string{"indexing/s", "p99", "cold p99", "per 10,000", "where the time goes", "highlights",
		"CPU profile of the warm searches", "goal: p99 under 15ms at 100000 practices", "goal: p99 grows at most 4x"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}
