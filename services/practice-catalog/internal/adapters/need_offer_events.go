package adapters

import (
	"context"

	eventsv1 "github.com/gemella/gemella/proto/gemella/events/v1"
	"github.com/gemella/gemella/services/platform/outbox"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/need"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/offer"
	"github.com/gemella/gemella/services/practice-catalog/internal/protoconv"
)

// EncodeNeedEvent builds the envelope of a need event; the payload carries
// the need as it is after the change, so the search index and other
// services need not call back.
func EncodeNeedEvent(ctx context.Context, n *need.Need, c need.Change) (outbox.Record, error) {
	return record(ctx, string(c.Type), c.Actor, "need", n.ID, n.Version, &eventsv1.NeedChanged{Need: protoconv.Need(n), Reason: c.Reason}, c.At)
}

// EncodeOfferEvent builds the envelope of an offer event.
func EncodeOfferEvent(ctx context.Context, o *offer.Offer, c offer.Change) (outbox.Record, error) {
	return record(ctx, string(c.Type), c.Actor, "offer", o.ID, o.Version, &eventsv1.OfferChanged{Offer: protoconv.Offer(o), Reason: c.Reason}, c.At)
}
