package adapters

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"

	eventsv1 "github.com/gemella/gemella/proto/gemella/events/v1"
	"github.com/gemella/gemella/services/platform/events"
	"github.com/gemella/gemella/services/platform/outbox"
	"github.com/gemella/gemella/services/twinning/internal/domain/twinning"
	"github.com/gemella/gemella/services/twinning/internal/protoconv"
)

// AggregateType names the twinning in event envelopes. Transfers and
// activities live inside a twinning, so their events carry the twinning's
// id and version: the version orders every event of one twinning.
const AggregateType = "twinning"

// EncodeTwinningEvent builds the envelope of a change; the payload carries
// what consumers need without calling back, the twinning's status included
// (the live feed shows nothing of a draft).
func EncodeTwinningEvent(ctx context.Context, t *twinning.Twinning, c twinning.Change) (outbox.Record, error) {
	today := c.At.Format(time.DateOnly)
	var payload proto.Message
	switch c.Type {
	case twinning.EventTransferStatusChanged:
		tr, ok := t.Transfer(c.TransferID)
		if !ok {
			return outbox.Record{}, fmt.Errorf("transfer %s is not in twinning %s", c.TransferID, t.ID)
		}
		payload = &eventsv1.TransferStatusChanged{
			TwinningId: t.ID, TwinningCode: t.Code, TwinningTitle: t.Title,
			Transfer: protoconv.Transfer(tr),
			From:     protoconv.TransferStatusToProto(c.TransferFrom), To: protoconv.TransferStatusToProto(c.TransferTo),
			Note:           c.Note,
			TwinningStatus: protoconv.StatusToProto(t.Status),
		}
	case twinning.EventActivityLogged:
		a, ok := t.Activity(c.ActivityID)
		if !ok {
			return outbox.Record{}, fmt.Errorf("activity %s is not in twinning %s", c.ActivityID, t.ID)
		}
		payload = &eventsv1.ActivityLogged{
			TwinningId: t.ID, TwinningCode: t.Code, TwinningTitle: t.Title,
			Activity:       protoconv.Activity(*a, today),
			TwinningStatus: protoconv.StatusToProto(t.Status),
		}
	default:
		payload = &eventsv1.TwinningChanged{Twinning: protoconv.Twinning(t, today), Change: protoconv.StatusChange(c.StatusChange)}
	}
	env, err := events.NewEnvelope(string(c.Type), c.Actor, AggregateType, t.ID, t.Version, payload, c.At)
	if err != nil {
		return outbox.Record{}, err
	}
	// The envelope carries the trace context of the request that wrote it.
	return outbox.NewRecordContext(ctx, env)
}
