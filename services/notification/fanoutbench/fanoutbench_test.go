package fanoutbench

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestRunStoresOneNotificationPerFollower runs the bench small: it must
// store exactly one notification per follower (the figures are printed,
// not judged).
func TestRunStoresOneNotificationPerFollower(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded FerretDB")
	}
	var out bytes.Buffer
	if err := Run(context.Background(), &out, []int{300}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "stored 300\n") {
		t.Fatalf("output:\n%s", out.String())
	}
	t.Log(out.String())
}
