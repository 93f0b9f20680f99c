package app

import (
	"context"

	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/auth"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/practice"
)

// DeletePractice removes a draft practice.
type DeletePractice struct {
	ID    string
	Etag  string
	Actor string
}

// DeletePracticeHandler handles DeletePractice.
type DeletePracticeHandler struct{ d Deps }

// Handle lets an editor of an owner delete a draft, under the etag; any
// other status is refused with the rule (published work is archived).
// A practice the caller cannot see, or already deleted, is NotFound.
func (h DeletePracticeHandler) Handle(ctx context.Context, cmd DeletePractice) error {
	caller := auth.CallerFrom(ctx)
	if err := requireMember(caller); err != nil {
		return err
	}
	if cmd.ID == "" {
		return apperr.Invalid("id", "is required")
	}
	_, err := h.d.Practices.Update(ctx, cmd.ID, func(p *practice.Practice) error {
		if err := mayDeletePractice(caller, p); err != nil {
			return err
		}
		if err := p.CheckEtag(cmd.Etag); err != nil {
			return err
		}
		return p.Delete(cmd.Actor, h.d.Now())
	})
	return hiddenAsNotFound(cmd.ID, err)
}
