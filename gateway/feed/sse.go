package feed

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/gemella/gemella/services/platform/apperr"
)

// Heartbeat is how often an idle feed sends a comment line, so proxies
// keep the connection and a dead client is noticed.
var Heartbeat = 15 * time.Second

// ServeHTTP streams the feed: GET /v1/events[?twinning_id=…|practice_id=…].
// A client that reconnects with Last-Event-ID (header, or the last_event_id
// query parameter) first gets what it missed.
func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	flusher, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	filter := Filter{TwinningID: r.URL.Query().Get("twinning_id"), PracticeID: r.URL.Query().Get("practice_id")}
	lastID, replay, err := lastEventID(r)
	if err != nil {
		writeProblem(w, r, http.StatusBadRequest, codes.InvalidArgument, "FIELD_INVALID", "Last-Event-ID", "Last-Event-ID must be the id of an event this feed sent")
		return
	}
	sub, backlog, fromStream, err := h.subscribe(r.Context(), filter, lastID, replay)
	if err != nil {
		writeProblem(w, r, http.StatusServiceUnavailable, codes.Unavailable, "SERVICE_UNAVAILABLE", "", "the live feed is not available; retry later")
		return
	}
	defer h.unsubscribe(sub)

	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, "retry: 3000\n\n")

	sent := lastID
	send := func(ev Event) bool {
		if ev.ID <= sent {
			return true
		}
		sent = ev.ID
		data, _ := json.Marshal(ev)
		_, err := fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", ev.ID, ev.Type, data)
		return err == nil
	}
	if fromStream[0] > 0 {
		older, err := h.replay(r.Context(), filter, fromStream[0], fromStream[1])
		if err != nil {
			h.log.Warn("feed: replay from the stream", "err", err)
		}
		for _, ev := range older {
			if !send(ev) {
				return
			}
		}
	}
	for _, ev := range backlog {
		if !send(ev) {
			return
		}
	}
	flusher.Flush()

	ticker := time.NewTicker(Heartbeat)
	defer ticker.Stop()
	for {
		select {
		case ev, open := <-sub.ch:
			if !open {
				return // dropped for being slow, or the gateway is stopping
			}
			if !send(ev) {
				return
			}
			// Send what is already waiting in one write.
			for drained := false; !drained; {
				select {
				case ev, open := <-sub.ch:
					if !open || !send(ev) {
						flusher.Flush()
						return
					}
				default:
					drained = true
				}
			}
			flusher.Flush()
		case <-ticker.C:
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil {
				return
			}
			flusher.Flush()
		case <-r.Context().Done():
			return
		}
	}
}

// lastEventID reads where a reconnecting client stopped; "0" asks for
// everything still kept.
func lastEventID(r *http.Request) (id uint64, replay bool, err error) {
	v := r.Header.Get("Last-Event-ID")
	if v == "" {
		v = r.URL.Query().Get("last_event_id")
	}
	if v == "" {
		return 0, false, nil
	}
	id, err = strconv.ParseUint(v, 10, 64)
	return id, err == nil, err
}

// writeProblem answers with the gateway's one error body, a
// google.rpc.Status: an ErrorInfo with the reason (see apperr.Reasons), a
// BadRequest naming field when there is one, the request id, and a
// RetryInfo with a 503.
func writeProblem(w http.ResponseWriter, r *http.Request, httpStatus int, code codes.Code, reason, field, msg string) {
	details := []proto.Message{&errdetails.ErrorInfo{Reason: reason, Domain: apperr.Domain}}
	if field != "" {
		details = append(details, &errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: field, Description: msg, Reason: reason}}})
	}
	if httpStatus == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
		details = append(details, &errdetails.RetryInfo{RetryDelay: durationpb.New(time.Second)})
	}
	if id := r.Header.Get("X-Request-Id"); id != "" {
		details = append(details, &errdetails.RequestInfo{RequestId: id})
	}
	st := &spb.Status{Code: int32(code), Message: msg}
	for _, d := range details {
		if a, err := anypb.New(d); err == nil {
			st.Details = append(st.Details, a)
		}
	}
	body, _ := protojson.MarshalOptions{UseProtoNames: true}.Marshal(st)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(httpStatus)
	_, _ = w.Write(append(body, '\n'))
}
