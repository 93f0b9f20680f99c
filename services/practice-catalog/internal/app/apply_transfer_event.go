package app

import (
	"context"
	"errors"

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

// errNothingNew stops a write that would change nothing.
var errNothingNew = errors.New("nothing new")

// Handle records the transfer's status on the practice and recomputes its
// figures. It is idempotent: an event delivered again, or one older than
// what the practice knows, writes nothing and reports applied false.
func (h ApplyTransferEventHandler) Handle(ctx context.Context, cmd ApplyTransferEvent) (applied bool, err error) {
	if err := mayApplyTwinningEvents(auth.CallerFrom(ctx)); err != nil {
		return false, err
	}
	_, err = h.d.Practices.Update(ctx, cmd.PracticeID, func(p *practice.Practice) error {
		changed, err := p.ApplyTransfer(cmd.Record)
		if err != nil {
			return err
		}
		if !changed {
			return errNothingNew
		}
		return nil
	})
	if errors.Is(err, errNothingNew) {
		return false, nil
	}
	return err == nil, err
}
