package ports

import (
	"context"
	"net"
	"strings"

	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/protobuf/types/known/emptypb"

	discussionv1 "github.com/gemella/gemella/proto/gemella/discussion/v1"
	"github.com/gemella/gemella/services/discussion/internal/app"
	"github.com/gemella/gemella/services/platform/auth"
)

// ClientAddressKey is the metadata in which the gateway tells the address
// of the person behind a request (the one its own rate limits use); a
// call without it is counted under the address of its gRPC peer.
const ClientAddressKey = "gemella-client-address"

func clientAddress(ctx context.Context) string {
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if v := md.Get(ClientAddressKey); len(v) > 0 && strings.TrimSpace(v[0]) != "" {
			return strings.TrimSpace(v[0])
		}
	}
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		host, _, err := net.SplitHostPort(p.Addr.String())
		if err != nil {
			return p.Addr.String()
		}
		return host
	}
	return ""
}

// RequestPasswordReset implements discussionv1.DiscussionServiceServer.
func (s *GRPCServer) RequestPasswordReset(ctx context.Context, req *discussionv1.RequestPasswordResetRequest) (*emptypb.Empty, error) {
	if err := s.app.RequestPasswordReset.Handle(ctx, app.RequestPasswordReset{Email: req.GetEmail(), ClientAddress: clientAddress(ctx)}); err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

// ResetPassword implements discussionv1.DiscussionServiceServer.
func (s *GRPCServer) ResetPassword(ctx context.Context, req *discussionv1.ResetPasswordRequest) (*emptypb.Empty, error) {
	if err := s.app.ResetPassword.Handle(ctx, app.ResetPassword{Token: req.GetToken(), NewPassword: req.GetNewPassword()}); err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

// VerifyEmail implements discussionv1.DiscussionServiceServer.
func (s *GRPCServer) VerifyEmail(ctx context.Context, req *discussionv1.VerifyEmailRequest) (*discussionv1.Member, error) {
	return memberResult(s.app.VerifyEmail.Handle(ctx, app.VerifyEmail{Token: req.GetToken()}))
}

// SendVerificationEmail implements discussionv1.DiscussionServiceServer.
func (s *GRPCServer) SendVerificationEmail(ctx context.Context, _ *discussionv1.SendVerificationEmailRequest) (*emptypb.Empty, error) {
	if err := s.app.SendVerificationEmail.Handle(ctx, app.SendVerificationEmail{Caller: auth.CallerFrom(ctx)}); err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

// ChangePassword implements discussionv1.DiscussionServiceServer.
func (s *GRPCServer) ChangePassword(ctx context.Context, req *discussionv1.ChangePasswordRequest) (*emptypb.Empty, error) {
	err := s.app.ChangePassword.Handle(ctx, app.ChangePassword{Caller: auth.CallerFrom(ctx), CurrentPassword: req.GetCurrentPassword(), NewPassword: req.GetNewPassword()})
	if err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}
