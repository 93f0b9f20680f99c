package servicekit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver/topology"

	"github.com/gemella/gemella/services/platform/config"
	"github.com/gemella/gemella/services/platform/doclock"
	"github.com/gemella/gemella/services/platform/mongox"
	"github.com/gemella/gemella/services/platform/outbox"
)

// disconnectTimeout bounds closing the MongoDB client at stop.
const disconnectTimeout = 5 * time.Second

// openStore makes the client of the service's database without waiting
// for it: the driver connects in the background, and reconnects after an
// outage, so the service can start while the store is away. The options
// are those of mongox.Connect, which pings instead.
func openStore(cfg config.Mongo, appName string) (*mongo.Client, *mongo.Database, error) {
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	client, err := mongo.Connect(options.Client().ApplyURI(cfg.URI).
		SetAppName(appName).
		SetConnectTimeout(timeout).
		SetServerSelectionTimeout(timeout).
		SetTimeout(timeout).
		SetMonitor(cfg.Monitor))
	if err != nil {
		return nil, nil, fmt.Errorf("mongodb client for %s: %w", cfg.Database, err)
	}
	return client, client.Database(cfg.Database), nil
}

// newLocks are the document locks the repositories, the idempotency keys
// and the relay share, by cfg.DocLocks (see doclock): with lease, locks
// that hold across every replica on db (leases in its doc_locks
// collection); with process, the in-process locks of the database, which
// every user of it in this process shares; nil (no lock at all) with off,
// on MongoDB, and in memory.
func newLocks(cfg config.Mongo, db *mongo.Database, logger *slog.Logger) *doclock.Locks {
	switch {
	case !cfg.DocLocks.On() || db == nil:
		return nil
	case cfg.DocLocks.Leases():
		return doclock.New(db, doclock.Options{Logger: logger})
	default:
		return doclock.InProcess(cfg.URI + "\x00" + cfg.Database)
	}
}

// pingStore is the store's health check.
func pingStore(client *mongo.Client) func(ctx context.Context) error {
	return func(ctx context.Context) error { return mongox.Ping(ctx, client) }
}

// prepareStore creates the declared indexes, once the store answers a
// ping within pingTimeout.
func prepareStore(ctx context.Context, client *mongo.Client, db *mongo.Database, d Declaration, locks *doclock.Locks, pingTimeout time.Duration) error {
	pingCtx, cancel := context.WithTimeout(ctx, pingTimeout)
	err := mongox.Ping(pingCtx, client)
	cancel()
	if err != nil {
		return err
	}
	if err := locks.EnsureIndexes(ctx); err != nil {
		return err
	}
	for _, c := range d.Collections {
		if err := mongox.EnsureIndexes(ctx, db.Collection(c.Name), c.Indexes...); err != nil {
			return err
		}
		if c.Outbox {
			// The sweep index, and older documents brought to the layout.
			if err := outbox.Prepare(ctx, db.Collection(c.Name)); err != nil {
				return err
			}
		}
	}
	if d.EnsureIndexes != nil {
		if err := d.EnsureIndexes(ctx, db); err != nil {
			return fmt.Errorf("indexes: %w", err)
		}
	}
	return nil
}

// isStoreOutage reports an error that says the store cannot be reached,
// rather than that it refused the operation.
func isStoreOutage(err error) bool {
	var selection topology.ServerSelectionError
	return mongo.IsNetworkError(err) || errors.As(err, &selection) || errors.Is(err, mongo.ErrClientDisconnected)
}

// closeStore disconnects the client, bounded.
func closeStore(client *mongo.Client) {
	ctx, cancel := context.WithTimeout(context.Background(), disconnectTimeout)
	defer cancel()
	_ = client.Disconnect(ctx)
}
