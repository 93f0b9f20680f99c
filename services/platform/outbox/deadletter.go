package outbox

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/gemella/gemella/services/platform/events"
)

// Headers of an outbox dead letter, besides events.HeaderOriginalSubject,
// events.HeaderOriginalMsgID, events.HeaderError and the record's
// traceparent.
const (
	// HeaderCollection is "<database>.<collection>" of the document.
	HeaderCollection = "Gemella-Outbox-Collection"
	// HeaderDocument is the document's _id.
	HeaderDocument = "Gemella-Outbox-Document"
	// HeaderPayloadSize is the size of the record's data in bytes.
	HeaderPayloadSize = "Gemella-Payload-Size"
	// HeaderAttempts is how many passes tried the record.
	HeaderAttempts = "Gemella-Attempts"
	// HeaderPayloadOmitted is "true" when the dead letter leaves the data
	// out because it is too large; the original is then lost, and the
	// headers say what it was.
	HeaderPayloadOmitted = "Gemella-Payload-Omitted"
)

// maxHeaderLen bounds one header value of a dead letter.
const maxHeaderLen = 1024

// DeadLetterPublisher stores a message on a stream; jetstream.JetStream
// implements it.
type DeadLetterPublisher interface {
	PublishMsg(ctx context.Context, msg *nats.Msg, opts ...jetstream.PublishOpt) (*jetstream.PubAck, error)
}

// DeadLetterSubject is where the relay puts the records of collection coll
// of database db that it gives up on, under events.DeadLetterSubjects.
func DeadLetterSubject(db, coll string) string {
	return "deadletter.outbox." + subjectToken(db) + "." + subjectToken(coll)
}

// subjectToken makes s one subject token.
func subjectToken(s string) string {
	if s == "" {
		return "_"
	}
	return strings.Map(func(c rune) rune {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_':
			return c
		}
		return '_'
	}, s)
}

// deadLetter moves rec to the dead-letter stream. Its data goes along unless
// tooLarge, or unless the dead-letter stream refuses it for its size; then a
// headers-only message says what it was. An error means the dead letter was
// not stored, so the record must stay pending: it is reported as NATS being
// unavailable, since the record's own stream just failed too.
func (r *Relay) deadLetter(ctx context.Context, coll *mongo.Collection, docID bson.RawValue, raw bson.Raw, rec Record, reason string, attempts int, tooLarge bool) error {
	if r.dead == nil {
		return errNoDeadLetters
	}
	db := coll.Database().Name()
	msg := nats.NewMsg(DeadLetterSubject(db, coll.Name()))
	set := func(k, v string) {
		if v != "" {
			msg.Header.Set(k, headerSafe(v))
		}
	}
	set(events.HeaderOriginalSubject, rec.Subject)
	set(events.HeaderOriginalMsgID, rec.ID)
	set(events.HeaderError, reason)
	set(HeaderCollection, db+"."+coll.Name())
	set(HeaderDocument, lockKey(docID))
	set(HeaderPayloadSize, strconv.Itoa(len(rec.Data)))
	set(HeaderAttempts, strconv.Itoa(attempts))
	set(traceparentHeader, rec.Traceparent)
	if tooLarge {
		set(HeaderPayloadOmitted, "true")
	} else {
		msg.Data = rec.Data
	}

	// One dead letter per record, even when two replicas give up on it.
	dlID := "outbox." + rec.ID
	if rec.ID == "" {
		sum := sha256.Sum256(raw)
		dlID = "outbox.invalid." + hex.EncodeToString(sum[:16])
	}
	err := r.publishDeadLetter(ctx, msg, dlID)
	if err != nil && !tooLarge && isTooLarge(err) {
		msg.Data = nil
		set(HeaderPayloadOmitted, "true")
		err = r.publishDeadLetter(ctx, msg, dlID)
	}
	if err != nil {
		return &errUnavailable{fmt.Errorf("dead-letter event %s of document %v: %w", rec.ID, docID, err)}
	}
	r.deadLettered.Add(1)
	r.metrics.deadLettered(coll.Name())
	r.log.Error("outbox record dead-lettered and removed from its document",
		slog.String("collection", coll.Name()), slog.Any("doc_id", docID), slog.String("event_id", rec.ID),
		slog.String("subject", rec.Subject), slog.Int("size", len(rec.Data)), slog.Int("attempts", attempts),
		slog.String("reason", reason), slog.String("dead_letter_subject", msg.Subject),
		slog.Bool("payload_omitted", msg.Data == nil))
	return nil
}

// errNoDeadLetters stops a document at a record that should be dead-lettered
// when the relay has nowhere to put it.
var errNoDeadLetters = errors.New("no dead-letter publisher configured")

func (r *Relay) publishDeadLetter(ctx context.Context, msg *nats.Msg, id string) error {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.PublishTimeout)
	defer cancel()
	_, err := r.dead.PublishMsg(ctx, msg, jetstream.WithMsgID(id))
	return err
}

// unavailable reports an error of NATS as a whole (unreachable, closed,
// timing out, JetStream off) rather than of the one record published.
func unavailable(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return true
	}
	for _, target := range []error{
		context.DeadlineExceeded, context.Canceled,
		nats.ErrTimeout, nats.ErrNoServers, nats.ErrConnectionClosed, nats.ErrConnectionDraining,
		nats.ErrConnectionReconnecting, nats.ErrDisconnected, nats.ErrStaleConnection,
		nats.ErrReconnectBufExceeded, nats.ErrInvalidConnection,
		jetstream.ErrJetStreamNotEnabled, jetstream.ErrJetStreamNotEnabledForAccount,
	} {
		if errors.Is(err, target) {
			return true
		}
	}
	var apiErr *jetstream.APIError
	// 503: JetStream temporarily unavailable, e.g. no stream leader yet.
	return errors.As(err, &apiErr) && apiErr.Code == 503
}

// isTooLarge reports a message refused for its size, by the client (the
// server's max_payload) or by the stream (its max_msg_size).
func isTooLarge(err error) bool {
	if errors.Is(err, nats.ErrMaxPayload) {
		return true
	}
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamMessageExceedsMaximum
}

// headerSafe makes s fit a single header line of bounded length.
func headerSafe(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > maxHeaderLen {
		s = strings.ToValidUTF8(s[:maxHeaderLen], "")
	}
	return s
}
