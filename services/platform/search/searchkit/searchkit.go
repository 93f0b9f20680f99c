// Package searchkit opens a service's full-text index the way every
// service does: on disk in its configured folder, kept current from the
// service's own stream by a servicekit worker (rebuilt in the background
// when it must, searches answering UNAVAILABLE meanwhile), or, in memory,
// empty and ready at once.
package searchkit

import (
	"context"
	"time"

	eventsv1 "github.com/gemella/gemella/proto/gemella/events/v1"
	"github.com/gemella/gemella/services/platform/search"
	"github.com/gemella/gemella/services/platform/servicekit"
)

// Index is what a service says about one of its indexes.
type Index struct {
	// Name names the worker in logs and metrics, e.g. "search-index".
	Name string
	// Dir is the index's folder; empty keeps it in memory.
	Dir string
	// Schema versions the documents (search.StoreConfig.Schema).
	Schema string
	// SynonymsFile replaces the shipped synonym list when set.
	SynonymsFile string
	// Stream and Subjects are the events that change the index.
	Stream   string
	Subjects []string
	// Changes and All are the search.Follower's.
	Changes        func(ctx context.Context, env *eventsv1.Envelope) ([]search.Change, error)
	All            search.All
	ReconcileEvery time.Duration
}

// Open opens the index and, on MongoDB and NATS, the worker that keeps it
// current, whose readiness check keeps the service NOT_SERVING until the
// index is brought up to date at start (rebuilt when it must).
func Open(ix Index, p servicekit.Ports) (*search.Store, *servicekit.Worker, error) {
	if p.InMemory() {
		idx, err := search.OpenStore(search.StoreConfig{Schema: ix.Schema, Logger: p.Logger, Static: true, SynonymsFile: ix.SynonymsFile})
		return idx, nil, err
	}
	idx, err := search.OpenStore(search.StoreConfig{Dir: ix.Dir, Schema: ix.Schema, Logger: p.Logger, SynonymsFile: ix.SynonymsFile})
	if err != nil {
		return nil, nil, err
	}
	f := &search.Follower{
		Store: idx, Stream: ix.Stream, Subjects: ix.Subjects, Changes: ix.Changes, All: ix.All,
		ReconcileEvery: ix.ReconcileEvery, Logger: p.Logger,
	}
	return idx, &servicekit.Worker{Name: ix.Name, Run: func(ctx context.Context, rt servicekit.Runtime) error {
		f.JS = rt.JS
		if err := servicekit.Retry(ctx, rt.Logger, ix.Name+" preparation", f.Prepare); err != nil {
			return nil // stopped before it was ready
		}
		return f.Run(ctx)
	}, Ready: f.Ready}, nil
}
