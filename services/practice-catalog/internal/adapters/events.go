package adapters

import (
	"context"
	"time"

	"google.golang.org/protobuf/proto"

	eventsv1 "github.com/gemella/gemella/proto/gemella/events/v1"
	"github.com/gemella/gemella/services/platform/events"
	"github.com/gemella/gemella/services/platform/outbox"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/organization"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/practice"
	"github.com/gemella/gemella/services/practice-catalog/internal/protoconv"
)

// EncodeOrganizationEvent builds the envelope of an organisation event: a
// thin reference to the organisation after the change.
func EncodeOrganizationEvent(ctx context.Context, o *organization.Organization, c organization.Change) (outbox.Record, error) {
	m := protoconv.Organization(o)
	ref := &eventsv1.OrganizationRef{Id: m.GetId(), Name: m.GetName(), Kind: m.GetKind(), ParentId: m.GetParentId(), Version: o.Version}
	var payload proto.Message
	switch c.Type {
	case organization.Created:
		payload = &eventsv1.OrganizationCreated{Organization: ref}
	default:
		payload = &eventsv1.OrganizationUpdated{Organization: ref}
	}
	return record(ctx, string(c.Type), c.Actor, "organisation", o.ID, o.Version, payload, c.At)
}

// EncodePracticeEvent builds the envelope of a practice event: a thin
// reference to the practice after the change, never its content.
func EncodePracticeEvent(ctx context.Context, p *practice.Practice, c practice.Change) (outbox.Record, error) {
	msg := PracticeRef(p)
	var payload proto.Message
	switch c.Type {
	case practice.EventSubmitted:
		payload = &eventsv1.PracticeSubmitted{Practice: msg}
	case practice.EventPublished:
		payload = &eventsv1.PracticePublished{Practice: msg}
	case practice.EventRevised:
		payload = &eventsv1.PracticeRevised{Practice: msg, PreviousRevision: int32(c.PreviousRevision), Note: c.Note}
	case practice.EventDeleted:
		// Thin: nothing of a deleted draft but what it was and whose.
		payload = &eventsv1.PracticeDeleted{Id: p.ID, OwnerOrganizationIds: p.OwnerOrganizationIDs}
	default:
		payload = &eventsv1.PracticeArchived{Practice: msg, Reason: c.Note}
	}
	return record(ctx, string(c.Type), c.Actor, "practice", p.ID, p.Version, payload, c.At)
}

// AdoptionChangedSubject is the event a recorded transfer leaves: the
// search index of every replica reads the practice's figures again.
const AdoptionChangedSubject = "catalog.adoption.changed"

// EncodeAdoptionChanged builds the event of a transfer record that changed
// a practice's figures.
func EncodeAdoptionChanged(ctx context.Context, practiceID string, rec practice.TransferRecord) (outbox.Record, error) {
	at := rec.At
	if at.IsZero() {
		at = time.Now()
	}
	payload := &eventsv1.AdoptionChanged{PracticeId: practiceID, TransferId: rec.TransferID, ModelCode: rec.ModelCode}
	return record(ctx, AdoptionChangedSubject, "system:adoption", "transfer", rec.TransferID, rec.Version, payload, at)
}

// PracticeRef is how events name a practice.
func PracticeRef(p *practice.Practice) *eventsv1.PracticeRef {
	return &eventsv1.PracticeRef{
		Id: p.ID, Slug: p.Slug, Title: p.Title, Status: protoconv.StatusToProto(p.Status), Revision: int32(p.Revision),
		OwnerOrganizationIds: append([]string(nil), p.OwnerOrganizationIDs...), Version: p.Version,
	}
}

// record builds every outbox record of the catalog, with the request's
// ctx, whose trace context the envelope carries.
func record(ctx context.Context, subject, actor, aggType, aggID string, version int64, payload proto.Message, at time.Time) (outbox.Record, error) {
	env, err := events.NewEnvelope(subject, actor, aggType, aggID, version, payload, at)
	if err != nil {
		return outbox.Record{}, err
	}
	return outbox.NewRecordContext(ctx, env)
}
