package app

import (
	"context"

	"github.com/gemella/gemella/services/platform/auth"

	"github.com/gemella/gemella/services/twinning/internal/domain/twinning"
)

// GetTwinningHandler returns a twinning by id or code.
type GetTwinningHandler struct{ d Deps }

// Handle tries the id first, then the code. A draft exists only for its
// parties' editors and coordinators (the caller in ctx).
func (h GetTwinningHandler) Handle(ctx context.Context, idOrCode string) (*twinning.Twinning, error) {
	return h.d.getVisible(ctx, auth.CallerFrom(ctx), idOrCode)
}
