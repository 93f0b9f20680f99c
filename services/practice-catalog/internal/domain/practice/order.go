package practice

import (
	"fmt"
	"strings"

	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/paging"
)

// Order is how a list of practices is sorted. The zero value is
// OrderNewest.
type Order struct{ s string }

var (
	// OrderNewest is newest first by creation (the lists' default).
	OrderNewest = Order{}
	// OrderMostAdopted is most twinnings first, then newest first.
	OrderMostAdopted = Order{"most_adopted"}
	// OrderTitle is by title, A to Z.
	OrderTitle = Order{"title"}
)

// String is the order as the API names it ("newest" for the default).
func (o Order) String() string {
	if o.s == "" {
		return "newest"
	}
	return o.s
}

// ParseOrder reads the API's order_by: empty or "newest", "most_adopted",
// "title". Anything else is InvalidArgument naming field.
func ParseOrder(field, s string) (Order, error) {
	switch strings.TrimSpace(s) {
	case "", "newest":
		return OrderNewest, nil
	case "most_adopted":
		return OrderMostAdopted, nil
	case "title":
		return OrderTitle, nil
	}
	return Order{}, apperr.Invalid(field, "must be newest, most_adopted or title")
}

// Cursor is where a page in order o ends after p: the key of p in that
// order, and its id to break ties.
func (o Order) Cursor(p *Practice) paging.Cursor {
	switch o {
	case OrderMostAdopted:
		return paging.Cursor{Key: AdoptionKey(p.Adoption.Twinnings), ID: p.ID}
	case OrderTitle:
		return paging.Cursor{Key: p.Title, ID: p.ID}
	}
	return paging.Cursor{Key: p.SortKey(), ID: p.ID}
}

// AdoptionKey writes a count so that keys compare as the counts do.
func AdoptionKey(n int) string { return fmt.Sprintf("%010d", max(n, 0)) }

// Less reports whether a comes before b in order o (ties broken by id,
// descending for the newest-first orders, ascending for titles).
func (o Order) Less(a, b *Practice) bool {
	switch o {
	case OrderMostAdopted:
		if a.Adoption.Twinnings != b.Adoption.Twinnings {
			return a.Adoption.Twinnings > b.Adoption.Twinnings
		}
		return a.ID > b.ID
	case OrderTitle:
		if a.Title != b.Title {
			return a.Title < b.Title
		}
		return a.ID < b.ID
	}
	return a.SortKey() > b.SortKey()
}

// After reports whether p comes after the cursor c in order o.
func (o Order) After(p *Practice, c *paging.Cursor) bool {
	if c == nil {
		return true
	}
	at := o.Cursor(p)
	switch o {
	case OrderMostAdopted:
		return at.Key < c.Key || at.Key == c.Key && p.ID < c.ID
	case OrderTitle:
		return at.Key > c.Key || at.Key == c.Key && p.ID > c.ID
	}
	return at.Key < c.Key
}
