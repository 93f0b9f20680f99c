package app

import (
	"context"

	"github.com/gemella/gemella/services/platform/auth"
	"github.com/gemella/gemella/services/platform/idempotency"
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
// request id is the caller's own (AIP-155, platform/idempotency): this
// caller's retry with the same details gets the twinning the first call
// made, the same request id with other details is refused naming
// request_id, and another caller's identical request id is theirs.
func (h CreateTwinningHandler) Handle(ctx context.Context, cmd CreateTwinning) (*twinning.Twinning, error) {
	caller := auth.CallerFrom(ctx)
	// The details first, as CreatePractice does: who may create depends on
	// the parties they name, and the rules are public (the OpenAPI
	// document), so a 400 naming the bad fields tells no one anything.
	if err := twinning.CheckNew(cmd.Details); err != nil {
		return nil, err
	}
	if err := mayCreate(caller, cmd.Details); err != nil {
		return nil, err
	}
	if err := validateRequestID(cmd.RequestID); err != nil {
		return nil, err
	}
	key := idempotency.Key{Caller: idempotency.CallerID(caller), Method: ServiceName + ".CreateTwinning", RequestID: cmd.RequestID}
	t, err := idempotency.Create(ctx, h.d.Keys, idempotency.Request{Key: key, Body: cmd.Details}, idempotency.Creator[*twinning.Twinning]{
		NewID: func() string { return h.d.NewID("") },
		Build: func(ctx context.Context, id string) (*twinning.Twinning, error) {
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
			return t, nil
		},
		Save: h.d.Twinnings.Create,
		Get:  h.d.Twinnings.Get,
	})
	if err != nil {
		return nil, err
	}
	if !canSee(caller, t) {
		// The caller's own retry, of a draft they no longer edit.
		return nil, twinning.ErrNotFound(t.ID)
	}
	return t, nil
}
