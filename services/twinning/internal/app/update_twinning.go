package app

import (
	"context"
	"reflect"

	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/auth"
	"github.com/gemella/gemella/services/twinning/internal/domain/twinning"
)

// UpdateTwinning edits a twinning's details.
type UpdateTwinning struct {
	ID    string
	Etag  string
	Patch func(d *twinning.Details)
	Actor string
}

// UpdateTwinningHandler handles UpdateTwinning.
type UpdateTwinningHandler struct{ d Deps }

// Handle applies the patch under optimistic concurrency. When the parties
// change, the new ones are checked against the catalogue first (outside
// the write) and, unless the patch sets territories, give the territories.
func (h UpdateTwinningHandler) Handle(ctx context.Context, cmd UpdateTwinning) (*twinning.Twinning, error) {
	caller := auth.CallerFrom(ctx)
	if err := requireMember(caller); err != nil {
		return nil, err
	}
	current, err := h.d.get(ctx, cmd.ID)
	if err != nil {
		return nil, err
	}
	next := cloneDetails(current.Details)
	cmd.Patch(&next)
	if err := mayEditDetails(caller, current, next); err != nil {
		return nil, notFound(cmd.ID, err)
	}
	if err := current.CheckEtag(cmd.Etag); err != nil {
		return nil, err
	}
	partiesChanged := !sameStrings(next.Parties(), current.Parties())
	deriveTerritories := (partiesChanged && sameStrings(next.TerritoryCodes, current.TerritoryCodes)) ||
		(len(next.TerritoryCodes) == 0 && len(next.Parties()) > 0)
	var codes []string
	if partiesChanged || deriveTerritories {
		// Validate first, so that a malformed id is reported as such rather
		// than looked up.
		probe := next
		if err := probe.Validate(); err != nil {
			return nil, err
		}
		if codes, err = resolveParties(ctx, h.d.Catalog, next); err != nil {
			return nil, err
		}
	}
	t, err := h.d.update(ctx, current.ID, func(t *twinning.Twinning) error {
		d := cloneDetails(t.Details)
		cmd.Patch(&d)
		if err := mayEditDetails(caller, t, d); err != nil {
			return err
		}
		if err := t.CheckEtag(cmd.Etag); err != nil {
			return err
		}
		if !sameStrings(d.Parties(), next.Parties()) {
			return apperr.Aborted("twinning %s changed its parties while this update was checked: retry", t.Code)
		}
		if deriveTerritories {
			d.TerritoryCodes = codes
		}
		if reflect.DeepEqual(d, cloneDetails(t.Details)) {
			// Nothing to change (a body of output-only fields, such as a
			// status, which moves change): no new version, no event.
			return errUnchanged
		}
		return t.Edit(d, cmd.Actor, h.d.Now())
	})
	return t, notFound(cmd.ID, err)
}

// cloneDetails copies the slices, so a patch cannot alias the stored details.
func cloneDetails(d twinning.Details) twinning.Details {
	d.Objectives = append([]twinning.Objective(nil), d.Objectives...)
	d.ExpectedResults = append([]string(nil), d.ExpectedResults...)
	d.Programme.Priorities = append([]string(nil), d.Programme.Priorities...)
	d.OfferingOrganizationIDs = append([]string(nil), d.OfferingOrganizationIDs...)
	d.ReceivingOrganizationIDs = append([]string(nil), d.ReceivingOrganizationIDs...)
	d.TerritoryCodes = append([]string(nil), d.TerritoryCodes...)
	return d
}
