package embedded_test

import (
	"context"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/gemella/gemella/services/platform/embedded"
)

func TestFerretDBStopsAndStartsOnItsAddressWithItsData(t *testing.T) {
	db := embedded.RestartableFerretDBForTest(t)
	uri := db.URI()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client, err := mongo.Connect(options.Client().ApplyURI(uri).SetServerSelectionTimeout(2 * time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = client.Disconnect(context.Background()) }()
	coll := client.Database("embedded").Collection("kept")
	if _, err := coll.InsertOne(ctx, bson.D{{Key: "_id", Value: "a"}}); err != nil {
		t.Fatal(err)
	}

	db.Stop()
	db.Stop() // idempotent
	if err := coll.FindOne(ctx, bson.D{{Key: "_id", Value: "a"}}).Err(); err == nil {
		t.Fatal("a read succeeded with the server stopped")
	}

	if err := db.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if db.URI() != uri {
		t.Fatalf("after the restart at %s, want %s", db.URI(), uri)
	}
	// The same client finds the server and the document again.
	if err := coll.FindOne(ctx, bson.D{{Key: "_id", Value: "a"}}).Err(); err != nil {
		t.Fatalf("read after the restart: %v", err)
	}
	if err := db.Start(ctx); err != nil {
		t.Fatalf("start of a running server: %v", err)
	}
}
