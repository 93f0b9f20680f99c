package searchindex

import (
	"context"
	"sync"
	"time"

	"github.com/gemella/gemella/services/twinning/internal/app"
)

// RecentCatalog is the catalogue as the index asks it on every event:
// the practices' themes and the parties' names it gave in the last ttl
// are used again, so that a burst of changes to a twinning (a transfer
// moving, a note) costs the catalogue one read of each, not one per
// event. Errors are not remembered. A name changed in the catalogue
// reaches the index with the twinning's next change after ttl, or with
// the next reconcile, as it did before (the index follows twinning
// events only). Each replica remembers for itself.
func RecentCatalog(c app.Catalog, ttl time.Duration) app.Catalog {
	if c == nil || ttl <= 0 {
		return c
	}
	return &recentCatalog{Catalog: c, ttl: ttl, now: time.Now,
		practices: map[string]recent[app.Practice]{}, orgs: map[string]recent[app.Organization]{}}
}

// maxRecent bounds each of the maps; past it they start again.
const maxRecent = 2000

type recent[T any] struct {
	v  T
	at time.Time
}

type recentCatalog struct {
	app.Catalog
	ttl time.Duration
	now func() time.Time

	mu        sync.Mutex
	practices map[string]recent[app.Practice]
	orgs      map[string]recent[app.Organization]
}

func (c *recentCatalog) Practice(ctx context.Context, idOrSlug string) (app.Practice, error) {
	return remember(c, c.practices, idOrSlug, func() (app.Practice, error) { return c.Catalog.Practice(ctx, idOrSlug) })
}

func (c *recentCatalog) Organization(ctx context.Context, id string) (app.Organization, error) {
	return remember(c, c.orgs, id, func() (app.Organization, error) { return c.Catalog.Organization(ctx, id) })
}

func remember[T any](c *recentCatalog, m map[string]recent[T], key string, load func() (T, error)) (T, error) {
	c.mu.Lock()
	r, ok := m[key]
	c.mu.Unlock()
	if ok && c.now().Sub(r.at) < c.ttl {
		return r.v, nil
	}
	v, err := load()
	if err != nil {
		return v, err
	}
	c.mu.Lock()
	if len(m) >= maxRecent {
		clear(m)
	}
	m[key] = recent[T]{v: v, at: c.now()}
	c.mu.Unlock()
	return v, nil
}
