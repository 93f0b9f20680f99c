// Package outbox publishes the events that aggregate writes leave in their
// own documents, which is how Gemella loses no event without multi-document
// transactions (ARCHITECTURE.md, "Events").
//
// A repository saves an aggregate and appends the events of that change to
// the document's pending_events array in the same single-document write, and
// increments the document's int64 version field. The Relay then publishes
// each pending record with its event id as Nats-Msg-Id and clears the array,
// but only if the version is still the one it read. Anything published twice
// in between is dropped by the stream's duplicate window.
package outbox

import (
	"errors"
	"fmt"

	"google.golang.org/protobuf/proto"

	eventsv1 "github.com/gemella/gemella/proto/gemella/events/v1"
)

const (
	// Field is the document field holding the unpublished Records, oldest
	// first.
	Field = "pending_events"
	// VersionField is the document field every aggregate write increments.
	VersionField = "version"
)

// Record is one unpublished event inside an aggregate document.
type Record struct {
	// ID is the event id, published as Nats-Msg-Id.
	ID string `bson:"id"`
	// Subject to publish on, e.g. "catalog.practice.published".
	Subject string `bson:"subject"`
	// Data is the protobuf-encoded eventsv1.Envelope.
	Data []byte `bson:"data"`
}

// NewRecord encodes env for the outbox: its event id and type become the
// record's ID and Subject.
func NewRecord(env *eventsv1.Envelope) (Record, error) {
	if env == nil {
		return Record{}, errors.New("new outbox record: no envelope")
	}
	var errs []error
	if env.GetEventId() == "" {
		errs = append(errs, errors.New("event id is required"))
	}
	if env.GetType() == "" {
		errs = append(errs, errors.New("event type (subject) is required"))
	}
	if err := errors.Join(errs...); err != nil {
		return Record{}, fmt.Errorf("new outbox record: %w", err)
	}
	data, err := proto.Marshal(env)
	if err != nil {
		return Record{}, fmt.Errorf("new outbox record %s: marshal envelope: %w", env.GetEventId(), err)
	}
	return Record{ID: env.GetEventId(), Subject: env.GetType(), Data: data}, nil
}
