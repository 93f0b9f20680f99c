package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	notificationv1 "github.com/gemella/gemella/proto/gemella/notification/v1"
	"github.com/gemella/gemella/services/platform/apperr"
)

// The notification service's routes that are not plain JSON calls.
const (
	// notificationsLivePath streams the caller's notifications as
	// Server-Sent Events; a stream, so no request deadline.
	notificationsLivePath = "/v1/me/notifications/live"
	// unsubscribePath is the List-Unsubscribe link of the e-mails: POST
	// (RFC 8058 one-click, any body) turns e-mail off; GET shows a page
	// with a button that does, so that a link checker clicks nothing.
	unsubscribePath = "/v1/unsubscribe"
)

// isStream is a route whose answer is a stream: no deadline, no
// compression, no caching.
func isStream(path string) bool { return path == feedPath || path == notificationsLivePath }

// notificationRoutes adds the live stream and the unsubscribe link.
func (s *Server) notificationRoutes(mux *runtime.ServeMux, conn *grpc.ClientConn) error {
	client := notificationv1.NewNotificationServiceClient(conn)
	live := func(w http.ResponseWriter, r *http.Request, _ map[string]string) {
		s.serveNotificationsLive(w, r, client)
	}
	unsub := func(w http.ResponseWriter, r *http.Request, _ map[string]string) { s.serveUnsubscribe(w, r, client) }
	return errors.Join(
		s.handlePath(mux, http.MethodGet, notificationsLivePath, live),
		s.handlePath(mux, http.MethodGet, unsubscribePath, unsub),
		s.handlePath(mux, http.MethodPost, unsubscribePath, unsub),
	)
}

// withAuthorization passes the request's session token on to the call,
// and its Accept-Language, as the JSON routes do (forwardedHeader).
func withAuthorization(r *http.Request) context.Context {
	ctx := r.Context()
	if a := r.Header.Get("Authorization"); a != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", a)
	}
	if l := r.Header.Get("Accept-Language"); l != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "accept-language", l)
	}
	return ctx
}

// serveNotificationsLive streams GET /v1/me/notifications/live: an
// "unread" event with the count at once and whenever it changes, and a
// "notification" event per new notification, whose id is its cursor. A
// client that reconnects with Last-Event-ID (or ?last_event_id=) gets what
// it missed first.
func (s *Server) serveNotificationsLive(w http.ResponseWriter, r *http.Request, client notificationv1.NotificationServiceClient) {
	flusher, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	last := r.Header.Get("Last-Event-ID")
	if q := r.URL.Query().Get("last_event_id"); q != "" {
		last = q
	}
	ctx, cancel := context.WithCancel(withAuthorization(r))
	defer cancel()
	stream, err := client.WatchNotifications(ctx, &notificationv1.WatchNotificationsRequest{AfterCursor: last})
	var first *notificationv1.WatchNotificationsResponse
	if err == nil {
		// The first message tells whether the call was accepted.
		first, err = stream.Recv()
	}
	if err != nil {
		s.handleError(r.Context(), nil, nil, w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, "retry: 3000\n\n")
	marshal := protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: true}
	for msg := first; ; {
		if n := msg.GetNotification(); n != nil {
			data, _ := marshal.Marshal(n)
			if _, err := fmt.Fprintf(w, "id: %s\nevent: notification\ndata: %s\n\n", n.GetCursor(), data); err != nil {
				return
			}
		}
		data, _ := json.Marshal(map[string]int32{"unread_count": msg.GetUnreadCount()})
		if _, err := fmt.Fprintf(w, "event: unread\ndata: %s\n\n", data); err != nil {
			return
		}
		flusher.Flush()
		if msg, err = stream.Recv(); err != nil {
			if ctx.Err() == nil && status.Code(err) != codes.Canceled {
				s.logger.Debug("notifications stream ended", "err", err)
			}
			return
		}
	}
}

// serveUnsubscribe answers the e-mails' unsubscribe link.
func (s *Server) serveUnsubscribe(w http.ResponseWriter, r *http.Request, client notificationv1.NotificationServiceClient) {
	token := r.URL.Query().Get("token")
	if r.Method == http.MethodGet {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		fmt.Fprintf(w, `<!doctype html><html lang="it"><head><meta charset="utf-8"><title>Gemella: e-mail</title></head><body>`+
			`<form method="post" action="%s?token=%s"><p>Non ricevere più e-mail di notifica da Gemella? / Stop Gemella's notification e-mails?</p>`+
			`<button type="submit">Sì, basta e-mail / Yes, stop them</button></form></body></html>`,
			unsubscribePath, html.EscapeString(token))
		return
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 4096)) // "List-Unsubscribe=One-Click"
	if token == "" {
		s.writeError(w, r, http.StatusBadRequest, codes.InvalidArgument, apperr.ReasonFieldRequired, "token is required")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	res, err := client.Unsubscribe(ctx, &notificationv1.UnsubscribeRequest{Token: token})
	if err != nil {
		s.handleError(r.Context(), nil, nil, w, r, err)
		return
	}
	if strings.Contains(r.Header.Get("Accept"), "text/html") {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!doctype html><html lang="it"><head><meta charset="utf-8"><title>Gemella: e-mail</title></head><body>`+
			`<p>Fatto: non riceverai più e-mail di notifica. / Done: no more notification e-mails.</p></body></html>`)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	data, _ := protojson.MarshalOptions{UseProtoNames: true}.Marshal(res)
	_, _ = w.Write(data)
}
