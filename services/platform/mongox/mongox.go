// Package mongox connects a service to its own MongoDB database and creates
// the indexes its queries need.
package mongox

import (
	"context"
	"fmt"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/gemella/gemella/services/platform/config"
)

// Connect opens a client, pings the server within cfg.Timeout, and returns
// the service's database.
func Connect(ctx context.Context, cfg config.Mongo, appName string) (*mongo.Client, *mongo.Database, error) {
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	opts := options.Client().ApplyURI(cfg.URI).
		SetAppName(appName).
		SetConnectTimeout(timeout).
		SetServerSelectionTimeout(timeout).
		SetTimeout(timeout).
		SetMonitor(cfg.Monitor)
	client, err := mongo.Connect(opts)
	if err != nil {
		return nil, nil, fmt.Errorf("connect to mongodb: %w", err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := client.Ping(pingCtx, nil); err != nil {
		_ = client.Disconnect(context.Background())
		return nil, nil, fmt.Errorf("ping mongodb: %w", err)
	}
	return client, client.Database(cfg.Database), nil
}

// EnsureIndexes creates the indexes of a collection; existing ones are kept.
// One call per index: the embedded FerretDB v1.24 drops the connection when
// one createIndexes call names two or more indexes that already exist, which
// is every start after the first.
func EnsureIndexes(ctx context.Context, coll *mongo.Collection, models ...mongo.IndexModel) error {
	for _, m := range models {
		if _, err := coll.Indexes().CreateOne(ctx, m); err != nil {
			return fmt.Errorf("create index %v on %s: %w", m.Keys, coll.Name(), err)
		}
	}
	return nil
}

// Ping reports whether the database answers within the context's deadline.
func Ping(ctx context.Context, client *mongo.Client) error {
	if err := client.Ping(ctx, nil); err != nil {
		return fmt.Errorf("ping mongodb: %w", err)
	}
	return nil
}

// IsDuplicateKey reports a unique-index violation. MongoDB answers E11000;
// the embedded FerretDB does so on insert but reports a clash caused by an
// update as an internal error naming SQLite's UNIQUE constraint.
func IsDuplicateKey(err error) bool {
	if err == nil {
		return false
	}
	return mongo.IsDuplicateKeyError(err) || strings.Contains(err.Error(), "UNIQUE constraint failed")
}
