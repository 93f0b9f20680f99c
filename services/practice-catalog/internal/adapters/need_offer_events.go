package adapters

import (
	"context"

	eventsv1 "github.com/gemella/gemella/proto/gemella/events/v1"
	"github.com/gemella/gemella/services/platform/outbox"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/need"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/offer"
	"github.com/gemella/gemella/services/practice-catalog/internal/protoconv"
)

// EncodeNeedEvent builds the envelope of a need event: a thin reference
// to the need after the change.
func EncodeNeedEvent(ctx context.Context, n *need.Need, c need.Change) (outbox.Record, error) {
	m := protoconv.Need(n)
	ref := &eventsv1.NeedRef{Id: m.GetId(), OrganizationId: m.GetOrganizationId(), Title: m.GetTitle(), Status: m.GetStatus(), MatchedTwinningId: m.GetMatchedTwinningId(), Version: n.Version}
	return record(ctx, string(c.Type), c.Actor, "need", n.ID, n.Version, &eventsv1.NeedChanged{Need: ref, Reason: c.Reason}, c.At)
}

// EncodeOfferEvent builds the envelope of an offer event: a thin reference.
func EncodeOfferEvent(ctx context.Context, o *offer.Offer, c offer.Change) (outbox.Record, error) {
	m := protoconv.Offer(o)
	ref := &eventsv1.OfferRef{Id: m.GetId(), OrganizationId: m.GetOrganizationId(), PracticeId: m.GetPracticeId(), PracticeTitle: m.GetPracticeTitle(), Status: m.GetStatus(), Version: o.Version}
	return record(ctx, string(c.Type), c.Actor, "offer", o.ID, o.Version, &eventsv1.OfferChanged{Offer: ref, Reason: c.Reason}, c.At)
}
