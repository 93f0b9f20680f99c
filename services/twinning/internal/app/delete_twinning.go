package app

import (
	"context"

	"github.com/gemella/gemella/services/platform/auth"
	"github.com/gemella/gemella/services/twinning/internal/domain/twinning"
)

// DeleteTwinning removes a draft twinning that was never proposed.
type DeleteTwinning struct {
	ID    string
	Etag  string
	Actor string
}

// DeleteTwinningHandler handles DeleteTwinning.
type DeleteTwinningHandler struct{ d Deps }

// Handle lets an editor of a party delete a draft, under the etag; any
// other status is refused with the rule (a proposed twinning is
// cancelled). A twinning the caller cannot see, or already deleted, is
// NotFound.
func (h DeleteTwinningHandler) Handle(ctx context.Context, cmd DeleteTwinning) error {
	caller := auth.CallerFrom(ctx)
	if err := requireMember(caller); err != nil {
		return err
	}
	_, err := h.d.update(ctx, cmd.ID, func(t *twinning.Twinning) error {
		if err := mayDelete(caller, t); err != nil {
			return err
		}
		if err := t.CheckEtag(cmd.Etag); err != nil {
			return err
		}
		return t.Delete(cmd.Actor, h.d.Now())
	})
	return err
}
