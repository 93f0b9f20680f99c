package app

import (
	"context"

	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/auth"
	"github.com/gemella/gemella/services/twinning/internal/domain/twinning"
)

// UpdateActivity changes an activity, e.g. marks a milestone done.
type UpdateActivity struct {
	TwinningID string
	ActivityID string
	Patch      func(a *twinning.Activity)
	Actor      string
}

// UpdateActivityHandler handles UpdateActivity.
type UpdateActivityHandler struct{ d Deps }

// Handle applies the patch.
func (h UpdateActivityHandler) Handle(ctx context.Context, cmd UpdateActivity) (*twinning.Activity, error) {
	caller := auth.CallerFrom(ctx)
	if err := requireMember(caller); err != nil {
		return nil, err
	}
	if cmd.ActivityID == "" {
		return nil, apperr.Invalid("activity.id", "is required")
	}
	var updated *twinning.Activity
	_, err := h.d.update(ctx, cmd.TwinningID, func(t *twinning.Twinning) error {
		if err := mayEdit(caller, t); err != nil {
			return err
		}
		if _, recent := t.Activity(cmd.ActivityID); !recent {
			// An older activity is in the log: read after the twinning, it
			// is the newest there is (see adapters.TwinningRepository).
			a, err := h.d.Twinnings.Activity(ctx, t, cmd.ActivityID)
			if err != nil {
				return err
			}
			t.Recall(*a)
		}
		var err error
		updated, err = t.UpdateActivity(cmd.ActivityID, cmd.Patch, cmd.Actor, h.d.Now())
		return err
	})
	if err != nil {
		return nil, err
	}
	return updated, nil
}
