package sitesearch

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	catalogv1 "github.com/gemella/gemella/proto/gemella/catalog/v1"
	discussionv1 "github.com/gemella/gemella/proto/gemella/discussion/v1"
	twinningv1 "github.com/gemella/gemella/proto/gemella/twinning/v1"
)

type catalog struct{ catalogv1.CatalogServiceClient }

func (catalog) SearchPractices(_ context.Context, req *catalogv1.SearchPracticesRequest, _ ...grpc.CallOption) (*catalogv1.SearchPracticesResponse, error) {
	return &catalogv1.SearchPracticesResponse{Total: 7, Hits: []*catalogv1.PracticeHit{{Practice: &catalogv1.Practice{Id: "p1", Slug: "tos-ca", Title: "Tos.Ca."}}}}, nil
}

func (catalog) SearchNeeds(context.Context, *catalogv1.SearchNeedsRequest, ...grpc.CallOption) (*catalogv1.SearchNeedsResponse, error) {
	return &catalogv1.SearchNeedsResponse{}, nil
}

func (catalog) SearchOrganizations(context.Context, *catalogv1.SearchOrganizationsRequest, ...grpc.CallOption) (*catalogv1.SearchOrganizationsResponse, error) {
	return &catalogv1.SearchOrganizationsResponse{}, nil
}

// twinning is slower than the deadline.
type twinning struct {
	twinningv1.TwinningServiceClient
}

func (twinning) SearchTwinnings(ctx context.Context, _ *twinningv1.SearchTwinningsRequest, _ ...grpc.CallOption) (*twinningv1.SearchTwinningsResponse, error) {
	<-ctx.Done()
	return nil, status.FromContextError(ctx.Err()).Err()
}

// discussion is down.
type discussion struct {
	discussionv1.DiscussionServiceClient
}

func (discussion) SearchThreads(context.Context, *discussionv1.SearchDiscussionRequest, ...grpc.CallOption) (*discussionv1.SearchThreadsResponse, error) {
	return nil, status.Error(codes.Unavailable, "down")
}

func (discussion) SearchPosts(context.Context, *discussionv1.SearchDiscussionRequest, ...grpc.CallOption) (*discussionv1.SearchPostsResponse, error) {
	return nil, status.Error(codes.Unavailable, "down")
}

func (discussion) SearchStories(context.Context, *discussionv1.SearchDiscussionRequest, ...grpc.CallOption) (*discussionv1.SearchStoriesResponse, error) {
	panic("a broken client")
}

func TestAKindWhoseServiceIsDownOrSlowIsReportedUnavailable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	r := Search(ctx, Backends{Catalog: catalog{}, Twinning: twinning{}, Discussion: discussion{}}, Query{Q: "competenze"})
	status := map[string]string{}
	for _, k := range r.Kinds {
		status[k.Kind] = k.Status
	}
	want := map[string]string{KindPractice: StatusOK, KindNeed: StatusOK, KindOrganization: StatusOK, KindTwinning: StatusUnavailable, KindThread: StatusUnavailable, KindPost: StatusUnavailable, KindStory: StatusUnavailable}
	for k, s := range want {
		if status[k] != s {
			t.Errorf("%s: %s, want %s", k, status[k], s)
		}
	}
	// Every kind has an array of hits, empty when it found nothing or
	// could not search: never null.
	for _, k := range r.Kinds {
		if k.Hits == nil {
			t.Errorf("%s (%s): hits is null", k.Kind, k.Status)
		}
	}
	if r.Count[KindPractice] != 7 || r.Total != 7 || len(r.Unavailable) != 4 || r.Kinds[0].Hits[0].Link != "/practices/tos-ca" {
		t.Errorf("results: %+v", r)
	}

	// Filtered by territory, the kinds without one are skipped, not asked.
	r = Search(context.Background(), Backends{Catalog: catalog{}}, Query{Q: "x", Territory: "ITI1", Kinds: []string{KindPractice, KindPost}})
	for _, k := range r.Kinds {
		if want := map[bool]string{true: StatusOK, false: StatusSkipped}[k.Kind == KindPractice]; k.Status != want {
			t.Errorf("%s: %s, want %s", k.Kind, k.Status, want)
		}
	}
}
