package servicekit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/gemella/gemella/services/platform/doclock"
	"github.com/gemella/gemella/services/platform/events"
	"github.com/gemella/gemella/services/platform/outbox"
)

// lastPassTimeout bounds the relay's last pass at stop, well inside the
// 30 s a Kubernetes pod has to stop by default.
const lastPassTimeout = 10 * time.Second

// newRelay is the relay of the declared outbox collections, publishing on
// js; nil when no collection carries an outbox.
func newRelay(name string, js jetstream.JetStream, db *mongo.Database, collections []Collection, locks *doclock.Locks, reg prometheus.Registerer, logger *slog.Logger) *outbox.Relay {
	var colls []*mongo.Collection
	for _, c := range collections {
		if c.Outbox {
			colls = append(colls, db.Collection(c.Name))
		}
	}
	if len(colls) == 0 {
		return nil
	}
	return outbox.NewRelay(outbox.RelayConfig{
		Service: name, Logger: logger, Locks: locks, Registerer: reg,
		// A record the stream keeps refusing goes to the dead-letter stream.
		DeadLetters: js,
		// Every repository of every service writes through
		// mongox.AggregateStore, which sets pending_since with the events:
		// the indexed sweep finds them all, and no pass scans a collection.
	}, events.NewJetStreamPublisher(js), colls...)
}

// runRelay relays until ctx ends; an error is a configuration error.
func runRelay(ctx context.Context, r *outbox.Relay) error {
	if err := r.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("outbox relay: %w", err)
	}
	return nil
}

// lastPass publishes what the last calls and event handlers left pending,
// bounded: what it cannot publish waits in the documents for the next
// start, or another replica's relay. A pass that fails (a publish that
// timed out on a loaded broker, a lease still held) is tried again until
// the bound: one failure must not leave the rest for later.
func lastPass(r *outbox.Relay, logger *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), lastPassTimeout)
	defer cancel()
	var last error
	for ctx.Err() == nil {
		n, err := r.RelayOnce(ctx)
		if err == nil && n == 0 {
			return
		}
		if err != nil {
			last = err
			select {
			case <-ctx.Done():
			case <-time.After(lastPassRetry):
			}
		}
	}
	if last != nil {
		logger.Warn("outbox relay: last pass stopped; pending events wait for the next relay", slog.Any("error", last))
	}
}

// lastPassRetry is the pause between two tries of a failed last pass.
const lastPassRetry = 100 * time.Millisecond

// notifier wakes the relay once it exists: repositories get Notify before
// the kit has connected to NATS, and the relay's first pass finds what
// they wrote meanwhile.
func (s *Service) notify() {
	if r := s.relay.Load(); r != nil {
		r.Notify()
	}
}

// notifyDocument names the document written, with its pending records
// when the writer knows them; before the relay exists, its first sweep
// finds it.
func (s *Service) notifyDocument(collection, id string, pending []bson.Raw, written doclock.Stamp) {
	if r := s.relay.Load(); r != nil {
		r.NotifyWritten(collection, id, pending, written)
	}
}
