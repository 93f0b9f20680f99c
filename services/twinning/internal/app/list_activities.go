package app

import (
	"context"

	"github.com/gemella/gemella/services/platform/auth"

	"github.com/gemella/gemella/services/twinning/internal/domain/twinning"
)

// ListActivitiesHandler returns a twinning's activity log.
type ListActivitiesHandler struct{ d Deps }

// Handle returns the log in date order.
func (h ListActivitiesHandler) Handle(ctx context.Context, twinningIDOrCode string) ([]twinning.Activity, error) {
	t, err := h.d.getVisible(ctx, auth.CallerFrom(ctx), twinningIDOrCode)
	if err != nil {
		return nil, err
	}
	return t.ActivitiesByDate(), nil
}
