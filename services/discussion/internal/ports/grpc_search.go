package ports

import (
	"context"

	"google.golang.org/protobuf/proto"

	discussionv1 "github.com/gemella/gemella/proto/gemella/discussion/v1"
	"github.com/gemella/gemella/services/discussion/internal/searchindex"
	psearch "github.com/gemella/gemella/services/platform/search"
)

// WithSearch serves the searches from idx.
func (s *GRPCServer) WithSearch(idx *psearch.Store) *GRPCServer {
	s.search = idx
	return s
}

// searchKind runs one kind's search: hits, total and the next page token.
func (s *GRPCServer) searchKind(ctx context.Context, kind string, req *discussionv1.SearchDiscussionRequest) (psearch.Results, string, error) {
	q, err := psearch.Request{Q: req.GetQ(), PageSize: req.GetPageSize(), PageToken: req.GetPageToken()}.Query()
	if err != nil {
		return psearch.Results{}, "", err
	}
	if s.search == nil {
		return psearch.Results{}, "", psearch.Unavailable
	}
	q.Kinds = []string{kind}
	res, err := s.search.Search(ctx, q)
	if err != nil {
		return psearch.Results{}, "", err
	}
	return res, psearch.NextPageToken(q, len(res.Hits), res.Total), nil
}

func highlights(hs []psearch.Highlight) []*discussionv1.Highlight {
	out := make([]*discussionv1.Highlight, 0, len(hs))
	for _, h := range hs {
		out = append(out, &discussionv1.Highlight{Field: h.Field, Fragments: h.Fragments})
	}
	return out
}

// SearchThreads implements discussionv1.DiscussionServiceServer.
func (s *GRPCServer) SearchThreads(ctx context.Context, req *discussionv1.SearchDiscussionRequest) (*discussionv1.SearchThreadsResponse, error) {
	res, next, err := s.searchKind(ctx, searchindex.KindThread, req)
	if err != nil {
		return nil, err
	}
	resp := &discussionv1.SearchThreadsResponse{Total: int32(res.Total), NextPageToken: next}
	for _, h := range res.Hits {
		hit := &discussionv1.ThreadHit{}
		if err := proto.Unmarshal(h.Source, hit); err != nil {
			return nil, err
		}
		hit.Score, hit.Highlights = h.Score, highlights(h.Highlights)
		resp.Hits = append(resp.Hits, hit)
	}
	return resp, nil
}

// SearchPosts implements discussionv1.DiscussionServiceServer.
func (s *GRPCServer) SearchPosts(ctx context.Context, req *discussionv1.SearchDiscussionRequest) (*discussionv1.SearchPostsResponse, error) {
	res, next, err := s.searchKind(ctx, searchindex.KindPost, req)
	if err != nil {
		return nil, err
	}
	resp := &discussionv1.SearchPostsResponse{Total: int32(res.Total), NextPageToken: next}
	for _, h := range res.Hits {
		hit := &discussionv1.PostHit{}
		if err := proto.Unmarshal(h.Source, hit); err != nil {
			return nil, err
		}
		hit.Score, hit.Highlights = h.Score, highlights(h.Highlights)
		resp.Hits = append(resp.Hits, hit)
	}
	return resp, nil
}

// SearchStories implements discussionv1.DiscussionServiceServer.
func (s *GRPCServer) SearchStories(ctx context.Context, req *discussionv1.SearchDiscussionRequest) (*discussionv1.SearchStoriesResponse, error) {
	res, next, err := s.searchKind(ctx, searchindex.KindStory, req)
	if err != nil {
		return nil, err
	}
	resp := &discussionv1.SearchStoriesResponse{Total: int32(res.Total), NextPageToken: next}
	for _, h := range res.Hits {
		hit := &discussionv1.StoryHit{}
		if err := proto.Unmarshal(h.Source, hit); err != nil {
			return nil, err
		}
		hit.Score, hit.Highlights = h.Score, highlights(h.Highlights)
		resp.Hits = append(resp.Hits, hit)
	}
	return resp, nil
}
