package ports

import (
	"context"
	"fmt"
	"log/slog"

	eventsv1 "github.com/gemella/gemella/proto/gemella/events/v1"
	twinningv1 "github.com/gemella/gemella/proto/gemella/twinning/v1"
	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/auth"
	"github.com/gemella/gemella/services/platform/events"
	"github.com/gemella/gemella/services/practice-catalog/internal/app"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/practice"
)

// TransferStatusChanged is the subject of the twinning events the
// catalogue keeps its adoption figures from.
const TransferStatusChanged = "twinning.transfer.status_changed"

// TwinningEvents turns twinning events into catalogue commands.
type TwinningEvents struct {
	apply  app.ApplyTransferEventHandler
	logger *slog.Logger
}

// NewTwinningEvents calls the application's ApplyTransferEvent, as gRPC
// calls its commands.
func NewTwinningEvents(a app.Application, logger *slog.Logger) *TwinningEvents {
	if logger == nil {
		logger = slog.Default()
	}
	return &TwinningEvents{apply: a.ApplyTransferEvent, logger: logger}
}

var transferStatuses = map[twinningv1.TransferStatus]practice.TransferStatus{
	twinningv1.TransferStatus_TRANSFER_STATUS_PLANNED:           practice.TransferPlanned,
	twinningv1.TransferStatus_TRANSFER_STATUS_IN_PROGRESS:       practice.TransferInProgress,
	twinningv1.TransferStatus_TRANSFER_STATUS_ADOPTED:           practice.TransferAdopted,
	twinningv1.TransferStatus_TRANSFER_STATUS_PARTIALLY_ADOPTED: practice.TransferPartiallyAdopted,
	twinningv1.TransferStatus_TRANSFER_STATUS_DROPPED:           practice.TransferDropped,
}

// Handle is an events.Handler. Events of other types are acknowledged and
// ignored; an event no retry can fix (undecodable, or about a practice the
// catalogue does not have) is Permanent and goes to the dead letters.
//
// It acts as the catalog itself (auth.System), the one caller allowed to
// keep adoption figures.
func (c *TwinningEvents) Handle(ctx context.Context, env *eventsv1.Envelope) error {
	if env.GetType() != TransferStatusChanged {
		return nil
	}
	ctx = auth.WithCaller(ctx, auth.System(app.ServiceName))
	var msg eventsv1.TransferStatusChanged
	if err := events.Unpack(env, &msg); err != nil {
		return events.Permanent(err)
	}
	if msg.GetTwinningStatus() == twinningv1.TwinningStatus_TWINNING_STATUS_DRAFT {
		// A draft's transfers are not counted: the draft is private and
		// may be deleted. Proposing it announces them (from = to).
		return nil
	}
	status, ok := transferStatuses[msg.GetTo()]
	if !ok {
		return events.Permanent(fmt.Errorf("event %s: transfer status %s is not one the catalogue counts", env.GetEventId(), msg.GetTo()))
	}
	tr := msg.GetTransfer()
	twinningID := msg.GetTwinningId()
	if twinningID == "" {
		twinningID = env.GetAggregateId()
	}
	applied, err := c.apply.Handle(ctx, app.ApplyTransferEvent{
		PracticeID: tr.GetPracticeId(),
		Record: practice.TransferRecord{
			TransferID: tr.GetId(), TwinningID: twinningID, ModelCode: tr.GetModelCode(),
			ReceivingOrganizationID: tr.GetToOrganizationId(), Status: status,
			Version: env.GetAggregateVersion(), At: env.GetOccurredAt().AsTime(),
		},
	})
	if err != nil {
		if k := apperr.KindOf(err); k == apperr.KindNotFound || k == apperr.KindInvalidArgument {
			return events.Permanent(fmt.Errorf("event %s: %w", env.GetEventId(), err))
		}
		return fmt.Errorf("event %s: %w", env.GetEventId(), err)
	}
	c.logger.Debug("transfer event", "event_id", env.GetEventId(), "practice_id", tr.GetPracticeId(), "transfer_id", tr.GetId(), "status", status, "applied", applied)
	return nil
}
