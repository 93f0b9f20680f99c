package app

import (
	"context"

	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/validate"
	"github.com/gemella/gemella/services/twinning/internal/domain/twinning"
)

// resolveParties checks that every organisation the details name exists
// in the catalogue, and returns the territory codes of the parties, each
// once. An unknown organisation is a violation on its field; a catalogue
// out of reach is Unavailable, so that nothing is stored unchecked.
func resolveParties(ctx context.Context, catalog Catalog, d twinning.Details) ([]string, error) {
	found := map[string]Organization{}
	missing := map[string]bool{}
	for _, id := range d.Parties() {
		o, err := catalog.Organization(ctx, id)
		switch {
		case err == nil:
			found[id] = o
		case apperr.KindOf(err) == apperr.KindNotFound:
			missing[id] = true
		default:
			return nil, err
		}
	}
	var v apperr.Violations
	check := func(field string, ids []string) {
		for i, id := range ids {
			if missing[id] {
				v.Addf(validate.Index(field, i), "organisation %q does not exist in the catalogue", id)
			}
		}
	}
	check("offering_organization_ids", d.OfferingOrganizationIDs)
	check("receiving_organization_ids", d.ReceivingOrganizationIDs)
	if missing[d.CoordinatorOrganizationID] {
		v.Addf("coordinator_organization_id", "organisation %q does not exist in the catalogue", d.CoordinatorOrganizationID)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	var codes []string
	seen := map[string]bool{}
	for _, id := range append(append([]string{}, d.OfferingOrganizationIDs...), d.ReceivingOrganizationIDs...) {
		if c := found[id].TerritoryCode; c != "" && !seen[c] {
			seen[c] = true
			codes = append(codes, c)
		}
	}
	return codes, nil
}

func sameStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
