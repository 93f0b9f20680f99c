package app

import (
	"context"

	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/auth"
	"github.com/gemella/gemella/services/twinning/internal/domain/twinning"
)

// UpdateTransfer moves a transfer's status and/or adds a note or dates.
type UpdateTransfer struct {
	TwinningID string
	TransferID string
	// Etag is the twinning's, when the caller wants the check.
	Etag  string
	Patch twinning.TransferPatch
	Actor string
}

// UpdateTransferHandler handles UpdateTransfer.
type UpdateTransferHandler struct{ d Deps }

// Handle lets the domain decide; a request that asks for nothing new (a
// retry) writes nothing and returns the transfer as it is.
func (h UpdateTransferHandler) Handle(ctx context.Context, cmd UpdateTransfer) (*twinning.Transfer, error) {
	caller := auth.CallerFrom(ctx)
	if err := requireMember(caller); err != nil {
		return nil, err
	}
	if cmd.TransferID == "" {
		return nil, apperr.Invalid("transfer.id", "is required")
	}
	var result *twinning.Transfer
	_, err := h.d.update(ctx, cmd.TwinningID, func(t *twinning.Twinning) error {
		if err := mayUpdateTransfer(caller, t, cmd.TransferID); err != nil {
			return err
		}
		if err := t.CheckEtag(cmd.Etag); err != nil {
			return err
		}
		tr, changed, err := t.UpdateTransfer(cmd.TransferID, cmd.Patch, cmd.Actor, h.d.Now())
		if err != nil {
			return err
		}
		result = tr
		if !changed {
			return errUnchanged
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return result, nil
}
