package app

import (
	"context"

	"github.com/gemella/gemella/services/discussion/internal/domain/thread"
	"github.com/gemella/gemella/services/platform/apperr"
)

// GetThreadHandler returns one thread; threads are public.
type GetThreadHandler struct{ d Deps }

// Handle returns NotFound for an unknown id.
func (h GetThreadHandler) Handle(ctx context.Context, id string) (*thread.Thread, error) {
	if id == "" {
		return nil, apperr.Invalid("id", "is required")
	}
	return h.d.Threads.Get(ctx, id)
}
