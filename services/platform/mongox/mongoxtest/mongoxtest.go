// Package mongoxtest gives tests the MongoDB-protocol servers that the
// contract tests run on: the embedded FerretDB always (but with -short),
// and a real MongoDB when GEMELLA_TEST_MONGO_URI is set.
package mongoxtest

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/gemella/gemella/services/platform/config"
	"github.com/gemella/gemella/services/platform/embedded"
	"github.com/gemella/gemella/services/platform/mongox"
)

// URIEnv names a real MongoDB to run the contract tests on as well.
const URIEnv = "GEMELLA_TEST_MONGO_URI"

// Server is one server to test on.
type Server struct {
	// Name is "ferretdb" or "mongodb".
	Name string
	// Config connects to it, DocLocks set as the server needs: on for the
	// embedded FerretDB, which applies updates non-atomically.
	Config config.Mongo
}

// Servers starts the embedded FerretDB for the test (none with -short)
// and adds the MongoDB of GEMELLA_TEST_MONGO_URI when it is set.
func Servers(t testing.TB) []Server {
	t.Helper()
	var out []Server
	if !testing.Short() {
		out = append(out, Server{Name: "ferretdb", Config: config.Mongo{URI: embedded.FerretDBForTest(t).URI(), DocLocks: config.DocLocksLease}})
	}
	if uri := os.Getenv(URIEnv); uri != "" {
		out = append(out, Server{Name: "mongodb", Config: config.Mongo{URI: uri}})
	}
	return out
}

var databases atomic.Int64

// Database connects to the server and returns a database of its own,
// dropped when the test ends, and the configuration that names it.
func (s Server) Database(t testing.TB) (*mongo.Database, config.Mongo) {
	t.Helper()
	cfg := s.Config
	cfg.Database = fmt.Sprintf("test_%d_%d", os.Getpid(), databases.Add(1))
	cfg.Timeout = 20 * time.Second
	ctx := context.Background()
	client, db, err := mongox.Connect(ctx, cfg, "test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = db.Drop(ctx)
		_ = client.Disconnect(ctx)
	})
	return db, cfg
}
