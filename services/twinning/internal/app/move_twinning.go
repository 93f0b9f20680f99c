package app

import (
	"context"

	"github.com/gemella/gemella/services/twinning/internal/domain/twinning"
)

// MoveTwinning is a state move: propose, approve, activate, suspend,
// resume, complete or cancel.
type MoveTwinning struct {
	ID     string
	Etag   string
	Move   twinning.Move
	Reason string
	Actor  string
}

// MoveTwinningHandler handles MoveTwinning.
type MoveTwinningHandler struct{ d Deps }

// Handle lets the domain decide whether the move is legal; the move is
// recorded with who, when and why.
func (h MoveTwinningHandler) Handle(ctx context.Context, cmd MoveTwinning) (*twinning.Twinning, error) {
	return h.d.update(ctx, cmd.ID, func(t *twinning.Twinning) error {
		if err := t.CheckEtag(cmd.Etag); err != nil {
			return err
		}
		return t.Move(cmd.Move, cmd.Actor, cmd.Reason, h.d.Now())
	})
}
