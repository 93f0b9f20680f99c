package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/gemella/gemella/services/platform/config"
	"github.com/gemella/gemella/services/platform/doclock"
	"github.com/gemella/gemella/services/platform/events"
	"github.com/gemella/gemella/services/practice-catalog/internal/adapters"
	"github.com/gemella/gemella/services/practice-catalog/internal/app"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/matching"
	"github.com/gemella/gemella/services/practice-catalog/internal/ports"
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

// seekOffer is what "cerco / offro" runs beside the gRPC server: the
// search index and what keeps it current, and the consumer of twinning
// events that marks needs matched.
type seekOffer struct {
	index    *search.Index
	follower *search.Follower
	// consume reads twinning events; nil in memory.
	consume func(ctx context.Context) error
	closed  sync.Once
}

// newSeekOffer builds the needs' and offers' repositories on db, opens
// the index and decides how it is brought up to date (run rebuilds it from
// the database in the background when it must, the index reporting not
// ready meanwhile), and prepares the consumers. deps must hold the organisation
// and practice repositories; the returned ports complete it.
func newSeekOffer(ctx context.Context, searchCfg SearchConfig, weights matching.Weights, db *mongo.Database, js jetstream.JetStream,
	locks *doclock.Locks, notify func(), deps app.Deps, logger *slog.Logger) (*seekOffer, app.SeekOfferDeps, error) {
	needs := adapters.NewNeedMongoRepository(db, adapters.EncodeNeedEvent, notify, locks)
	offers := adapters.NewOfferMongoRepository(db, adapters.EncodeOfferEvent, notify, locks)
	idx, err := search.Open(search.Config{Dir: searchCfg.Dir, Logger: logger, SynonymsFile: searchCfg.SynonymsFile})
	if err != nil {
		return nil, app.SeekOfferDeps{}, err
	}
	so := &seekOffer{index: idx}
	so.follower = &search.Follower{
		Index: idx, JS: js, Stream: StreamName, ReconcileEvery: searchCfg.ReconcileInterval, Logger: logger,
		Source: search.Source{Organizations: deps.Organizations, Practices: deps.Practices, Needs: needs},
	}
	if err := so.follower.Prepare(ctx); err != nil {
		so.close()
		return nil, app.SeekOfferDeps{}, fmt.Errorf("search index: %w", err)
	}
	seekDeps := app.SeekOfferDeps{Needs: needs, Offers: offers, Search: idx, Matching: weights}
	so.consumeWith(js, seekDeps, logger)
	return so, seekDeps, nil
}

func (so *seekOffer) consumeWith(js jetstream.JetStream, p app.SeekOfferDeps, logger *slog.Logger) {
	origins := ports.NewNeedOrigins(app.New(app.Deps{SeekOfferDeps: p}).MarkNeedMatched, logger)
	so.consume = func(ctx context.Context) error {
		// Consume waits for the twinning stream when it does not exist yet.
		return events.Consume(ctx, js, events.ConsumerConfig{
			Stream: TwinningStream, Durable: NeedOriginsConsumer, FilterSubjects: []string{ports.TwinningCreated}, Logger: logger,
		}, origins.Handle)
	}
}

// newInMemorySeekOffer wires needs, offers and an in-memory index that
// repository writes keep current, for a catalog without MongoDB or NATS;
// it wraps the organisation and practice repositories of deps likewise.
func newInMemorySeekOffer(deps app.Deps) (*seekOffer, app.Deps, error) {
	idx, err := search.Open(search.Config{})
	if err != nil {
		return nil, deps, err
	}
	deps.Organizations = search.WriteThroughOrganizations(deps.Organizations, idx)
	deps.Practices = search.WriteThroughPractices(deps.Practices, idx)
	deps.SeekOfferDeps = app.SeekOfferDeps{
		Needs: search.WriteThroughNeeds(adapters.NewNeedMemoryRepository(), idx), Offers: adapters.NewOfferMemoryRepository(),
		Search: idx, Matching: matching.DefaultWeights(),
	}
	return &seekOffer{index: idx}, deps, nil
}

// run keeps the index current and consumes twinning events until ctx
// ends; it fails only on a configuration error.
func (so *seekOffer) run(ctx context.Context) error {
	var wg sync.WaitGroup
	errs := make([]error, 2)
	if so.follower != nil {
		wg.Add(1)
		go func() { defer wg.Done(); errs[0] = so.follower.Run(ctx) }()
	}
	if so.consume != nil {
		wg.Add(1)
		go func() { defer wg.Done(); errs[1] = so.consume(ctx) }()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// close releases the index, which a disk index needs before another
// process, or the next start, opens it.
func (so *seekOffer) close() {
	so.closed.Do(func() { _ = so.index.Close() })
}

// MatchingWeights are the ranking's weights (GEMELLA_CATALOG_MATCH_*).
type MatchingWeights = matching.Weights
