package adapters

import (
	"context"
	"fmt"
	"sort"
	"strconv"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/gemella/gemella/services/platform/mongox"
	"github.com/gemella/gemella/services/platform/outbox"
	"github.com/gemella/gemella/services/platform/paging"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/practice"
)

// The orders of a practice list other than newest first: each a sort on
// one field and the id, with a keyset cursor on both (practice.Order's
// Cursor), and an index each (Indexes).
const (
	titleField     = "title"
	twinningsField = "adoption.twinnings"
)

// listOrdered is List in an order other than the sort key's.
func (r *PracticeMongoRepository) listOrdered(ctx context.Context, filter bson.D, o practice.Order, after *paging.Cursor, limit int) ([]*practice.Practice, error) {
	var field string
	dir, op := 1, "$gt"
	var key any
	switch o {
	case practice.OrderTitle:
		field = titleField
		if after != nil {
			key = after.Key
		}
	case practice.OrderMostAdopted:
		field, dir, op = twinningsField, -1, "$lt"
		if after != nil {
			n, err := strconv.Atoi(after.Key)
			if err != nil {
				return nil, fmt.Errorf("list practices by %s: cursor %q", o, after.Key)
			}
			key = n
		}
	default:
		return nil, fmt.Errorf("list practices: unknown order %s", o)
	}
	if after != nil {
		filter = append(append(bson.D{}, filter...), bson.E{Key: "$and", Value: bson.A{bson.D{{Key: "$or", Value: bson.A{
			bson.D{{Key: field, Value: bson.D{{Key: op, Value: key}}}},
			bson.D{{Key: field, Value: key}, {Key: mongox.IDField, Value: bson.D{{Key: op, Value: after.ID}}}},
		}}}}})
	}
	projection := outbox.ExcludeFields()
	projection = append(projection, bson.E{Key: "history", Value: 0})
	opts := options.Find().SetSort(bson.D{{Key: field, Value: dir}, {Key: mongox.IDField, Value: dir}}).SetProjection(projection)
	if limit > 0 {
		opts.SetLimit(int64(limit))
	}
	cur, err := r.Collection().Find(ctx, filter, opts)
	if err != nil {
		return nil, fmt.Errorf("list practices by %s: %w", o, err)
	}
	var docs []practiceDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("list practices by %s: %w", o, err)
	}
	out := make([]*practice.Practice, len(docs))
	for i := range docs {
		out[i] = docs[i].toDomain()
	}
	return out, nil
}

// orderedPage is the memory's listOrdered: all matches sorted, then the
// page after the cursor.
func orderedPage(all []*practice.Practice, o practice.Order, after *paging.Cursor, limit int) []*practice.Practice {
	sort.Slice(all, func(i, j int) bool { return o.Less(all[i], all[j]) })
	out := make([]*practice.Practice, 0, limit)
	for _, p := range all {
		if !o.After(p, after) {
			continue
		}
		if limit > 0 && len(out) == limit {
			break
		}
		out = append(out, p)
	}
	return out
}
