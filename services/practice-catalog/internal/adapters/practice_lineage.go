package adapters

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/gemella/gemella/services/platform/mongox"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/practice"
)

// Both practice repositories follow lineages.
var (
	_ practice.LineageFinder = (*PracticeMongoRepository)(nil)
	_ practice.LineageFinder = (*PracticeMemoryRepository)(nil)
)

// adaptsPracticeField is where a practice names what it adapts; the
// lineage's walk down queries it.
const adaptsPracticeField = "adapts.practice_id"

// adaptationDoc is one entry of a practice's adapts.
type adaptationDoc struct {
	PracticeID string `bson:"practice_id"`
	ModelCode  string `bson:"model_code"`
	TwinningID string `bson:"twinning_id,omitempty"`
}

func toAdaptationDocs(list []practice.Adaptation) []adaptationDoc {
	var out []adaptationDoc
	for _, a := range list {
		out = append(out, adaptationDoc(a))
	}
	return out
}

func adaptationsOf(list []adaptationDoc) []practice.Adaptation {
	var out []practice.Adaptation
	for _, a := range list {
		out = append(out, practice.Adaptation(a))
	}
	return out
}

// lineageIndexes are the indexes of the lineage's queries, by collection.
func lineageIndexes() map[string][]mongo.IndexModel {
	return map[string][]mongo.IndexModel{
		PracticesCollection: {{Keys: bson.D{{Key: adaptsPracticeField, Value: 1}}}},
	}
}

// ListAdapting implements practice.LineageFinder: the practices that adapt
// a model of one of ids, without their history.
func (r *PracticeMongoRepository) ListAdapting(ctx context.Context, ids []string) ([]*practice.Practice, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	filter := bson.D{{Key: adaptsPracticeField, Value: bson.D{{Key: "$in", Value: append([]string{}, ids...)}}}}
	return r.Find(ctx, filter, mongox.Page{Limit: practice.MaxLineagePractices + 1, Omit: []string{"history"}})
}

// ListAdapting implements practice.LineageFinder.
func (r *PracticeMemoryRepository) ListAdapting(_ context.Context, ids []string) ([]*practice.Practice, error) {
	wanted := set(ids)
	return r.Find(func(d *practiceDoc) bool {
		for _, a := range d.Content.Adapts {
			if wanted[a.PracticeID] {
				return true
			}
		}
		return false
	}, mongox.Page{Limit: practice.MaxLineagePractices + 1}), nil
}
