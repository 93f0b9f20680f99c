package adapters

import (
	"context"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/gemella/gemella/services/platform/mongox"
	"github.com/gemella/gemella/services/platform/mongox/mongoxtest"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/practice"
)

// A practice document written before the collections beside it, with its
// history and adoption records inline, is moved at start: its revisions
// are listed, its figures are counters, and the inline copies are gone.
func TestOlderPracticeDocumentsAreMigrated(t *testing.T) {
	ctx := context.Background()
	for _, server := range mongoxtest.Servers(t) {
		t.Run(server.Name, func(t *testing.T) {
			db, cfg := server.Database(t)
			p := newPractice(t, "p1", "Legacy", t0)
			p.Version, p.Revision, p.Status = 4, 3, practice.Published
			doc, err := bson.Marshal(toPracticeDoc(p))
			if err != nil {
				t.Fatal(err)
			}
			var legacy bson.D
			if err := bson.Unmarshal(doc, &legacy); err != nil {
				t.Fatal(err)
			}
			content := toContentDoc(p.Content)
			legacy = append(legacy,
				bson.E{Key: "history", Value: bson.A{
					bson.D{{Key: "number", Value: 1}, {Key: "revised_at", Value: t0}, {Key: "revised_by", Value: "ed"}, {Key: "content", Value: content}},
					bson.D{{Key: "number", Value: 2}, {Key: "revised_at", Value: t0}, {Key: "revised_by", Value: "ed"}, {Key: "note", Value: "second"}, {Key: "content", Value: content}},
				}},
				bson.E{Key: "adoption_transfers", Value: bson.A{
					bson.D{{Key: "transfer_id", Value: "tr-1"}, {Key: "twinning_id", Value: "tw-1"}, {Key: "model_code", Value: "A"}, {Key: "receiving_organization_id", Value: "o3"}, {Key: "status", Value: "adopted"}, {Key: "version", Value: int64(7)}, {Key: "at", Value: t0}},
					bson.D{{Key: "transfer_id", Value: "tr-2"}, {Key: "twinning_id", Value: "tw-1"}, {Key: "model_code", Value: "A"}, {Key: "receiving_organization_id", Value: "o4"}, {Key: "status", Value: "in_progress"}, {Key: "version", Value: int64(4)}, {Key: "at", Value: t0}},
				}})
			if _, err := db.Collection(PracticesCollection).InsertOne(ctx, legacy); err != nil {
				t.Fatal(err)
			}
			for range 2 { // idempotent: the second start finds nothing
				if err := EnsureIndexes(ctx, db); err != nil {
					t.Fatal(err)
				}
			}
			repo := NewMongoRepositories(db, mongox.StoreOptions{Locks: mongox.DocLocks(cfg)}).Practices
			got, err := repo.Get(ctx, "p1")
			if err != nil {
				t.Fatal(err)
			}
			receivers, err := repo.Receivers(ctx, []string{"p1"})
			if err != nil {
				t.Fatal(err)
			}
			got.WithReceivers(receivers["p1"])
			if s, want := figures(got.Adoption), "twinnings=1 receivers=[o3 o4] in_progress=1 adopted=1 partially=0 dropped=0"; s != want || got.Version != 5 {
				t.Fatalf("figures %s (want %s), version %d", s, want, got.Version)
			}
			if a, _ := got.Model("A"); a.Adoption.Twinnings != 1 || a.Adoption.Adopted != 1 {
				t.Fatalf("model A: %s", figures(a.Adoption))
			}
			revs, err := repo.ListRevisions(ctx, "p1", 0, 10)
			if err != nil || len(revs) != 2 || revs[0].Number != 2 || revs[0].Note != "second" {
				t.Fatalf("revisions: %+v (%v)", revs, err)
			}
			n, err := db.Collection(PracticesCollection).CountDocuments(ctx, bson.D{{Key: "history", Value: bson.D{{Key: "$exists", Value: true}}}})
			if err != nil || n != 0 {
				t.Fatalf("%d documents keep their history inline (%v)", n, err)
			}
			// A later event of a migrated transfer still applies once.
			if applied, err := repo.RecordTransfer(ctx, "p1", transferRecord("tr-2", "tw-1", "A", "o4", practice.TransferAdopted, 9)); err != nil || !applied {
				t.Fatalf("a later record: %v %v", applied, err)
			}
		})
	}
}
