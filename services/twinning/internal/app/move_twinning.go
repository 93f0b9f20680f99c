package app

import (
	"context"

	"github.com/gemella/gemella/services/platform/auth"

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

// Handle asks the policy whether the caller in ctx may make the move, then
// lets the domain decide whether it is legal; the move is recorded with
// who, when and why.
func (h MoveTwinningHandler) Handle(ctx context.Context, cmd MoveTwinning) (*twinning.Twinning, error) {
	caller := auth.CallerFrom(ctx)
	if err := requireMember(caller); err != nil {
		return nil, err
	}
	return h.d.update(ctx, cmd.ID, func(t *twinning.Twinning) error {
		if err := mayMove(caller, t, cmd.Move); err != nil {
			return err
		}
		if err := t.CheckEtag(cmd.Etag); err != nil {
			return err
		}
		return t.Move(cmd.Move, cmd.Actor, cmd.Reason, h.d.Now())
	})
}
