package adapters

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/gemella/gemella/services/practice-catalog/internal/domain/practice"
)

// TestLineageContract: on every implementation, adapts survive the round
// trip and ListAdapting finds the practices that adapt a model of any of
// the ids, each once, and no other.
func TestLineageContract(t *testing.T) {
	for name, build := range implementations(t) {
		t.Run(name, func(t *testing.T) {
			r := build(t)
			ctx := context.Background()
			at := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
			tosca := newPractice(t, "tosca", "Tos.Ca.", at)
			cal := newPractice(t, "calabria", "Versione calabrese", at.Add(time.Hour))
			cal.Adapts = []practice.Adaptation{{PracticeID: "tosca", ModelCode: "A", TwinningID: "tw-1"}}
			both := newPractice(t, "both", "Versione doppia", at.Add(2*time.Hour))
			both.Adapts = []practice.Adaptation{{PracticeID: "tosca", ModelCode: "A"}, {PracticeID: "calabria", ModelCode: "A"}}
			other := newPractice(t, "other", "Altra", at.Add(3*time.Hour))
			for _, p := range []*practice.Practice{tosca, cal, both, other} {
				if err := r.practices.Create(ctx, p); err != nil {
					t.Fatal(err)
				}
			}
			got, err := r.practices.Get(ctx, "calabria")
			if err != nil || len(got.Adapts) != 1 || got.Adapts[0] != cal.Adapts[0] {
				t.Fatalf("adapts after the round trip: %v %v", got.Adapts, err)
			}
			find := r.practices.(practice.LineageFinder)
			ids := func(list []*practice.Practice) []string {
				var out []string
				for _, p := range list {
					out = append(out, p.ID)
				}
				slices.Sort(out)
				return out
			}
			down, err := find.ListAdapting(ctx, []string{"tosca"})
			if err != nil || !slices.Equal(ids(down), []string{"both", "calabria"}) {
				t.Errorf("adapting tosca: %v %v", ids(down), err)
			}
			down, err = find.ListAdapting(ctx, []string{"tosca", "calabria"})
			if err != nil || !slices.Equal(ids(down), []string{"both", "calabria"}) {
				t.Errorf("adapting tosca or calabria: %v %v (each once)", ids(down), err)
			}
			if down, _ := find.ListAdapting(ctx, []string{"other"}); len(down) != 0 {
				t.Errorf("adapting other: %v", ids(down))
			}
		})
	}
}
