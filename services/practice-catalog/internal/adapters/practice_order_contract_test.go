package adapters

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/gemella/gemella/services/platform/paging"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/practice"
)

// TestPracticeListOrdersContract: every implementation pages the other
// orders with their cursors, filters by creator, and never lists a
// deleted draft's tombstone.
func TestPracticeListOrdersContract(t *testing.T) {
	for name, open := range implementations(t) {
		t.Run(name, func(t *testing.T) {
			r := open(t)
			ctx := context.Background()
			at := time.Date(2024, 3, 1, 9, 0, 0, 0, time.UTC)
			adoption := map[string]int{"Bravo": 3, "Alfa": 1, "Delta": 0, "Charlie": 2, "Echo": 2}
			var deleteMe string
			for i, title := range []string{"Bravo", "Alfa", "Delta", "Charlie", "Echo", "Foxtrot"} {
				p, err := practice.New(fmt.Sprintf("00000000-0000-7000-8000-%012d", i+1), practice.Content{Title: title, OwnerOrganizationIDs: []string{"org"}}, at.Add(time.Duration(i)*time.Minute))
				if err != nil {
					t.Fatal(err)
				}
				p.CreatedBy = "m-1"
				if title == "Delta" {
					p.CreatedBy = "m-2"
				}
				p.Adoption.Twinnings = adoption[title]
				if err := r.practices.Create(ctx, p); err != nil {
					t.Fatal(err)
				}
				if title == "Foxtrot" {
					deleteMe = p.ID
				}
			}
			if _, err := r.practices.Update(ctx, deleteMe, func(p *practice.Practice) error { return p.Delete("m-1", at) }); err != nil {
				t.Fatal(err)
			}
			walk := func(f practice.Filter) string {
				var titles []string
				var after *paging.Cursor
				for i := 0; i < 10; i++ {
					page, err := r.practices.List(ctx, f, after, 2)
					if err != nil {
						t.Fatal(err)
					}
					for _, p := range page {
						titles = append(titles, p.Title)
					}
					if len(page) < 2 {
						break
					}
					c := f.Order.Cursor(page[len(page)-1])
					after = &c
				}
				return fmt.Sprint(titles)
			}
			for _, c := range []struct {
				filter practice.Filter
				want   string
			}{
				{practice.Filter{}, "[Echo Charlie Delta Alfa Bravo]"},
				{practice.Filter{Order: practice.OrderTitle}, "[Alfa Bravo Charlie Delta Echo]"},
				{practice.Filter{Order: practice.OrderMostAdopted}, "[Bravo Echo Charlie Alfa Delta]"},
				{practice.Filter{CreatedBy: "m-2"}, "[Delta]"},
				{practice.Filter{CreatedBy: "m-1", Order: practice.OrderTitle}, "[Alfa Bravo Charlie Echo]"},
				{practice.Filter{Status: practice.Draft, Order: practice.OrderMostAdopted}, "[Bravo Echo Charlie Alfa Delta]"},
			} {
				if got := walk(c.filter); got != c.want {
					t.Errorf("order %s by %q status %q: %s, want %s", c.filter.Order, c.filter.CreatedBy, c.filter.Status, got, c.want)
				}
			}
			if _, err := r.practices.GetBySlug(ctx, "foxtrot"); err == nil {
				t.Errorf("the deleted draft's slug still names it")
			}
		})
	}
}
