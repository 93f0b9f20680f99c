package mongox_test

import (
	"context"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/gemella/gemella/services/platform/config"
	"github.com/gemella/gemella/services/platform/embedded"
	"github.com/gemella/gemella/services/platform/mongox"
)

// A service restarted on the same data creates its indexes again; that
// must work on the embedded store (FerretDB dropped the connection when one
// call re-created several existing indexes).
func TestEnsureIndexesTwice(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the embedded FerretDB")
	}
	f := embedded.FerretDBForTest(t)
	ctx := context.Background()
	client, db, err := mongox.Connect(ctx, config.Mongo{URI: f.URI(), Database: "idx"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	defer client.Disconnect(ctx)
	coll := db.Collection("c")
	models := []mongo.IndexModel{
		{Keys: bson.D{{Key: "slug", Value: 1}}, Options: options.Index().SetUnique(true)},
		{Keys: bson.D{{Key: "a", Value: 1}, {Key: "sort_key", Value: -1}}},
		{Keys: bson.D{{Key: "b", Value: 1}, {Key: "sort_key", Value: -1}}},
	}
	for i := 0; i < 2; i++ {
		if err := mongox.EnsureIndexes(ctx, coll, models...); err != nil {
			t.Fatalf("round %d: %v", i, err)
		}
	}
	if err := mongox.Ping(ctx, client); err != nil {
		t.Fatal(err)
	}
	if _, err := coll.InsertOne(ctx, bson.M{"slug": "x"}); err != nil {
		t.Fatal(err)
	}
	if _, err := coll.InsertOne(ctx, bson.M{"slug": "x"}); !mongox.IsDuplicateKey(err) {
		t.Fatalf("unique index lost: %v", err)
	}
}
