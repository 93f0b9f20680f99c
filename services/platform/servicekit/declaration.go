// Package servicekit is the plumbing every Gemella service stands on,
// written once. A service declares what it is — its name, the stream of
// its events, its collections and which of them carry an outbox, and, once
// the kit hands it the ports, its gRPC registrations, event consumers,
// background workers and readiness checks — and the kit does the rest:
// it connects to MongoDB and NATS with retry and backoff (the service
// listens, NOT_SERVING, while they are away), declares the indexes, the
// stream and the dead-letter stream, runs the outbox relay, verifies
// tokens, keeps the gRPC health true to what the service can do, refuses
// calls fast while the store is down, exports the metrics, and stops in
// order. See ARCHITECTURE.md, "Shape".
//
// The packages the kit stands on are each used in one file: events in
// nats.go and consumers.go, outbox in relay.go, mongox and the MongoDB
// driver in store.go, tracing in telemetry.go.
package servicekit

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"google.golang.org/grpc"

	eventsv1 "github.com/gemella/gemella/proto/gemella/events/v1"
	"github.com/gemella/gemella/services/platform/doclock"
	"github.com/gemella/gemella/services/platform/events"
	"github.com/gemella/gemella/services/platform/mongox"
)

// Declaration is what a service is. The kit reads it once, in New or
// NewInMemory.
type Declaration struct {
	// Name is the service's name in logs, metrics, the NATS connection and
	// the MongoDB application name, e.g. "practice-catalog"; required.
	Name string
	// EnvPrefix is the prefix of the service's own variables, e.g.
	// "GEMELLA_CATALOG_": configuration errors name the variables with it.
	EnvPrefix string
	// Stream is the JetStream stream of the service's own events; a
	// service that publishes none leaves it zero.
	Stream Stream
	// Collections of the service's database that the kit prepares: their
	// indexes, and the relay for those that carry an outbox.
	Collections []Collection
	// EnsureIndexes, when set, creates the indexes that the adapters keep
	// beside the queries that use them (and share with the repository
	// contract tests). It runs once the store answers, after the indexes
	// of Collections, and again after a failure until it succeeds; it must
	// be idempotent.
	EnsureIndexes func(ctx context.Context, db *mongo.Database) error
	// TrustedKeys verify session tokens besides the configured ones: the
	// signing service's own key. With none here, the configuration must
	// list at least one.
	TrustedKeys []ed25519.PublicKey
	// Build makes the service on the ports the kit hands it and says what
	// the kit serves and runs; required. It runs once, before anything
	// connects: it must not wait for the store or NATS (the database
	// handle connects lazily).
	Build func(ctx context.Context, p Ports) (Parts, error)
}

// Stream declares the stream of the service's own events, on file storage
// with the configured replicas.
type Stream struct {
	// Name, e.g. "CATALOG".
	Name string
	// Subjects, e.g. "catalog.>".
	Subjects []string
}

// Collection is one collection of the service's database.
type Collection struct {
	Name string
	// Indexes the kit creates once the store answers; existing ones are
	// kept.
	Indexes []mongo.IndexModel
	// Outbox says that the collection's documents carry pending events
	// (package outbox): the relay reads it.
	Outbox bool
}

// Outboxes declares collections that carry an outbox and need no index
// of the kit's (their indexes come with EnsureIndexes).
func Outboxes(names ...string) []Collection {
	colls := make([]Collection, len(names))
	for i, name := range names {
		colls[i] = Collection{Name: name, Outbox: true}
	}
	return colls
}

// Ports are what the kit hands Declaration.Build.
type Ports struct {
	// DB is the service's database; nil in memory (NewInMemory). Its client
	// connects lazily: an operation waits for the store, and fails after
	// its deadline while the store is away.
	DB *mongo.Database
	// Notify wakes the outbox relay after a write that left pending events;
	// it never blocks, and does nothing in memory.
	Notify func()
	// NotifyDocument wakes the relay for one document just written with
	// events: it publishes the pending records handed over, or reads that
	// document alone (pending nil), instead of sweeping; written stamps
	// the writer's release of the document's lock (mongox.StoreOptions).
	NotifyDocument func(collection, id string, pending []bson.Raw, written doclock.Stamp)
	// Locks serialise the writes of one document among the repositories,
	// the idempotency keys and the relay, across the service's replicas,
	// which the embedded FerretDB needs (see doclock); nil on MongoDB.
	Locks *doclock.Locks
	// Logger carries the service's name.
	Logger *slog.Logger
	// Metrics is the service's registry, served on the metrics address
	// with the gRPC server's own series.
	Metrics prometheus.Registerer
	// RevokeSession ends a session's tokens at every service: this one
	// refuses them at once, the others once the revocation reaches them
	// through NATS (milliseconds). until is when the last token of the
	// session expires anyway.
	RevokeSession func(ctx context.Context, sessionID string, until time.Time) error
}

// StoreOptions are the options every aggregate store of the service
// shares: the relay's wake-ups and the document locks.
func (p Ports) StoreOptions() mongox.StoreOptions {
	return mongox.StoreOptions{Notify: p.Notify, NotifyDocument: p.NotifyDocument, Locks: p.Locks}
}

// InMemory reports a service without MongoDB or NATS.
func (p Ports) InMemory() bool { return p.DB == nil }

// Parts are what a built service serves and runs.
type Parts struct {
	// Register puts the service's gRPC implementations on the server;
	// required.
	Register func(*grpc.Server)
	// Consumers are the durable consumers of events, other services' or
	// the service's own. The kit runs them once NATS and the store are
	// ready, and not in memory.
	Consumers []Consumer
	// Workers run beside the server once the store and NATS are ready (in
	// memory, at once) until the service stops. A worker that returns an
	// error other than on its context's end stops the service with it: it
	// must ride out outages itself and fail only when it cannot go on.
	Workers []Worker
	// Checks are readiness conditions of the service's own, beside the
	// store's and NATS's: the service is NOT_SERVING while one fails.
	Checks []Check
	// Close, when set, releases what Build made (an index on disk, a client
	// connection), after everything else has stopped.
	Close func()
}

// Consumer is one durable consumer: its messages go to Handler, a port
// that calls the application's commands, as gRPC does.
type Consumer struct {
	// Stream and Durable name the stream and the consumer; required.
	Stream  string
	Durable string
	// FilterSubjects limit the consumer; empty means the whole stream.
	FilterSubjects []string
	// Handler handles one event; see events.Handler for what its error
	// means.
	Handler events.Handler
	// Observe, when set, sees every event handled, with the time it was
	// (see events.ConsumerConfig.Observe).
	Observe func(env *eventsv1.Envelope, handledAt time.Time)
}

// Worker is a background task of the service.
type Worker struct {
	Name string
	Run  func(ctx context.Context, rt Runtime) error
	// Ready, when set, is a readiness check of the worker's, watched as
	// one of Parts.Checks under the worker's name: the service is
	// NOT_SERVING while it fails (a search index being rebuilt at start).
	Ready func(ctx context.Context) error
}

// Runtime is what the kit has connected by the time workers start. In
// memory both handles are nil.
type Runtime struct {
	DB     *mongo.Database
	JS     jetstream.JetStream
	Logger *slog.Logger
}

// Check is a readiness condition: nil while the service can do its work.
// The kit calls it every health interval, under a short deadline.
type Check struct {
	Name  string
	Check func(ctx context.Context) error
}

func (d Declaration) validate() error {
	var errs []error
	if d.Name == "" {
		errs = append(errs, errors.New("name is required"))
	}
	if d.Build == nil {
		errs = append(errs, errors.New("build is required"))
	}
	if d.Stream.Name != "" && len(d.Stream.Subjects) == 0 {
		errs = append(errs, fmt.Errorf("stream %s: at least one subject is required", d.Stream.Name))
	}
	for i, c := range d.Collections {
		if c.Name == "" {
			errs = append(errs, fmt.Errorf("collections[%d]: name is required", i))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("service declaration: %w", err)
	}
	return nil
}

func (p Parts) validate(name string) error {
	var errs []error
	if p.Register == nil {
		errs = append(errs, errors.New("register is required"))
	}
	for i, c := range p.Consumers {
		if c.Stream == "" || c.Durable == "" || c.Handler == nil {
			errs = append(errs, fmt.Errorf("consumers[%d] (%s/%s): stream, durable and handler are required", i, c.Stream, c.Durable))
		}
	}
	for i, w := range p.Workers {
		if w.Run == nil || w.Name == "" && w.Ready != nil {
			errs = append(errs, fmt.Errorf("workers[%d] (%s): run is required, and a name with ready", i, w.Name))
		}
	}
	for i, c := range p.Checks {
		if c.Name == "" || c.Check == nil {
			errs = append(errs, fmt.Errorf("checks[%d]: name and check are required", i))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%s: built parts: %w", name, err)
	}
	return nil
}
