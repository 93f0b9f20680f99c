package service

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"time"

	"github.com/gemella/gemella/services/platform/config"
	psearch "github.com/gemella/gemella/services/platform/search"
	"github.com/gemella/gemella/services/platform/search/searchkit"
	"github.com/gemella/gemella/services/platform/servicekit"
	"github.com/gemella/gemella/services/practice-catalog/internal/app"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/matching"
	"github.com/gemella/gemella/services/practice-catalog/internal/orgsearch"
	"github.com/gemella/gemella/services/practice-catalog/internal/search"
)

// NeedOriginsConsumer is the durable consumer of the twinning stream that
// marks a need matched when a twinning starts from it.
const NeedOriginsConsumer = "catalog-need-origins"

// SearchConfig configures the full-text index (GEMELLA_CATALOG_SEARCH_*).
type SearchConfig struct {
	// Dir holds this replica's index. Empty keeps it in memory, rebuilt
	// from the database at every start: right for tests, slow to start
	// with a large catalogue. The devstack passes a folder of its data.
	Dir string `env:"DIR"`
	// ReconcileInterval is how often the index compares its practices and
	// needs with the database and repairs what differs; 0 never.
	ReconcileInterval time.Duration `env:"RECONCILE_INTERVAL" envDefault:"10m"`
	// SynonymsFile is the synonym list of search and matching (one group
	// of equivalent expressions per line, separated by commas): empty for
	// the shipped Italian set for public administration, "off" for none.
	// Another list rebuilds the index at start.
	SynonymsFile string `env:"SYNONYMS_FILE"`
}

// Validate reports every problem at once.
func (c SearchConfig) Validate(prefix string) error {
	var p config.Problems
	if c.ReconcileInterval < 0 {
		p.Addf("%sRECONCILE_INTERVAL: must not be negative, got %s", prefix, c.ReconcileInterval)
	}
	return p.Err()
}

// validateSeekOffer checks the search and matching configuration.
func validateSeekOffer(search SearchConfig, weights matching.Weights) error {
	return errors.Join(search.Validate("GEMELLA_CATALOG_SEARCH_"), weights.Validate("GEMELLA_CATALOG_MATCH_"))
}

// seekOffer is the search index of "cerco / offro" and what keeps it
// current: on MongoDB, a follower of the catalog's stream, a worker of the
// kit; in memory, the repositories writing through to it.
type seekOffer struct {
	index    *search.Index
	follower *search.Follower // nil in memory
	closed   sync.Once
}

// openSeekOffer opens the index and completes deps with it and the
// matching weights.
func openSeekOffer(cfg Config, deps *app.Deps, p servicekit.Ports) (*seekOffer, error) {
	deps.Matching = cfg.Matching
	if p.InMemory() {
		idx, err := search.Open(search.Config{})
		if err != nil {
			return nil, err
		}
		deps.Organizations = search.WriteThroughOrganizations(deps.Organizations, idx)
		deps.Practices = search.WriteThroughPractices(deps.Practices, idx)
		deps.Needs, deps.Search = search.WriteThroughNeeds(deps.Needs, idx), idx
		return &seekOffer{index: idx}, nil
	}
	idx, err := search.Open(search.Config{Dir: cfg.Search.Dir, Logger: p.Logger, SynonymsFile: cfg.Search.SynonymsFile})
	if err != nil {
		return nil, err
	}
	deps.Search = idx
	return &seekOffer{index: idx, follower: &search.Follower{
		Index: idx, Stream: StreamName, ReconcileEvery: cfg.Search.ReconcileInterval, Logger: p.Logger,
		Source: search.Source{Organizations: deps.Organizations, Practices: deps.Practices, Needs: deps.Needs},
	}}, nil
}

// workers keep the index current; none in memory.
func (so *seekOffer) workers() []servicekit.Worker {
	if so.follower == nil {
		return nil
	}
	return []servicekit.Worker{{Name: "search-index", Run: so.run}}
}

// run brings the index up to date (rebuilding it from the database when
// it must), then follows the stream until ctx ends.
func (so *seekOffer) run(ctx context.Context, rt servicekit.Runtime) error {
	so.follower.JS = rt.JS
	if err := servicekit.Retry(ctx, rt.Logger, "search index preparation", so.follower.Prepare); err != nil {
		return nil // stopped before it was ready
	}
	return so.follower.Run(ctx)
}

// ready is the catalog's readiness check of its index: prepared, and not
// rebuilding in the background (the platform's Follower.Ready); always
// in memory, where the repositories write through.
func (so *seekOffer) ready(ctx context.Context) error {
	if so.follower == nil {
		return nil
	}
	return so.follower.Ready(ctx)
}

// close releases the index, which a disk index needs before another
// process, or the next start, opens it.
func (so *seekOffer) close() {
	so.closed.Do(func() { _ = so.index.Close() })
}

// MatchingWeights are the ranking's weights (GEMELLA_CATALOG_MATCH_*).
type MatchingWeights = matching.Weights

// openOrganizationSearch opens the index of organisations (a folder
// beside the practices' one, "<dir>-organizations") and, on MongoDB and
// NATS, the worker that keeps it current from the catalog's stream.
func openOrganizationSearch(cfg Config, deps app.Deps, p servicekit.Ports) (*psearch.Store, *servicekit.Worker, error) {
	dir := ""
	if cfg.Search.Dir != "" {
		dir = filepath.Clean(cfg.Search.Dir) + "-organizations"
	}
	src := orgsearch.Source{Organizations: deps.Organizations}
	return searchkit.Open(searchkit.Index{
		Name: "organization-search", Dir: dir, Schema: orgsearch.Schema, SynonymsFile: cfg.Search.SynonymsFile,
		Stream: StreamName, Subjects: orgsearch.Subjects, Changes: src.Changes, All: src.All,
		ReconcileEvery: cfg.Search.ReconcileInterval,
	}, p)
}
