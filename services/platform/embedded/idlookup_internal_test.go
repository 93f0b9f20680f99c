package embedded

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// A database dropped while the check runs (its file gone) is no error; a
// file that is not a database is one, reported, not a panic.
func TestEnsureIDLookupsToleratesGoneFilesAndReportsBadOnes(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	if n, err := ensureIDLookupsIn(ctx, filepath.Join(dir, "dropped.sqlite")); n != 0 || err != nil {
		t.Fatalf("gone file: %d, %v; want 0, nil", n, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "dropped.sqlite")); err == nil {
		t.Fatal("the check made the file of a dropped database again")
	}
	if err := os.WriteFile(filepath.Join(dir, "junk.sqlite"), []byte("not a database, not at all, no"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ensureIDLookups(ctx, dir); err == nil {
		t.Fatal("a file that is not a database gave no error")
	}
}
