package app

import (
	"context"

	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/auth"
	"github.com/gemella/gemella/services/twinning/internal/domain/twinning"
)

// CreateTwinning is the command to write a new draft twinning.
type CreateTwinning struct {
	RequestID string
	Details   twinning.Details
	Actor     string
}

// CreateTwinningHandler handles CreateTwinning.
type CreateTwinningHandler struct{ d Deps }

// Handle validates the draft, checks its parties against the catalogue,
// takes their territories unless the caller gave some, and stores it. A
// retry with the same request id returns the twinning the first call made.
func (h CreateTwinningHandler) Handle(ctx context.Context, cmd CreateTwinning) (*twinning.Twinning, error) {
	caller := auth.CallerFrom(ctx)
	if err := mayCreate(caller, cmd.Details); err != nil {
		return nil, err
	}
	// A request id names one twinning for everyone: a retry gets it back
	// only if the caller may see it.
	retried := func(existing *twinning.Twinning) (*twinning.Twinning, error) {
		if !canSee(caller, existing) {
			return nil, apperr.AlreadyExists("request id %q was used for another twinning", cmd.RequestID).WithReason(apperr.ReasonRequestIDReused)
		}
		return existing, nil
	}
	if err := validateRequestID(cmd.RequestID); err != nil {
		return nil, err
	}
	id := h.d.NewID(cmd.RequestID)
	if cmd.RequestID != "" {
		if existing, err := h.d.Twinnings.Get(ctx, id); err == nil {
			return retried(existing)
		}
	}
	t, err := twinning.New(id, cmd.Details, cmd.Actor, h.d.Now())
	if err != nil {
		return nil, err
	}
	codes, err := resolveParties(ctx, h.d.Catalog, t.Details)
	if err != nil {
		return nil, err
	}
	if len(t.TerritoryCodes) == 0 {
		t.TerritoryCodes = codes
	}
	if err := h.d.Twinnings.Create(ctx, t); err != nil {
		if cmd.RequestID != "" && apperr.KindOf(err) == apperr.KindAlreadyExists {
			if existing, gerr := h.d.Twinnings.Get(ctx, id); gerr == nil {
				return retried(existing)
			}
		}
		return nil, err
	}
	return t, nil
}
