package embedded_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/gemella/gemella/services/platform/embedded"
)

func TestNATSRestartKeepsPortAndStreams(t *testing.T) {
	srv := embedded.NATSForTest(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	port, url := srv.Port(), srv.URL()
	if port == 0 {
		t.Fatal("Port() = 0, want the chosen port")
	}

	js := connect(t, url)
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{
		Name: "KEEP", Subjects: []string{"keep.>"}, Storage: jetstream.FileStorage,
	}); err != nil {
		t.Fatalf("create stream: %v", err)
	}
	if _, err := js.Publish(ctx, "keep.one", []byte("1")); err != nil {
		t.Fatalf("publish: %v", err)
	}

	if err := srv.Restart(); err != nil {
		t.Fatalf("restart: %v", err)
	}
	if srv.Port() != port || srv.URL() != url {
		t.Fatalf("after restart listening on %s, want %s", srv.URL(), url)
	}

	js = connect(t, srv.URL())
	stream, err := js.Stream(ctx, "KEEP")
	if err != nil {
		t.Fatalf("stream after restart: %v", err)
	}
	if got := stream.CachedInfo().State.Msgs; got != 1 {
		t.Fatalf("stream holds %d messages after restart, want 1", got)
	}

	srv.Shutdown()
	srv.Shutdown() // idempotent
}

func TestStartNATSNeedsStoreDir(t *testing.T) {
	if _, err := embedded.StartNATS(embedded.NATSOptions{}); err == nil {
		t.Fatal("StartNATS without StoreDir succeeded, want an error")
	}
}

func TestFerretDBServesMongoProtocol(t *testing.T) {
	db := embedded.FerretDBForTest(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	client, err := mongo.Connect(options.Client().ApplyURI(db.URI()))
	if err != nil {
		t.Fatalf("connect %s: %v", db.URI(), err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = client.Disconnect(ctx)
	})
	coll := client.Database("embedded").Collection("things")
	if _, err := coll.InsertOne(ctx, bson.D{{Key: "_id", Value: "a"}, {Key: "n", Value: 1}}); err != nil {
		t.Fatalf("insert: %v", err)
	}
	var got struct {
		N int `bson:"n"`
	}
	if err := coll.FindOne(ctx, bson.D{{Key: "_id", Value: "a"}}).Decode(&got); err != nil {
		t.Fatalf("find: %v", err)
	}
	if got.N != 1 {
		t.Fatalf("n = %d, want 1", got.N)
	}
}

func connect(t *testing.T, url string) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatalf("connect %s: %v", url, err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatalf("jetstream: %v", err)
	}
	return js
}
