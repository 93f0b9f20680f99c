package adapters

import (
	"context"
	"fmt"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

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

// EncodeTwinningEvent builds the envelope of a change. The payload is thin
// (events/v1/twinning.proto): what changed and the references consumers
// filter on, the twinning's status included (the live feed shows nothing
// of a draft); never the whole twinning, transfer or activity.
func EncodeTwinningEvent(ctx context.Context, t *twinning.Twinning, c twinning.Change) (outbox.Record, error) {
	var payload proto.Message
	switch c.Type {
	case twinning.EventTransferStatusChanged:
		tr, ok := t.Transfer(c.TransferID)
		if !ok {
			return outbox.Record{}, fmt.Errorf("transfer %s is not in twinning %s", c.TransferID, t.ID)
		}
		payload = &eventsv1.TransferStatusChanged{
			TwinningId: t.ID, TwinningCode: t.Code, TwinningTitle: t.Title,
			Transfer: transferRef(t, tr),
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
			Activity:       activitySummary(a),
			TwinningStatus: protoconv.StatusToProto(t.Status),
		}
	case twinning.EventDeleted:
		// Thin: the twinning as it was, a draft; it can no longer be fetched.
		ref := twinningRef(t)
		ref.Status = protoconv.StatusToProto(twinning.Draft)
		payload = &eventsv1.TwinningDeleted{Twinning: ref}
	case twinning.EventUpdated:
		payload = &eventsv1.TwinningUpdated{Twinning: twinningRef(t)}
	default:
		payload = &eventsv1.TwinningChanged{Twinning: twinningRef(t), Change: protoconv.StatusChange(c.StatusChange)}
	}
	env, err := events.NewEnvelope(string(c.Type), c.Actor, AggregateType, t.ID, t.Version, payload, c.At)
	if err != nil {
		return outbox.Record{}, err
	}
	// The envelope carries the trace context of the request that wrote it.
	return outbox.NewRecordContext(ctx, env)
}

func twinningRef(t *twinning.Twinning) *eventsv1.TwinningRef {
	return &eventsv1.TwinningRef{
		Id: t.ID, Code: t.Code, Title: t.Title, Status: protoconv.StatusToProto(t.Status),
		OfferingOrganizationIds: clone(t.OfferingOrganizationIDs), ReceivingOrganizationIds: clone(t.ReceivingOrganizationIDs),
		CoordinatorOrganizationId: t.CoordinatorOrganizationID, PracticeIds: t.PracticeIDs(),
		Origin: protoconv.OriginToProto(t.Origin), OriginRef: t.OriginRef, Version: t.Version,
	}
}

func transferRef(t *twinning.Twinning, tr *twinning.Transfer) *eventsv1.TransferRef {
	return &eventsv1.TransferRef{
		Id: tr.ID, PracticeId: tr.PracticeID, ModelCode: tr.ModelCode,
		FromOrganizationId: tr.FromOrganizationID, ToOrganizationId: tr.ToOrganizationID,
		Status: protoconv.TransferStatusToProto(tr.Status), PracticeTitle: tr.PracticeTitle, ModelTitle: tr.ModelTitle,
		Version: t.Version,
	}
}

func activitySummary(a *twinning.Activity) *eventsv1.ActivitySummary {
	s := &eventsv1.ActivitySummary{
		Id: a.ID, Kind: protoconv.ActivityKindToProto(a.Kind), Title: a.Title, Date: a.Date,
		Milestone: a.Milestone, DueDate: a.DueDate, Done: a.Done, LoggedBy: a.LoggedBy,
	}
	if !a.CreatedAt.IsZero() {
		s.CreateTime = timestamppb.New(a.CreatedAt)
	}
	return s
}
