// Package ports exposes the community application over gRPC and feeds it
// the other services' events. Each gRPC method reads the caller that the
// auth interceptor put in the context, turns the request into an app command
// or query, and the result into messages. Errors pass through unchanged:
// grpcx maps them in one place.
package ports

import (
	"context"

	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	discussionv1 "github.com/gemella/gemella/proto/gemella/discussion/v1"
	"github.com/gemella/gemella/services/discussion/internal/app"
	"github.com/gemella/gemella/services/discussion/internal/domain/member"
	"github.com/gemella/gemella/services/discussion/internal/domain/moderation"
	"github.com/gemella/gemella/services/discussion/internal/domain/post"
	"github.com/gemella/gemella/services/discussion/internal/domain/story"
	"github.com/gemella/gemella/services/discussion/internal/protoconv"
	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/auth"
	"github.com/gemella/gemella/services/platform/grpcx"
	psearch "github.com/gemella/gemella/services/platform/search"
)

// GRPCServer implements discussionv1.DiscussionServiceServer.
type GRPCServer struct {
	discussionv1.UnimplementedDiscussionServiceServer
	app    app.Application
	search *psearch.Store
}

// NewGRPCServer wraps the application.
func NewGRPCServer(a app.Application) *GRPCServer { return &GRPCServer{app: a} }

// RegisterMember implements discussionv1.DiscussionServiceServer.
func (s *GRPCServer) RegisterMember(ctx context.Context, req *discussionv1.RegisterMemberRequest) (*discussionv1.Member, error) {
	if err := grpcx.Required(req.GetMember() != nil, "member"); err != nil {
		return nil, err
	}
	m, err := s.app.RegisterMember.Handle(ctx, app.RegisterMember{
		Profile: protoconv.Profile(req.GetMember()), Email: req.GetMember().GetEmail(), Password: req.GetPassword(),
		PrivacyConsent: req.GetPrivacyConsent(),
	})
	if err != nil {
		return nil, err
	}
	return protoconv.Member(m), nil
}

// CreateSession implements discussionv1.DiscussionServiceServer.
func (s *GRPCServer) CreateSession(ctx context.Context, req *discussionv1.CreateSessionRequest) (*discussionv1.Session, error) {
	sess, err := s.app.CreateSession.Handle(ctx, app.CreateSession{Email: req.GetEmail(), Password: req.GetPassword()})
	if err != nil {
		return nil, err
	}
	return &discussionv1.Session{Token: sess.Token, ExpireTime: timestamppb.New(sess.ExpiresAt), Member: protoconv.Member(sess.Member)}, nil
}

// RefreshSession implements discussionv1.DiscussionServiceServer.
func (s *GRPCServer) RefreshSession(ctx context.Context, _ *discussionv1.RefreshSessionRequest) (*discussionv1.Session, error) {
	sess, err := s.app.RefreshSession.Handle(ctx, app.RefreshSession{Caller: auth.CallerFrom(ctx)})
	if err != nil {
		return nil, err
	}
	return &discussionv1.Session{Token: sess.Token, ExpireTime: timestamppb.New(sess.ExpiresAt), Member: protoconv.Member(sess.Member)}, nil
}

// DeleteSession implements discussionv1.DiscussionServiceServer.
func (s *GRPCServer) DeleteSession(ctx context.Context, _ *discussionv1.DeleteSessionRequest) (*emptypb.Empty, error) {
	if err := s.app.DeleteSession.Handle(ctx, app.DeleteSession{Caller: auth.CallerFrom(ctx)}); err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

// GetMyProfile implements discussionv1.DiscussionServiceServer.
func (s *GRPCServer) GetMyProfile(ctx context.Context, _ *discussionv1.GetMyProfileRequest) (*discussionv1.Member, error) {
	m, err := s.app.GetMyProfile.Handle(ctx, auth.CallerFrom(ctx))
	if err != nil {
		return nil, err
	}
	return protoconv.Member(m), nil
}

// UpdateMyProfile implements discussionv1.DiscussionServiceServer.
func (s *GRPCServer) UpdateMyProfile(ctx context.Context, req *discussionv1.UpdateMyProfileRequest) (*discussionv1.Member, error) {
	if err := grpcx.Required(req.GetMember() != nil, "member"); err != nil {
		return nil, err
	}
	patch, err := protoconv.ProfilePatch(protoconv.Profile(req.GetMember()), req.GetUpdateMask())
	if err != nil {
		return nil, err
	}
	m, err := s.app.UpdateMyProfile.Handle(ctx, app.UpdateMyProfile{Caller: auth.CallerFrom(ctx), Patch: patch})
	if err != nil {
		return nil, err
	}
	return protoconv.Member(m), nil
}

// GetMember implements discussionv1.DiscussionServiceServer.
func (s *GRPCServer) GetMember(ctx context.Context, req *discussionv1.GetMemberRequest) (*discussionv1.Member, error) {
	m, err := s.app.GetMember.Handle(ctx, app.GetMember{Caller: auth.CallerFrom(ctx), ID: req.GetId()})
	if err != nil {
		return nil, err
	}
	return protoconv.Member(m), nil
}

// ListMembers implements discussionv1.DiscussionServiceServer.
func (s *GRPCServer) ListMembers(ctx context.Context, req *discussionv1.ListMembersRequest) (*discussionv1.ListMembersResponse, error) {
	page, err := s.app.ListMembers.Handle(ctx, app.ListMembers{PageSize: req.GetPageSize(), PageToken: req.GetPageToken()})
	if err != nil {
		return nil, err
	}
	resp := &discussionv1.ListMembersResponse{NextPageToken: page.NextPageToken}
	for _, m := range page.Items {
		resp.Members = append(resp.Members, protoconv.Member(m))
	}
	return resp, nil
}

// RequestAffiliation implements discussionv1.DiscussionServiceServer.
func (s *GRPCServer) RequestAffiliation(ctx context.Context, req *discussionv1.RequestAffiliationRequest) (*discussionv1.Member, error) {
	m, err := s.app.RequestAffiliation.Handle(ctx, app.RequestAffiliation{
		Caller: auth.CallerFrom(ctx), MemberID: req.GetMemberId(), OrganizationID: req.GetOrganizationId(),
	})
	if err != nil {
		return nil, err
	}
	return protoconv.Member(m), nil
}

// DecideAffiliation implements discussionv1.DiscussionServiceServer.
func (s *GRPCServer) DecideAffiliation(ctx context.Context, req *discussionv1.DecideAffiliationRequest) (*discussionv1.Member, error) {
	m, err := s.app.DecideAffiliation.Handle(ctx, app.DecideAffiliation{
		Caller: auth.CallerFrom(ctx), MemberID: req.GetMemberId(), OrganizationID: req.GetOrganizationId(),
		Verify: req.GetVerify(), Reason: req.GetReason(),
	})
	if err != nil {
		return nil, err
	}
	return protoconv.Member(m), nil
}

// GrantRoles implements discussionv1.DiscussionServiceServer.
func (s *GRPCServer) GrantRoles(ctx context.Context, req *discussionv1.GrantRolesRequest) (*discussionv1.Member, error) {
	roles, err := roleNames(req.GetRoles(), req.GetMemberId())
	if err != nil {
		return nil, err
	}
	return memberResult(s.app.GrantRoles.Handle(ctx, app.GrantRoles{
		Caller: auth.CallerFrom(ctx), MemberID: req.GetMemberId(), Roles: roles, Reason: req.GetReason(),
	}))
}

// RevokeRoles implements discussionv1.DiscussionServiceServer.
func (s *GRPCServer) RevokeRoles(ctx context.Context, req *discussionv1.RevokeRolesRequest) (*discussionv1.Member, error) {
	roles, err := roleNames(req.GetRoles(), req.GetMemberId())
	if err != nil {
		return nil, err
	}
	return memberResult(s.app.RevokeRoles.Handle(ctx, app.RevokeRoles{
		Caller: auth.CallerFrom(ctx), MemberID: req.GetMemberId(), Roles: roles, Reason: req.GetReason(),
	}))
}

// BlockMember implements discussionv1.DiscussionServiceServer.
func (s *GRPCServer) BlockMember(ctx context.Context, req *discussionv1.BlockMemberRequest) (*discussionv1.Member, error) {
	return memberResult(s.app.BlockMember.Handle(ctx, app.BlockMember{Caller: auth.CallerFrom(ctx), MemberID: req.GetMemberId(), Reason: req.GetReason()}))
}

// UnblockMember implements discussionv1.DiscussionServiceServer.
func (s *GRPCServer) UnblockMember(ctx context.Context, req *discussionv1.UnblockMemberRequest) (*discussionv1.Member, error) {
	return memberResult(s.app.BlockMember.Handle(ctx, app.BlockMember{Caller: auth.CallerFrom(ctx), MemberID: req.GetMemberId(), Unblock: true, Reason: req.GetReason()}))
}

// roleNames reads the roles and the member of a grant or a revocation.
func roleNames(roles []discussionv1.Role, memberID string) ([]string, error) {
	var names []string
	for _, r := range roles {
		name, known := protoconv.RoleName(r)
		if !known {
			return nil, apperr.Invalid("roles", "is not a known role")
		}
		names = append(names, name)
	}
	if memberID == "" {
		return nil, apperr.Invalid("member_id", "is required")
	}
	return names, nil
}

func memberResult(m *member.Member, err error) (*discussionv1.Member, error) {
	if err != nil {
		return nil, err
	}
	return protoconv.Member(m), nil
}

// ListAffiliationRequests implements discussionv1.DiscussionServiceServer.
func (s *GRPCServer) ListAffiliationRequests(ctx context.Context, req *discussionv1.ListAffiliationRequestsRequest) (*discussionv1.ListAffiliationRequestsResponse, error) {
	page, err := s.app.ListAffiliationRequests.Handle(ctx, app.ListAffiliationRequests{
		Caller: auth.CallerFrom(ctx), PageSize: req.GetPageSize(), PageToken: req.GetPageToken(),
	})
	if err != nil {
		return nil, err
	}
	resp := &discussionv1.ListAffiliationRequestsResponse{NextPageToken: page.NextPageToken}
	for _, r := range page.Items {
		resp.Requests = append(resp.Requests, &discussionv1.AffiliationRequest{
			Member: protoconv.Member(r.Member), OrganizationId: r.Affiliation.OrganizationID, RequestTime: timestamppb.New(r.Affiliation.RequestedAt),
		})
	}
	return resp, nil
}

// CreateThread implements discussionv1.DiscussionServiceServer.
func (s *GRPCServer) CreateThread(ctx context.Context, req *discussionv1.CreateThreadRequest) (*discussionv1.Thread, error) {
	if err := grpcx.Required(req.GetThread() != nil, "thread"); err != nil {
		return nil, err
	}
	if _, known := discussionv1.Scope_name[int32(req.GetThread().GetScope())]; !known {
		return nil, apperr.Invalid("scope", "is not a known scope")
	}
	t, err := s.app.CreateThread.Handle(ctx, app.CreateThread{
		Caller: auth.CallerFrom(ctx), Details: protoconv.ThreadDetails(req.GetThread()), RequestID: req.GetRequestId(),
	})
	if err != nil {
		return nil, err
	}
	return protoconv.Thread(t), nil
}

// GetThread implements discussionv1.DiscussionServiceServer.
func (s *GRPCServer) GetThread(ctx context.Context, req *discussionv1.GetThreadRequest) (*discussionv1.Thread, error) {
	t, err := s.app.GetThread.Handle(ctx, req.GetId())
	if err != nil {
		return nil, err
	}
	return protoconv.Thread(t), nil
}

// ListThreads implements discussionv1.DiscussionServiceServer.
func (s *GRPCServer) ListThreads(ctx context.Context, req *discussionv1.ListThreadsRequest) (*discussionv1.ListThreadsResponse, error) {
	if _, known := discussionv1.Scope_name[int32(req.GetScope())]; !known {
		return nil, apperr.Invalid("scope", "is not a known scope")
	}
	page, err := s.app.ListThreads.Handle(ctx, app.ListThreads{
		Scope: protoconv.ScopeFromProto(req.GetScope()), TwinningID: req.GetTwinningId(), PracticeID: req.GetPracticeId(),
		PageSize: req.GetPageSize(), PageToken: req.GetPageToken(),
	})
	if err != nil {
		return nil, err
	}
	resp := &discussionv1.ListThreadsResponse{NextPageToken: page.NextPageToken}
	for _, t := range page.Items {
		resp.Threads = append(resp.Threads, protoconv.Thread(t))
	}
	return resp, nil
}

// AddPost implements discussionv1.DiscussionServiceServer.
func (s *GRPCServer) AddPost(ctx context.Context, req *discussionv1.AddPostRequest) (*discussionv1.Post, error) {
	if err := grpcx.Required(req.GetPost() != nil, "post"); err != nil {
		return nil, err
	}
	threadID := req.GetThreadId()
	if threadID == "" {
		threadID = req.GetPost().GetThreadId()
	}
	p, err := s.app.AddPost.Handle(ctx, app.AddPost{
		Caller: auth.CallerFrom(ctx), ThreadID: threadID, ParentID: req.GetPost().GetParentId(),
		Body: req.GetPost().GetBody(), RequestID: req.GetRequestId(),
	})
	if err != nil {
		return nil, err
	}
	return protoconv.Post(p), nil
}

// ListPosts implements discussionv1.DiscussionServiceServer.
func (s *GRPCServer) ListPosts(ctx context.Context, req *discussionv1.ListPostsRequest) (*discussionv1.ListPostsResponse, error) {
	page, err := s.app.ListPosts.Handle(ctx, app.ListPosts{
		Caller: auth.CallerFrom(ctx), ThreadID: req.GetThreadId(), PageSize: req.GetPageSize(), PageToken: req.GetPageToken(),
	})
	if err != nil {
		return nil, err
	}
	return postsResponse(page), nil
}

func postsResponse(page app.PostPage) *discussionv1.ListPostsResponse {
	resp := &discussionv1.ListPostsResponse{NextPageToken: page.NextPageToken}
	for _, p := range page.Items {
		resp.Posts = append(resp.Posts, protoconv.Post(p))
	}
	return resp
}

func postResult(p *post.Post, err error) (*discussionv1.Post, error) {
	if err != nil {
		return nil, err
	}
	return protoconv.Post(p), nil
}

// EditPost implements discussionv1.DiscussionServiceServer.
func (s *GRPCServer) EditPost(ctx context.Context, req *discussionv1.EditPostRequest) (*discussionv1.Post, error) {
	return postResult(s.app.EditPost.Handle(ctx, app.EditPost{Caller: auth.CallerFrom(ctx), ID: req.GetId(), Body: req.GetBody()}))
}

// DeletePost implements discussionv1.DiscussionServiceServer.
func (s *GRPCServer) DeletePost(ctx context.Context, req *discussionv1.DeletePostRequest) (*discussionv1.Post, error) {
	return postResult(s.app.DeletePost.Handle(ctx, app.DeletePost{Caller: auth.CallerFrom(ctx), ID: req.GetId()}))
}

// ReportPost implements discussionv1.DiscussionServiceServer.
func (s *GRPCServer) ReportPost(ctx context.Context, req *discussionv1.ReportPostRequest) (*discussionv1.Post, error) {
	return postResult(s.app.ReportPost.Handle(ctx, app.ReportPost{Caller: auth.CallerFrom(ctx), ID: req.GetId(), Reason: req.GetReason()}))
}

// HidePost implements discussionv1.DiscussionServiceServer.
func (s *GRPCServer) HidePost(ctx context.Context, req *discussionv1.ModeratePostRequest) (*discussionv1.Post, error) {
	return postResult(s.app.ModeratePost.Handle(ctx, app.ModeratePost{Caller: auth.CallerFrom(ctx), ID: req.GetId(), Action: moderation.Hidden, Reason: req.GetReason()}))
}

// RestorePost implements discussionv1.DiscussionServiceServer.
func (s *GRPCServer) RestorePost(ctx context.Context, req *discussionv1.ModeratePostRequest) (*discussionv1.Post, error) {
	return postResult(s.app.ModeratePost.Handle(ctx, app.ModeratePost{Caller: auth.CallerFrom(ctx), ID: req.GetId(), Action: moderation.Restored, Reason: req.GetReason()}))
}

// DismissReports implements discussionv1.DiscussionServiceServer.
func (s *GRPCServer) DismissReports(ctx context.Context, req *discussionv1.ModeratePostRequest) (*discussionv1.Post, error) {
	return postResult(s.app.ModeratePost.Handle(ctx, app.ModeratePost{Caller: auth.CallerFrom(ctx), ID: req.GetId(), Action: moderation.ReportsDismissed, Reason: req.GetReason()}))
}

// ListModerationLog implements discussionv1.DiscussionServiceServer.
func (s *GRPCServer) ListModerationLog(ctx context.Context, req *discussionv1.ListModerationLogRequest) (*discussionv1.ListModerationLogResponse, error) {
	page, err := s.app.ListModerationLog.Handle(ctx, app.ListModerationLog{Caller: auth.CallerFrom(ctx), PageSize: req.GetPageSize(), PageToken: req.GetPageToken()})
	if err != nil {
		return nil, err
	}
	resp := &discussionv1.ListModerationLogResponse{NextPageToken: page.NextPageToken}
	for _, e := range page.Items {
		resp.Entries = append(resp.Entries, protoconv.ModerationEntry(e))
	}
	return resp, nil
}

// ListReportedPosts implements discussionv1.DiscussionServiceServer.
func (s *GRPCServer) ListReportedPosts(ctx context.Context, req *discussionv1.ListReportedPostsRequest) (*discussionv1.ListPostsResponse, error) {
	page, err := s.app.ListReportedPosts.Handle(ctx, app.ListReportedPosts{Caller: auth.CallerFrom(ctx), PageSize: req.GetPageSize(), PageToken: req.GetPageToken()})
	if err != nil {
		return nil, err
	}
	return postsResponse(page), nil
}

// SubmitStory implements discussionv1.DiscussionServiceServer.
func (s *GRPCServer) SubmitStory(ctx context.Context, req *discussionv1.SubmitStoryRequest) (*discussionv1.Story, error) {
	if err := grpcx.Required(req.GetStory() != nil, "story"); err != nil {
		return nil, err
	}
	return storyResult(s.app.SubmitStory.Handle(ctx, app.SubmitStory{
		Caller: auth.CallerFrom(ctx), Details: protoconv.StoryDetails(req.GetStory()), RequestID: req.GetRequestId(),
	}))
}

// ListStories implements discussionv1.DiscussionServiceServer.
func (s *GRPCServer) ListStories(ctx context.Context, req *discussionv1.ListStoriesRequest) (*discussionv1.ListStoriesResponse, error) {
	if _, known := discussionv1.StoryStatus_name[int32(req.GetStatus())]; !known {
		return nil, apperr.Invalid("status", "is not a known story status")
	}
	page, err := s.app.ListStories.Handle(ctx, app.ListStories{
		Caller: auth.CallerFrom(ctx), Status: protoconv.StoryStatusFromProto(req.GetStatus()),
		TwinningID: req.GetTwinningId(), PracticeID: req.GetPracticeId(), PageSize: req.GetPageSize(), PageToken: req.GetPageToken(),
	})
	if err != nil {
		return nil, err
	}
	resp := &discussionv1.ListStoriesResponse{NextPageToken: page.NextPageToken}
	for _, st := range page.Items {
		resp.Stories = append(resp.Stories, protoconv.Story(st))
	}
	return resp, nil
}

func storyResult(st *story.Story, err error) (*discussionv1.Story, error) {
	if err != nil {
		return nil, err
	}
	return protoconv.Story(st), nil
}

// GetStory implements discussionv1.DiscussionServiceServer.
func (s *GRPCServer) GetStory(ctx context.Context, req *discussionv1.GetStoryRequest) (*discussionv1.Story, error) {
	return storyResult(s.app.GetStory.Handle(ctx, app.GetStory{Caller: auth.CallerFrom(ctx), ID: req.GetId()}))
}

// PublishStory implements discussionv1.DiscussionServiceServer.
func (s *GRPCServer) PublishStory(ctx context.Context, req *discussionv1.DecideStoryRequest) (*discussionv1.Story, error) {
	return storyResult(s.app.DecideStory.Handle(ctx, app.DecideStory{Caller: auth.CallerFrom(ctx), ID: req.GetId(), Publish: true, Reason: req.GetReason()}))
}

// RejectStory implements discussionv1.DiscussionServiceServer.
func (s *GRPCServer) RejectStory(ctx context.Context, req *discussionv1.DecideStoryRequest) (*discussionv1.Story, error) {
	return storyResult(s.app.DecideStory.Handle(ctx, app.DecideStory{Caller: auth.CallerFrom(ctx), ID: req.GetId(), Reason: req.GetReason()}))
}
