package app

import (
	"context"

	"github.com/gemella/gemella/services/platform/auth"

	"github.com/gemella/gemella/services/practice-catalog/internal/domain/practice"
)

// ApplyTransferEvent is what a twinning event says about one transfer of
// a model of a practice.
type ApplyTransferEvent struct {
	PracticeID string
	Record     practice.TransferRecord
}

// ApplyTransferEventHandler keeps the adoption figures of practices and
// models up to date from twinning events.
type ApplyTransferEventHandler struct{ d Deps }

// NewApplyTransferEventHandler builds the handler on the same ports as
// the rest of the application.
func NewApplyTransferEventHandler(d Deps) ApplyTransferEventHandler {
	return ApplyTransferEventHandler{d}
}

// Handle records the transfer's status beside the practice and adds the
// change to its counters. It is idempotent: an event delivered again, or
// one older than what the catalogue knows, writes nothing and reports
// applied false.
func (h ApplyTransferEventHandler) Handle(ctx context.Context, cmd ApplyTransferEvent) (applied bool, err error) {
	if err := mayApplyTwinningEvents(auth.CallerFrom(ctx)); err != nil {
		return false, err
	}
	return h.d.Practices.RecordTransfer(ctx, cmd.PracticeID, cmd.Record)
}
