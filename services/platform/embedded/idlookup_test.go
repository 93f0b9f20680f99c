package embedded_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/gemella/gemella/services/platform/embedded"
)

// FerretDB v1 filters by _id with an expression its own _id index is not
// built on, so without the index the embedded FerretDB adds, a lookup by
// _id scans the collection. The plan FerretDB explains says which.
func TestFerretDBLooksUpByIDThroughAnIndex(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	f, err := embedded.StartFerretDB(ctx, embedded.FerretDBOptions{Dir: t.TempDir()})
	if err != nil {
		t.Fatalf("start ferretdb: %v", err)
	}
	t.Cleanup(f.Stop)
	client, err := mongo.Connect(options.Client().ApplyURI(f.URI()))
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { _ = client.Disconnect(context.Background()) })
	db := client.Database("lookups")

	for round, name := range []string{"things", "things", "later"} {
		coll := db.Collection(name)
		docs := make([]any, 50)
		for i := range docs {
			docs[i] = bson.D{{Key: "_id", Value: fmt.Sprintf("doc-%02d", i)}, {Key: "n", Value: i}}
		}
		if _, err := coll.InsertMany(ctx, docs); err != nil {
			t.Fatalf("round %d: insert into %s: %v", round, name, err)
		}
		if round == 2 {
			// Asked for at once, rather than left to the next check.
			if _, err := f.IndexLookups(ctx); err != nil {
				t.Fatalf("index lookups: %v", err)
			}
			if n, err := f.IndexLookups(ctx); err != nil || n != 0 {
				t.Fatalf("index lookups again = %d, %v; want nothing left to add", n, err)
			}
		}
		plan := waitForPlan(ctx, t, db, name, "-id-lookup")
		if !strings.Contains(plan, "SEARCH") {
			t.Fatalf("round %d: a find by _id on %s is planned as %q, want an index SEARCH", round, name, plan)
		}
		// What FerretDB answers is unchanged: the document, and only its
		// own indexes.
		var got struct {
			N int `bson:"n"`
		}
		if err := coll.FindOne(ctx, bson.D{{Key: "_id", Value: "doc-07"}}).Decode(&got); err != nil || got.N != 7 {
			t.Fatalf("round %d: find doc-07 = %+v, %v; want n 7", round, got, err)
		}
		specs, err := coll.Indexes().ListSpecifications(ctx)
		if err != nil {
			t.Fatalf("round %d: list indexes: %v", round, err)
		}
		if len(specs) != 1 || specs[0].Name != "_id_" {
			t.Fatalf("round %d: %s lists indexes %+v, want only _id_", round, name, specs)
		}
		if _, err := coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: "doc-07"}}, bson.D{{Key: "$set", Value: bson.D{{Key: "n", Value: 70}}}}); err != nil {
			t.Fatalf("round %d: update doc-07: %v", round, err)
		}
		if n, err := coll.CountDocuments(ctx, bson.D{{Key: "n", Value: 70}}); err != nil || n != 1 {
			t.Fatalf("round %d: count after update = %d, %v; want 1", round, n, err)
		}
		if round == 0 {
			// Dropped and made again: the new table gets its index too.
			if err := coll.Drop(ctx); err != nil {
				t.Fatalf("drop %s: %v", name, err)
			}
		}
	}
}

// waitForPlan explains a find by _id on coll until FerretDB's query plan
// names want, and returns it; it fails the test after 10 s. A find comes
// first: SQLite's EXPLAIN QUERY PLAN starts no transaction, so a
// connection that has not read since the index was made explains with the
// schema it had; the find makes it read the new one.
func waitForPlan(ctx context.Context, t *testing.T, db *mongo.Database, coll, want string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if err := db.Collection(coll).FindOne(ctx, bson.D{{Key: "_id", Value: "doc-07"}}).Err(); err != nil {
			t.Fatalf("find on %s: %v", coll, err)
		}
		var res bson.Raw
		cmd := bson.D{{Key: "explain", Value: bson.D{{Key: "find", Value: coll}, {Key: "filter", Value: bson.D{{Key: "_id", Value: "doc-07"}}}}}}
		if err := db.RunCommand(ctx, cmd).Decode(&res); err != nil {
			t.Fatalf("explain find on %s: %v", coll, err)
		}
		plan := res.Lookup("queryPlanner").String()
		if strings.Contains(plan, want) {
			return plan
		}
		if time.Now().After(deadline) {
			t.Fatalf("a find by _id on %s is still planned as %s after 10s, want it to use %q", coll, plan, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
