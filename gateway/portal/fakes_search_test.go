package portal

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	catalogv1 "github.com/gemella/gemella/proto/gemella/catalog/v1"
	discussionv1 "github.com/gemella/gemella/proto/gemella/discussion/v1"
	twinningv1 "github.com/gemella/gemella/proto/gemella/twinning/v1"
)

// SearchNeeds finds no need.
func (f *fakeCatalog) SearchNeeds(ctx context.Context, _ *catalogv1.SearchNeedsRequest, _ ...grpc.CallOption) (*catalogv1.SearchNeedsResponse, error) {
	f.rec.note(ctx)
	return &catalogv1.SearchNeedsResponse{}, nil
}

// SearchOrganizations finds Regione Toscana.
func (f *fakeCatalog) SearchOrganizations(ctx context.Context, _ *catalogv1.SearchOrganizationsRequest, _ ...grpc.CallOption) (*catalogv1.SearchOrganizationsResponse, error) {
	f.rec.note(ctx)
	return &catalogv1.SearchOrganizationsResponse{Total: 1, Hits: []*catalogv1.OrganizationHit{{Organization: &catalogv1.Organization{Id: "o-toscana", Name: "Regione Toscana"}}}}, nil
}

// SearchTwinnings answers every public twinning, its models' titles
// marked, with a fragment that tries to smuggle in markup.
func (f *fakeTwinning) SearchTwinnings(ctx context.Context, req *twinningv1.SearchTwinningsRequest, _ ...grpc.CallOption) (*twinningv1.SearchTwinningsResponse, error) {
	f.rec.note(ctx)
	resp := &twinningv1.SearchTwinningsResponse{}
	for _, t := range f.twinnings {
		if t.GetStatus() == twinningv1.TwinningStatus_TWINNING_STATUS_DRAFT || t.GetStatus() == twinningv1.TwinningStatus_TWINNING_STATUS_CANCELLED {
			continue
		}
		resp.Hits = append(resp.Hits, &twinningv1.TwinningHit{Twinning: t, Highlights: []*twinningv1.Highlight{
			{Field: "models", Fragments: []string{"Sistema regionale delle <mark>competenze</mark> &lt;script&gt;alert(1)&lt;/script&gt;"}},
		}})
	}
	resp.Total = int32(len(resp.Hits))
	return resp, nil
}

// SearchThreads finds the threads by nothing in particular.
func (f *fakeDiscussion) SearchThreads(ctx context.Context, _ *discussionv1.SearchDiscussionRequest, _ ...grpc.CallOption) (*discussionv1.SearchThreadsResponse, error) {
	f.rec.note(ctx)
	resp := &discussionv1.SearchThreadsResponse{}
	for _, t := range f.threads {
		resp.Hits = append(resp.Hits, &discussionv1.ThreadHit{Thread: t, Highlights: []*discussionv1.Highlight{{Field: "title", Fragments: []string{"Discussione sulle <mark>competenze</mark>"}}}})
	}
	resp.Total = int32(len(resp.Hits))
	return resp, nil
}

// SearchPosts is down: the results page says so and shows the rest.
func (f *fakeDiscussion) SearchPosts(ctx context.Context, _ *discussionv1.SearchDiscussionRequest, _ ...grpc.CallOption) (*discussionv1.SearchPostsResponse, error) {
	f.rec.note(ctx)
	return nil, status.Error(codes.Unavailable, "the search index is being rebuilt")
}

// SearchStories finds none.
func (f *fakeDiscussion) SearchStories(ctx context.Context, _ *discussionv1.SearchDiscussionRequest, _ ...grpc.CallOption) (*discussionv1.SearchStoriesResponse, error) {
	f.rec.note(ctx)
	return &discussionv1.SearchStoriesResponse{}, nil
}
