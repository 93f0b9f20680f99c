package adapters

import (
	"context"
	"fmt"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/gemella/gemella/services/platform/mongox"
	"github.com/gemella/gemella/services/platform/mongox/mongoxtest"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/practice"
)

// The receiving organisations of a practice's figures are read from one
// summary document by _id once it is complete; a missing summary is
// built from the parties, and a practice with too many receivers to keep
// in one document is read from its parties.
func TestReceiversComeFromTheirSummary(t *testing.T) {
	ctx := context.Background()
	for _, server := range mongoxtest.Servers(t) {
		t.Run(server.Name, func(t *testing.T) {
			db, cfg := server.Database(t)
			if err := EnsureIndexes(ctx, db); err != nil {
				t.Fatal(err)
			}
			repo := NewMongoRepositories(db, mongox.StoreOptions{Locks: mongox.DocLocks(cfg)}).Practices
			for _, id := range []string{"p1", "p2"} {
				if err := repo.Create(ctx, newPractice(t, id, "Practice "+id, t0)); err != nil {
					t.Fatal(err)
				}
			}
			record := func(practiceID, transfer, model, to string, version int64) {
				t.Helper()
				if _, err := repo.RecordTransfer(ctx, practiceID, transferRecord(transfer, "tw-"+transfer, model, to, practice.TransferInProgress, version)); err != nil {
					t.Fatal(err)
				}
			}
			read := func(ids ...string) map[string]practice.Receivers {
				t.Helper()
				got, err := repo.Receivers(ctx, ids)
				if err != nil {
					t.Fatal(err)
				}
				return got
			}
			show := func(r practice.Receivers) string { return fmt.Sprint(r.Practice, r.Models) }
			record("p1", "t1", "A", "calabria", 2)
			record("p1", "t2", "B", "puglia", 2)
			record("p2", "t3", "A", "vibo", 2)
			want1, want2 := "[calabria puglia] map[A:[calabria] B:[puglia]]", "[vibo] map[A:[vibo]]"
			// The first read builds the summaries from the parties.
			if got := read("p1", "p2", "unknown"); show(got["p1"]) != want1 || show(got["p2"]) != want2 || len(got) != 2 {
				t.Fatalf("first read: %v", got)
			}
			// The next reads use them: with the parties gone, nothing changes.
			if _, err := db.Collection(AdoptionPartiesCollection).DeleteMany(ctx, bson.D{{Key: "kind", Value: partyReceiver}}); err != nil {
				t.Fatal(err)
			}
			if got := read("p1"); show(got["p1"]) != want1 {
				t.Fatalf("from the summary: %v", got)
			}
			// A first record after the summary is complete joins it.
			record("p1", "t4", "A", "lazio", 2)
			if got := read("p1", "p2"); show(got["p1"]) != "[calabria lazio puglia] map[A:[calabria lazio] B:[puglia]]" || show(got["p2"]) != want2 {
				t.Fatalf("after a new receiver: %v", got)
			}
			// A lost summary is built again from the parties (here only
			// lazio's are left).
			if _, err := db.Collection(AdoptionReceiversCollection).DeleteOne(ctx, bson.D{{Key: "_id", Value: "p1"}}); err != nil {
				t.Fatal(err)
			}
			if got := read("p1"); show(got["p1"]) != "[lazio] map[A:[lazio]]" {
				t.Fatalf("rebuilt: %v", got)
			}

			// Too many receivers for one document: the practice is read
			// from its parties, and its summary holds no entries.
			defer func(n int) { maxReceiverEntries = n }(maxReceiverEntries)
			maxReceiverEntries = 6
			for i := range 4 {
				record("p2", fmt.Sprintf("m%d", i), "C", fmt.Sprintf("org-%d", i), 2)
			}
			got := read("p2")
			if len(got["p2"].Practice) != 4 || len(got["p2"].Models["C"]) != 4 { // vibo's parties were deleted above
				t.Fatalf("overflowing practice: %v", show(got["p2"]))
			}
			var sum receiversDoc
			if err := db.Collection(AdoptionReceiversCollection).FindOne(ctx, bson.D{{Key: "_id", Value: "p2"}}).Decode(&sum); err != nil {
				t.Fatal(err)
			}
			if !sum.Overflow || len(sum.Entries) > maxReceiverEntries {
				t.Fatalf("overflowing summary: %+v", sum)
			}
		})
	}
}
