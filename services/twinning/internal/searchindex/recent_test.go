package searchindex

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gemella/gemella/services/twinning/internal/app"
)

type tallyCatalog struct {
	practices, orgs int
	fail            bool
}

func (c *tallyCatalog) Practice(_ context.Context, id string) (app.Practice, error) {
	c.practices++
	if c.fail {
		return app.Practice{}, errors.New("catalogue away")
	}
	return app.Practice{ID: id, Themes: []string{"lavoro"}}, nil
}

func (c *tallyCatalog) Organization(_ context.Context, id string) (app.Organization, error) {
	c.orgs++
	return app.Organization{ID: id, Name: "Regione " + id}, nil
}

// The index asks the catalogue once per practice and organisation within
// the ttl, again after it, and never remembers a failure.
func TestRecentCatalogAsksOncePerTTL(t *testing.T) {
	ctx := context.Background()
	inner := &tallyCatalog{}
	c := RecentCatalog(inner, time.Minute).(*recentCatalog)
	now := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	c.now = func() time.Time { return now }

	for range 3 {
		if p, err := c.Practice(ctx, "p1"); err != nil || p.Themes[0] != "lavoro" {
			t.Fatalf("practice: %+v %v", p, err)
		}
		if o, err := c.Organization(ctx, "o1"); err != nil || o.Name != "Regione o1" {
			t.Fatalf("organisation: %+v %v", o, err)
		}
	}
	if inner.practices != 1 || inner.orgs != 1 {
		t.Fatalf("within the ttl the catalogue was asked %d times for the practice and %d for the organisation, want once each", inner.practices, inner.orgs)
	}
	now = now.Add(time.Minute)
	_, _ = c.Practice(ctx, "p1")
	if inner.practices != 2 {
		t.Fatalf("after the ttl the practice was asked %d times in all, want 2", inner.practices)
	}

	inner.fail = true
	if _, err := c.Practice(ctx, "p2"); err == nil {
		t.Fatal("a failure was not reported")
	}
	inner.fail = false
	if _, err := c.Practice(ctx, "p2"); err != nil || inner.practices != 4 {
		t.Fatalf("after a failure the catalogue must be asked again: %v, %d calls", err, inner.practices)
	}
}
