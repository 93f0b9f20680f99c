package app

import (
	"context"
	"errors"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	catalogv1 "github.com/gemella/gemella/proto/gemella/catalog/v1"
	discussionv1 "github.com/gemella/gemella/proto/gemella/discussion/v1"
	twinningv1 "github.com/gemella/gemella/proto/gemella/twinning/v1"
	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/grpcx"
)

// Peers are the other services, asked for what an event does not carry.
// A consumer's calls go out without a token, so the other services show
// them what they show anyone: a draft, a hidden post's body, a story not
// published are not found, and nobody is told of them.
type Peers struct {
	Catalog    catalogv1.CatalogServiceClient
	Twinning   twinningv1.TwinningServiceClient
	Discussion discussionv1.DiscussionServiceClient
}

// NewPeers makes the clients of three connections.
func NewPeers(catalog, twinning, discussion grpc.ClientConnInterface) Peers {
	return Peers{
		Catalog:    catalogv1.NewCatalogServiceClient(catalog),
		Twinning:   twinningv1.NewTwinningServiceClient(twinning),
		Discussion: discussionv1.NewDiscussionServiceClient(discussion),
	}
}

// MyProfile implements Profiles: the caller's token goes on with the call.
func (p Peers) MyProfile(ctx context.Context) (*discussionv1.Member, error) {
	return p.Discussion.GetMyProfile(ctx, &discussionv1.GetMyProfileRequest{})
}

// Member implements Profiles.
func (p Peers) Member(ctx context.Context, id string) (*discussionv1.Member, error) {
	return p.Discussion.GetMember(ctx, &discussionv1.GetMemberRequest{Id: id})
}

// errInvisible says that what an event is about cannot be seen by anyone
// (a draft, a deleted thing): the event notifies nobody.
var errInvisible = errors.New("not visible")

// visible turns a peer's NOT_FOUND and PERMISSION_DENIED into errInvisible.
func visible[T any](v T, err error) (T, error) {
	switch status.Code(err) {
	case codes.NotFound, codes.PermissionDenied, codes.Unauthenticated:
		return v, errInvisible
	}
	return v, err
}

func (p Peers) thread(ctx context.Context, id string) (*discussionv1.Thread, error) {
	return visible(p.Discussion.GetThread(ctx, &discussionv1.GetThreadRequest{Id: id}))
}

// post finds a post in its thread. There is no GetPost: the thread's pages
// are read until it turns up.
func (p Peers) post(ctx context.Context, threadID, postID string) (*discussionv1.Post, error) {
	token := ""
	for range 1000 {
		res, err := visible(p.Discussion.ListPosts(ctx, &discussionv1.ListPostsRequest{ThreadId: threadID, PageSize: 100, PageToken: token}))
		if err != nil {
			return nil, err
		}
		for _, post := range res.GetPosts() {
			if post.GetId() == postID {
				return post, nil
			}
		}
		if token = res.GetNextPageToken(); token == "" {
			break
		}
	}
	return nil, errInvisible
}

func (p Peers) story(ctx context.Context, id string) (*discussionv1.Story, error) {
	return visible(p.Discussion.GetStory(ctx, &discussionv1.GetStoryRequest{Id: id}))
}

func (p Peers) practice(ctx context.Context, id string) (*catalogv1.Practice, error) {
	return visible(p.Catalog.GetPractice(ctx, &catalogv1.GetPracticeRequest{Id: id}))
}

func (p Peers) twinning(ctx context.Context, id string) (*twinningv1.Twinning, error) {
	return visible(p.Twinning.GetTwinning(ctx, &twinningv1.GetTwinningRequest{Id: id}))
}

func (p Peers) organization(ctx context.Context, id string) (*catalogv1.Organization, error) {
	return visible(p.Catalog.GetOrganization(ctx, &catalogv1.GetOrganizationRequest{Id: id}))
}

// target finds what a member asks to follow, as the member sees it (the
// call carries their token on): its id, or NotFound when there is no such
// thing or the member may not see it, or Unavailable when its service
// does not answer now. Asking the owning service, rather than keeping a
// copy of the ids here, is right on every replica at once, and for what
// was created a moment ago.
func (p Peers) target(ctx context.Context, kind, id string) (string, error) {
	var got interface{ GetId() string }
	var err error
	switch kind {
	case KindTwinning:
		got, err = p.Twinning.GetTwinning(ctx, &twinningv1.GetTwinningRequest{Id: id})
	case KindPractice:
		got, err = p.Catalog.GetPractice(ctx, &catalogv1.GetPracticeRequest{Id: id})
	case KindThread:
		got, err = p.Discussion.GetThread(ctx, &discussionv1.GetThreadRequest{Id: id})
	case KindOrganization:
		got, err = p.Catalog.GetOrganization(ctx, &catalogv1.GetOrganizationRequest{Id: id})
	default:
		return "", apperr.Invalid("kind", "must be one of twinning, practice, thread, organization")
	}
	switch status.Code(err) {
	case codes.OK:
		if got.GetId() != "" {
			return got.GetId(), nil // a twinning named by its code is followed by its id
		}
		return id, nil
	case codes.NotFound, codes.PermissionDenied, codes.InvalidArgument:
		// A malformed id names nothing either.
		return "", unknownTarget(kind, id)
	}
	return "", grpcx.FromStatus(err, "the "+kind+" service")
}

// unknownTarget is the answer to following what does not exist.
func unknownTarget(kind, id string) error {
	switch kind {
	case KindTwinning:
		return apperr.NotFound("twinning %q does not exist or is not visible to you: there is nothing to follow", id).
			WithReason(apperr.ReasonTwinningNotFound)
	case KindPractice:
		return apperr.NotFound("practice %q does not exist or is not visible to you: there is nothing to follow", id).
			WithReason(apperr.ReasonPracticeNotFound)
	case KindThread:
		return apperr.NotFound("thread %q does not exist or is not visible to you: there is nothing to follow", id).
			WithReason(apperr.ReasonThreadNotFound)
	}
	return apperr.NotFound("organization %q does not exist or is not visible to you: there is nothing to follow", id).
		WithReason(apperr.ReasonOrganizationNotFound)
}
