package app

import (
	"context"

	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/auth"
	"github.com/gemella/gemella/services/platform/paging"
	"github.com/gemella/gemella/services/platform/validate"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/organization"
)

// CreateOrganization is the command to register an organisation.
type CreateOrganization struct {
	RequestID string
	Details   organization.Details
	Actor     string
}

// CreateOrganizationHandler handles CreateOrganization.
type CreateOrganizationHandler struct{ d Deps }

// Handle creates the organisation, or returns the one this caller's
// previous call with the same request id created.
func (h CreateOrganizationHandler) Handle(ctx context.Context, cmd CreateOrganization) (*organization.Organization, error) {
	if err := mayCreateOrganization(auth.CallerFrom(ctx)); err != nil {
		return nil, err
	}
	if err := validateRequestID(cmd.RequestID); err != nil {
		return nil, err
	}
	return createOnce(ctx, h.d, "CreateOrganization", cmd.RequestID, cmd.Details,
		func(ctx context.Context, id string) (*organization.Organization, error) {
			o, err := organization.New(id, cmd.Details, cmd.Actor, h.d.Now())
			if err != nil {
				return nil, err
			}
			return o, checkReferences(ctx, h.d.Organizations, "", cmd.Details)
		}, h.d.Organizations.Create, h.d.Organizations.Get)
}

// checkReferences verifies the parent and the networks of an organisation.
func checkReferences(ctx context.Context, repo organization.Repository, selfID string, d organization.Details) error {
	ids := append([]string{}, d.NetworkIDs...)
	if d.ParentID != "" {
		ids = append(ids, d.ParentID)
	}
	if len(ids) == 0 {
		return nil
	}
	found, err := repo.GetMany(ctx, ids)
	if err != nil {
		return err
	}
	var v apperr.Violations
	if d.ParentID != "" {
		if _, ok := found[d.ParentID]; !ok {
			v.Addf("parent_id", "organisation %q does not exist", d.ParentID)
		}
	}
	for i, id := range d.NetworkIDs {
		f := validate.Index("network_ids", i)
		switch n, ok := found[id]; {
		case !ok:
			v.Addf(f, "organisation %q does not exist", id)
		case n.Kind != organization.Network:
			v.Addf(f, "organisation %q is a %s, not a network", id, n.Kind)
		case id == selfID:
			v.Add(f, "must not be the organisation itself")
		}
	}
	return v.Err()
}

// UpdateOrganization changes an organisation's details.
type UpdateOrganization struct {
	ID    string
	Etag  string
	Patch func(d *organization.Details)
	Actor string
}

// UpdateOrganizationHandler handles UpdateOrganization.
type UpdateOrganizationHandler struct{ d Deps }

// Handle applies the patch under optimistic concurrency.
func (h UpdateOrganizationHandler) Handle(ctx context.Context, cmd UpdateOrganization) (*organization.Organization, error) {
	caller := auth.CallerFrom(ctx)
	if err := requireMember(caller); err != nil {
		return nil, err
	}
	return h.d.Organizations.Update(ctx, cmd.ID, func(o *organization.Organization) error {
		if err := mayUpdateOrganization(caller, o); err != nil {
			return err
		}
		if err := o.CheckEtag(cmd.Etag); err != nil {
			return err
		}
		next := o.Details
		next.NetworkIDs = append([]string(nil), o.NetworkIDs...)
		cmd.Patch(&next)
		if err := o.Update(next, cmd.Actor, h.d.Now()); err != nil {
			return err
		}
		return checkReferences(ctx, h.d.Organizations, o.ID, next)
	})
}

// GetOrganizationHandler returns one organisation.
type GetOrganizationHandler struct{ d Deps }

// Handle returns NotFound for an unknown id.
func (h GetOrganizationHandler) Handle(ctx context.Context, id string) (*organization.Organization, error) {
	if id == "" {
		return nil, apperr.Invalid("id", "is required")
	}
	return h.d.Organizations.Get(ctx, id)
}

// ListOrganizations is a page of organisations.
type ListOrganizations struct {
	Filter    organization.Filter
	PageSize  int32
	PageToken string
}

// OrganizationPage is one page and the token of the next.
type OrganizationPage struct {
	Items         []*organization.Organization
	NextPageToken string
}

// ListOrganizationsHandler lists organisations by name.
type ListOrganizationsHandler struct{ d Deps }

// Handle returns one page.
func (h ListOrganizationsHandler) Handle(ctx context.Context, q ListOrganizations) (OrganizationPage, error) {
	size, err := paging.Size(q.PageSize)
	if err != nil {
		return OrganizationPage{}, err
	}
	var v apperr.Violations
	validate.TerritoryCode(&v, "territory_code", q.Filter.TerritoryCode)
	if err := v.Err(); err != nil {
		return OrganizationPage{}, err
	}
	after, err := paging.Decode(q.PageToken, q.Filter.Hash())
	if err != nil {
		return OrganizationPage{}, err
	}
	items, err := h.d.Organizations.List(ctx, q.Filter, after, size+1)
	if err != nil {
		return OrganizationPage{}, err
	}
	page := OrganizationPage{Items: items}
	if len(items) > size {
		page.Items = items[:size]
		last := page.Items[size-1]
		page.NextPageToken = paging.Encode(paging.Cursor{Key: last.SortKey(), ID: last.ID}, q.Filter.Hash())
	}
	return page, nil
}
