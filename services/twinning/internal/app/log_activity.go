package app

import (
	"context"

	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/auth"

	"github.com/gemella/gemella/services/twinning/internal/domain/twinning"
)

// LogActivity adds a dated entry to a twinning's log or plans a milestone.
type LogActivity struct {
	TwinningID string
	RequestID  string
	Activity   twinning.Activity
	Actor      string
}

// LogActivityHandler handles LogActivity.
type LogActivityHandler struct{ d Deps }

// Handle logs the activity; a retry with the same request id returns the
// activity the first call logged.
func (h LogActivityHandler) Handle(ctx context.Context, cmd LogActivity) (*twinning.Activity, error) {
	caller := auth.CallerFrom(ctx)
	if err := requireMember(caller); err != nil {
		return nil, err
	}
	if err := validateRequestID(cmd.RequestID); err != nil {
		return nil, err
	}
	var logged *twinning.Activity
	_, err := h.d.update(ctx, cmd.TwinningID, func(t *twinning.Twinning) error {
		if err := mayEdit(caller, t); err != nil {
			return err
		}
		a := cmd.Activity
		a.ID = h.d.childID(ctx, t.ID, "activity", cmd.RequestID)
		if cmd.RequestID != "" {
			existing, err := h.d.Twinnings.Activity(ctx, t, a.ID)
			if err == nil {
				logged = existing
				return errUnchanged
			}
			if apperr.KindOf(err) != apperr.KindNotFound {
				return err
			}
		}
		var err error
		logged, err = t.LogActivity(a, cmd.Actor, h.d.Now())
		return err
	})
	if err != nil {
		return nil, err
	}
	return logged, nil
}
