package search

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// reopenDirEnv tells the re-executed test binary which index to open.
const reopenDirEnv = "GEMELLA_SEARCH_REOPEN_TEST_DIR"

// Bleve's registry of token filters is global to a process: a test that
// reopens an index in the process that built it finds the filters
// already registered. A new process opens the index before it builds any
// mapping, so this test runs the reopening in a child process, which is
// what happens at every restart of a service.
func TestANewProcessReopensTheIndexFromDisk(t *testing.T) {
	if dir := os.Getenv(reopenDirEnv); dir != "" {
		reopenInThisProcess(t, dir)
		return
	}
	dir := filepath.Join(t.TempDir(), "idx")
	s, err := OpenStore(StoreConfig{Dir: dir, Schema: "test"})
	if err != nil {
		t.Fatal(err)
	}
	all := func(ctx context.Context, yield func(Document) error) error {
		for _, d := range testDocs() {
			if err := yield(d); err != nil {
				return err
			}
		}
		return nil
	}
	if _, err := s.load(context.Background(), all, State{Sequence: 7, Stream: "x"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestANewProcessReopensTheIndexFromDisk$", "-test.v")
	cmd.Env = append(os.Environ(), reopenDirEnv+"="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the new process did not reopen the index: %v\n%s", err, out)
	}
}

func reopenInThisProcess(t *testing.T, dir string) {
	s, err := OpenStore(StoreConfig{Dir: dir, Schema: "test"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if st, _ := s.State(); s.fresh || st.Sequence != 7 {
		t.Fatalf("the index on disk was rebuilt: fresh %v, state %+v", s.fresh, st)
	}
	res, err := s.Search(context.Background(), Query{Text: "competenza"})
	if err != nil || res.Total != 1 || res.Hits[0].ID != "tw:1" {
		t.Fatalf("search after reopening: %+v %v", res, err)
	}
}
