// Package ports exposes the notification application over gRPC and to
// the event consumers.
package ports

import (
	"context"
	"errors"
	"time"

	"golang.org/x/text/language"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	notificationv1 "github.com/gemella/gemella/proto/gemella/notification/v1"
	"github.com/gemella/gemella/services/notification/internal/app"
	"github.com/gemella/gemella/services/notification/internal/mail"
	"github.com/gemella/gemella/services/notification/internal/store"
	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/auth"
)

// WatchPoll is how often a live stream looks for new notifications.
var WatchPoll = time.Second

// watchHeartbeat is how often an idle stream repeats the unread count, so
// that a dead client is noticed.
const watchHeartbeat = 15 * time.Second

// GRPCServer implements notificationv1.NotificationServiceServer.
type GRPCServer struct {
	notificationv1.UnimplementedNotificationServiceServer
	app    *app.App
	tokens mail.Tokens
}

// NewGRPCServer wraps the application; tokens check unsubscribe links.
func NewGRPCServer(a *app.App, tokens mail.Tokens) *GRPCServer {
	return &GRPCServer{app: a, tokens: tokens}
}

func follow(f *store.Follow) *notificationv1.Follow {
	kinds := map[string]notificationv1.FollowKind{app.KindTwinning: notificationv1.FollowKind_FOLLOW_KIND_TWINNING,
		app.KindPractice: notificationv1.FollowKind_FOLLOW_KIND_PRACTICE, app.KindThread: notificationv1.FollowKind_FOLLOW_KIND_THREAD,
		app.KindOrganization: notificationv1.FollowKind_FOLLOW_KIND_ORGANIZATION}
	return &notificationv1.Follow{Kind: kinds[f.Kind], TargetId: f.TargetID, Automatic: f.Automatic, CreateTime: timestamppb.New(f.CreatedAt)}
}

var reasons = map[string]notificationv1.NotificationReason{
	app.ReasonReply: notificationv1.NotificationReason_NOTIFICATION_REASON_REPLY, app.ReasonMention: notificationv1.NotificationReason_NOTIFICATION_REASON_MENTION,
	app.ReasonThreadPost: notificationv1.NotificationReason_NOTIFICATION_REASON_THREAD_POST, app.ReasonTwinningState: notificationv1.NotificationReason_NOTIFICATION_REASON_TWINNING_STATE,
	app.ReasonTransferStatus: notificationv1.NotificationReason_NOTIFICATION_REASON_TRANSFER_STATUS, app.ReasonNewPractice: notificationv1.NotificationReason_NOTIFICATION_REASON_NEW_PRACTICE,
	app.ReasonNewStory: notificationv1.NotificationReason_NOTIFICATION_REASON_NEW_STORY, app.ReasonPracticePublished: notificationv1.NotificationReason_NOTIFICATION_REASON_PRACTICE_PUBLISHED,
	app.ReasonPracticeChanged: notificationv1.NotificationReason_NOTIFICATION_REASON_PRACTICE_CHANGED,
	app.ReasonAffiliation:     notificationv1.NotificationReason_NOTIFICATION_REASON_AFFILIATION_DECIDED,
}

// Notification is a notification as the API shows it, in lang.
func Notification(n *store.Notification, lang string) *notificationv1.Notification {
	return &notificationv1.Notification{
		Id: n.ID, Reason: reasons[n.Reason], EventType: n.EventType, SubjectKind: n.SubjectKind, SubjectId: n.SubjectID,
		Title: n.Title, Text: app.Text(n, lang), Link: n.Link, ActorName: n.ActorName, Read: n.Read,
		CreateTime: timestamppb.New(n.CreatedAt), Cursor: n.Seq,
	}
}

// LanguageKey is the metadata that says which language the reader reads:
// the gateway passes the REST client's Accept-Language on under it, the
// portal the language of its page.
const LanguageKey = "accept-language"

// readerLanguages matches app.Languages, in their order.
var readerLanguages = func() language.Matcher {
	var tags []language.Tag
	for _, l := range app.Languages {
		tags = append(tags, language.Make(l))
	}
	return language.NewMatcher(tags)
}()

// readerLanguage is the language a notification's text is said in to
// the caller: the one they read in (LanguageKey), else fallback, the
// member's preference, which is also their e-mails' language.
func readerLanguage(ctx context.Context, fallback string) string {
	md, _ := metadata.FromIncomingContext(ctx)
	for _, v := range md.Get(LanguageKey) {
		tags, _, err := language.ParseAcceptLanguage(v)
		if err != nil || len(tags) == 0 {
			continue
		}
		if _, i, conf := readerLanguages.Match(tags...); conf != language.No {
			return app.Languages[i]
		}
	}
	return fallback
}

// ListFollows implements notificationv1.NotificationServiceServer.
func (s *GRPCServer) ListFollows(ctx context.Context, req *notificationv1.ListFollowsRequest) (*notificationv1.ListFollowsResponse, error) {
	p, err := s.app.ListFollows(ctx, req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	res := &notificationv1.ListFollowsResponse{NextPageToken: p.Next}
	for _, f := range p.Items {
		res.Follows = append(res.Follows, follow(f))
	}
	return res, nil
}

// GetFollow implements notificationv1.NotificationServiceServer.
func (s *GRPCServer) GetFollow(ctx context.Context, req *notificationv1.GetFollowRequest) (*notificationv1.Follow, error) {
	f, err := s.app.GetFollow(ctx, req.GetKind(), req.GetId())
	if err != nil {
		return nil, err
	}
	return follow(f), nil
}

// PutFollow implements notificationv1.NotificationServiceServer.
func (s *GRPCServer) PutFollow(ctx context.Context, req *notificationv1.PutFollowRequest) (*notificationv1.Follow, error) {
	f, err := s.app.PutFollow(ctx, req.GetKind(), req.GetId())
	if err != nil {
		return nil, err
	}
	return follow(f), nil
}

// DeleteFollow implements notificationv1.NotificationServiceServer.
func (s *GRPCServer) DeleteFollow(ctx context.Context, req *notificationv1.DeleteFollowRequest) (*emptypb.Empty, error) {
	if err := s.app.DeleteFollow(ctx, req.GetKind(), req.GetId()); err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

// ListNotifications implements notificationv1.NotificationServiceServer.
func (s *GRPCServer) ListNotifications(ctx context.Context, req *notificationv1.ListNotificationsRequest) (*notificationv1.ListNotificationsResponse, error) {
	p, err := s.app.ListNotifications(ctx, req.GetPageSize(), req.GetPageToken(), req.GetUnreadOnly())
	if err != nil {
		return nil, err
	}
	res := &notificationv1.ListNotificationsResponse{NextPageToken: p.Next, UnreadCount: int32(p.Unread)}
	lang := readerLanguage(ctx, p.Language)
	for _, n := range p.Items {
		res.Notifications = append(res.Notifications, Notification(n, lang))
	}
	return res, nil
}

// MarkRead implements notificationv1.NotificationServiceServer.
func (s *GRPCServer) MarkRead(ctx context.Context, req *notificationv1.MarkReadRequest) (*notificationv1.MarkReadResponse, error) {
	unread, err := s.app.MarkRead(ctx, req.GetIds(), req.GetAll())
	if err != nil {
		return nil, err
	}
	return &notificationv1.MarkReadResponse{UnreadCount: int32(unread)}, nil
}

// WatchNotifications implements notificationv1.NotificationServiceServer:
// it tells the unread count at once, then every new notification with the
// count after it, until the client goes.
func (s *GRPCServer) WatchNotifications(req *notificationv1.WatchNotificationsRequest, stream notificationv1.NotificationService_WatchNotificationsServer) error {
	ctx := stream.Context()
	w, err := s.app.StartWatch(ctx, req.GetAfterCursor())
	if err != nil {
		return err
	}
	lang := readerLanguage(ctx, w.Language)
	lastUnread, lastSent := -1, time.Now()
	t := time.NewTicker(WatchPoll)
	defer t.Stop()
	for {
		ns, unread, err := s.app.Next(ctx, &w)
		if err != nil && ctx.Err() == nil {
			return err
		}
		for i := range ns {
			if err := stream.Send(&notificationv1.WatchNotificationsResponse{Notification: Notification(&ns[i], lang), UnreadCount: int32(unread)}); err != nil {
				return err
			}
			lastUnread, lastSent = unread, time.Now()
		}
		if unread != lastUnread || time.Since(lastSent) > watchHeartbeat {
			if err := stream.Send(&notificationv1.WatchNotificationsResponse{UnreadCount: int32(unread)}); err != nil {
				return err
			}
			lastUnread, lastSent = unread, time.Now()
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

var frequencies = map[notificationv1.EmailFrequency]string{
	notificationv1.EmailFrequency_EMAIL_FREQUENCY_IMMEDIATE: app.FrequencyImmediate, notificationv1.EmailFrequency_EMAIL_FREQUENCY_DAILY: app.FrequencyDaily,
	notificationv1.EmailFrequency_EMAIL_FREQUENCY_WEEKLY: app.FrequencyWeekly, notificationv1.EmailFrequency_EMAIL_FREQUENCY_NEVER: app.FrequencyNever,
}

func frequencyProto(f string) notificationv1.EmailFrequency {
	for k, v := range frequencies {
		if v == f {
			return k
		}
	}
	return notificationv1.EmailFrequency_EMAIL_FREQUENCY_UNSPECIFIED
}

func preferences(p app.Preferences) *notificationv1.Preferences {
	return &notificationv1.Preferences{Email: frequencyProto(p.Frequency), Language: p.Language, EmailAddress: p.Email}
}

// GetPreferences implements notificationv1.NotificationServiceServer.
func (s *GRPCServer) GetPreferences(ctx context.Context, _ *notificationv1.GetPreferencesRequest) (*notificationv1.Preferences, error) {
	p, err := s.app.GetPreferences(ctx)
	if err != nil {
		return nil, err
	}
	return preferences(p), nil
}

// UpdatePreferences implements notificationv1.NotificationServiceServer.
func (s *GRPCServer) UpdatePreferences(ctx context.Context, req *notificationv1.UpdatePreferencesRequest) (*notificationv1.Preferences, error) {
	if !auth.CallerFrom(ctx).IsMember() {
		return nil, apperr.Unauthenticated("log in first: this needs a session token")
	}
	if req.GetPreferences() == nil {
		return nil, apperr.Invalid("preferences", "is required")
	}
	f := req.GetPreferences().GetEmail()
	freq, known := frequencies[f]
	if !known && f != notificationv1.EmailFrequency_EMAIL_FREQUENCY_UNSPECIFIED {
		return nil, apperr.Invalid("preferences.email", "must be EMAIL_FREQUENCY_IMMEDIATE, _DAILY, _WEEKLY or _NEVER")
	}
	p, err := s.app.UpdatePreferences(ctx, freq, req.GetPreferences().GetLanguage())
	if err != nil {
		return nil, err
	}
	return preferences(p), nil
}

// Unsubscribe implements notificationv1.NotificationServiceServer.
func (s *GRPCServer) Unsubscribe(ctx context.Context, req *notificationv1.UnsubscribeRequest) (*notificationv1.UnsubscribeResponse, error) {
	if req.GetToken() == "" {
		return nil, apperr.Invalid("token", "is required")
	}
	memberID, err := s.tokens.Verify(req.GetToken())
	if errors.Is(err, mail.ErrBadToken) {
		return nil, apperr.PermissionDenied("the unsubscribe link is not valid: use the link of the latest e-mail, or change the preferences on the portal")
	}
	if err := s.app.Unsubscribe(ctx, memberID); err != nil {
		return nil, err
	}
	return &notificationv1.UnsubscribeResponse{Email: notificationv1.EmailFrequency_EMAIL_FREQUENCY_NEVER}, nil
}
