package events

import (
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventsv1 "github.com/gemella/gemella/proto/gemella/events/v1"
)

// NewEnvelope wraps payload in an Envelope with a fresh, time-ordered event
// id (UUIDv7). subject is the event type, <service>.<aggregate>.<verb>;
// version is the aggregate's version after the change.
func NewEnvelope(subject, actor, aggregateType, aggregateID string, version int64, payload proto.Message, occurredAt time.Time) (*eventsv1.Envelope, error) {
	var errs []error
	if err := checkSubject(subject); err != nil {
		errs = append(errs, fmt.Errorf("subject: %w", err))
	}
	if actor == "" {
		errs = append(errs, errors.New("actor is required"))
	}
	if aggregateType == "" {
		errs = append(errs, errors.New("aggregate type is required"))
	}
	if aggregateID == "" {
		errs = append(errs, errors.New("aggregate id is required"))
	}
	if payload == nil {
		errs = append(errs, errors.New("payload is required"))
	}
	if occurredAt.IsZero() {
		errs = append(errs, errors.New("occurred-at is required"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("new envelope %s: %w", subject, err)
	}

	id, err := uuid.NewV7()
	if err != nil {
		return nil, fmt.Errorf("new envelope %s: event id: %w", subject, err)
	}
	packed, err := anypb.New(payload)
	if err != nil {
		return nil, fmt.Errorf("new envelope %s: pack payload: %w", subject, err)
	}
	return &eventsv1.Envelope{
		EventId:          id.String(),
		Type:             subject,
		OccurredAt:       timestamppb.New(occurredAt),
		Actor:            actor,
		AggregateType:    aggregateType,
		AggregateId:      aggregateID,
		AggregateVersion: version,
		Payload:          packed,
	}, nil
}

// Unpack decodes env's payload into dst, failing when the payload is of
// another type.
func Unpack(env *eventsv1.Envelope, dst proto.Message) error {
	if env == nil || env.GetPayload() == nil {
		return errors.New("unpack event: no payload")
	}
	if err := env.GetPayload().UnmarshalTo(dst); err != nil {
		return fmt.Errorf("unpack event %s (%s): %w", env.GetEventId(), env.GetType(), err)
	}
	return nil
}
