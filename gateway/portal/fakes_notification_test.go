package portal

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	notificationv1 "github.com/gemella/gemella/proto/gemella/notification/v1"
)

// fakeNotification keeps one member's follows and two notifications.
type fakeNotification struct {
	notificationv1.NotificationServiceClient // unimplemented calls panic
	follows                                  map[string]bool
	prefs                                    *notificationv1.Preferences
	read                                     map[string]bool
}

func newFakeNotification() *fakeNotification {
	return &fakeNotification{follows: map[string]bool{"twinning/t-tosca": true}, read: map[string]bool{},
		prefs: &notificationv1.Preferences{Email: notificationv1.EmailFrequency_EMAIL_FREQUENCY_DAILY, Language: "it", EmailAddress: "maico@example.org"}}
}

func member(ctx context.Context) error {
	if md, _ := metadata.FromOutgoingContext(ctx); len(md.Get("authorization")) == 0 {
		return status.Error(codes.Unauthenticated, "log in first: this needs a session token")
	}
	return nil
}

func (f *fakeNotification) ListNotifications(ctx context.Context, _ *notificationv1.ListNotificationsRequest, _ ...grpc.CallOption) (*notificationv1.ListNotificationsResponse, error) {
	if err := member(ctx); err != nil {
		return nil, err
	}
	res := &notificationv1.ListNotificationsResponse{}
	for _, n := range []*notificationv1.Notification{
		{Id: "n1", Text: "Isabella Tisci ha risposto al tuo messaggio in «Libretto»", Link: "/threads/th-general", CreateTime: ts(testNow)},
		{Id: "n2", Text: "Il gemellaggio «Tos.Ca.» è ora attivo", Link: "/twinnings/t-tosca", CreateTime: ts(testNow), Read: true},
	} {
		n.Read = n.Read || f.read[n.GetId()]
		if !n.Read {
			res.UnreadCount++
		}
		res.Notifications = append(res.Notifications, n)
	}
	return res, nil
}

func (f *fakeNotification) MarkRead(ctx context.Context, req *notificationv1.MarkReadRequest, _ ...grpc.CallOption) (*notificationv1.MarkReadResponse, error) {
	if err := member(ctx); err != nil {
		return nil, err
	}
	for _, id := range req.GetIds() {
		f.read[id] = true
	}
	if req.GetAll() {
		f.read["n1"] = true
	}
	return &notificationv1.MarkReadResponse{}, nil
}

func (f *fakeNotification) GetPreferences(ctx context.Context, _ *notificationv1.GetPreferencesRequest, _ ...grpc.CallOption) (*notificationv1.Preferences, error) {
	if err := member(ctx); err != nil {
		return nil, err
	}
	return f.prefs, nil
}

func (f *fakeNotification) UpdatePreferences(ctx context.Context, req *notificationv1.UpdatePreferencesRequest, _ ...grpc.CallOption) (*notificationv1.Preferences, error) {
	if err := member(ctx); err != nil {
		return nil, err
	}
	f.prefs = &notificationv1.Preferences{Email: req.GetPreferences().GetEmail(), Language: req.GetPreferences().GetLanguage()}
	return f.prefs, nil
}

func (f *fakeNotification) GetFollow(ctx context.Context, req *notificationv1.GetFollowRequest, _ ...grpc.CallOption) (*notificationv1.Follow, error) {
	if err := member(ctx); err != nil {
		return nil, err
	}
	if !f.follows[req.GetKind()+"/"+req.GetId()] {
		return nil, status.Error(codes.NotFound, "you do not follow this")
	}
	return &notificationv1.Follow{TargetId: req.GetId()}, nil
}

func (f *fakeNotification) PutFollow(ctx context.Context, req *notificationv1.PutFollowRequest, _ ...grpc.CallOption) (*notificationv1.Follow, error) {
	if err := member(ctx); err != nil {
		return nil, err
	}
	f.follows[req.GetKind()+"/"+req.GetId()] = true
	return &notificationv1.Follow{TargetId: req.GetId()}, nil
}

func (f *fakeNotification) DeleteFollow(ctx context.Context, req *notificationv1.DeleteFollowRequest, _ ...grpc.CallOption) (*emptypb.Empty, error) {
	if err := member(ctx); err != nil {
		return nil, err
	}
	delete(f.follows, req.GetKind()+"/"+req.GetId())
	return &emptypb.Empty{}, nil
}
