package app

import (
	"context"
	"errors"

	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/auth"
	"github.com/gemella/gemella/services/platform/paging"
	"github.com/gemella/gemella/services/platform/validate"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/need"
)

// CreateNeed is the command to ask for help ("cerco").
type CreateNeed struct {
	RequestID string
	Details   need.Details
	Actor     string
}

// CreateNeedHandler handles CreateNeed.
type CreateNeedHandler struct{ d Deps }

// Handle opens the need, or returns the one this caller's previous call
// with the same request id opened.
func (h CreateNeedHandler) Handle(ctx context.Context, cmd CreateNeed) (*need.Need, error) {
	// The details first, as CreatePractice does: who may write depends on
	// the organisation they name.
	if err := need.CheckNew(cmd.Details); err != nil {
		return nil, err
	}
	if err := mayWriteNeed(auth.CallerFrom(ctx), cmd.Details.OrganizationID); err != nil {
		return nil, err
	}
	if err := validateRequestID(cmd.RequestID); err != nil {
		return nil, err
	}
	return createOnce(ctx, h.d, "CreateNeed", cmd.RequestID, cmd.Details,
		func(ctx context.Context, id string) (*need.Need, error) {
			n, err := need.New(id, cmd.Details, cmd.Actor, h.d.Now())
			if err != nil {
				return nil, err
			}
			return n, checkOrganizationExists(ctx, h.d, "organization_id", n.OrganizationID)
		}, h.d.Needs.Create, h.d.Needs.Get)
}

// checkOrganizationExists reports an id that names no organisation as a
// bad field.
func checkOrganizationExists(ctx context.Context, d Deps, field, id string) error {
	_, err := d.Organizations.Get(ctx, id)
	if apperr.KindOf(err) == apperr.KindNotFound {
		return apperr.Invalid(field, "organisation \""+id+"\" does not exist")
	}
	return err
}

// UpdateNeed edits an open need.
type UpdateNeed struct {
	ID    string
	Etag  string
	Patch func(d *need.Details)
	Actor string
}

// UpdateNeedHandler handles UpdateNeed.
type UpdateNeedHandler struct{ d Deps }

// Handle applies the patch under optimistic concurrency.
func (h UpdateNeedHandler) Handle(ctx context.Context, cmd UpdateNeed) (*need.Need, error) {
	caller := auth.CallerFrom(ctx)
	if err := requireMember(caller); err != nil {
		return nil, err
	}
	if cmd.ID == "" {
		return nil, apperr.Invalid("need.id", "is required")
	}
	return h.d.Needs.Update(ctx, cmd.ID, func(n *need.Need) error {
		if err := mayWriteNeed(caller, n.OrganizationID); err != nil {
			return err
		}
		if err := n.CheckEtag(cmd.Etag); err != nil {
			return err
		}
		next := n.Details
		next.Themes = append([]string(nil), n.Themes...)
		next.Sectors = append([]string(nil), n.Sectors...)
		cmd.Patch(&next)
		return n.Edit(next, h.d.Now())
	})
}

// CloseNeed ends an open or matched need.
type CloseNeed struct {
	ID     string
	Etag   string
	Reason string
	Actor  string
}

// CloseNeedHandler handles CloseNeed.
type CloseNeedHandler struct{ d Deps }

// Handle lets the domain decide whether the need can close.
func (h CloseNeedHandler) Handle(ctx context.Context, cmd CloseNeed) (*need.Need, error) {
	caller := auth.CallerFrom(ctx)
	if err := requireMember(caller); err != nil {
		return nil, err
	}
	if cmd.ID == "" {
		return nil, apperr.Invalid("id", "is required")
	}
	return h.d.Needs.Update(ctx, cmd.ID, func(n *need.Need) error {
		if err := mayCloseNeed(caller, n); err != nil {
			return err
		}
		if err := n.CheckEtag(cmd.Etag); err != nil {
			return err
		}
		return n.Close(cmd.Actor, cmd.Reason, h.d.Now())
	})
}

// GetNeedHandler returns one need.
type GetNeedHandler struct{ d Deps }

// Handle returns NotFound for an unknown id.
func (h GetNeedHandler) Handle(ctx context.Context, id string) (*need.Need, error) {
	if id == "" {
		return nil, apperr.Invalid("id", "is required")
	}
	return h.d.Needs.Get(ctx, id)
}

// ListNeeds is a page of needs.
type ListNeeds struct {
	Filter    need.Filter
	PageSize  int32
	PageToken string
}

// NeedPage is one page and the token of the next.
type NeedPage struct {
	Items         []*need.Need
	NextPageToken string
}

// ListNeedsHandler lists needs newest first.
type ListNeedsHandler struct{ d Deps }

// Handle returns one page.
func (h ListNeedsHandler) Handle(ctx context.Context, q ListNeeds) (NeedPage, error) {
	size, err := paging.Size(q.PageSize)
	if err != nil {
		return NeedPage{}, err
	}
	var v apperr.Violations
	validate.TerritoryCode(&v, "territory_code", q.Filter.TerritoryCode)
	if err := v.Err(); err != nil {
		return NeedPage{}, err
	}
	after, err := paging.Decode(q.PageToken, q.Filter.Hash())
	if err != nil {
		return NeedPage{}, err
	}
	items, err := h.d.Needs.List(ctx, q.Filter, after, size+1)
	if err != nil {
		return NeedPage{}, err
	}
	page := NeedPage{Items: items}
	if len(items) > size {
		page.Items = items[:size]
		last := page.Items[size-1]
		page.NextPageToken = paging.Encode(paging.Cursor{Key: last.SortKey(), ID: last.ID}, q.Filter.Hash())
	}
	return page, nil
}

// MarkNeedMatched is what a twinning event says: a twinning started from
// the need.
type MarkNeedMatched struct {
	NeedID     string
	TwinningID string
	Actor      string
}

// errNeedUnchanged stops a write that would change nothing.
var errNeedUnchanged = errors.New("need unchanged")

// ReleaseNeed is what a twinning event says: the twinning that started
// from the need was cancelled or deleted.
type ReleaseNeed struct {
	NeedID     string
	TwinningID string
	Actor      string
}

// ReleaseNeedHandler moves a need matched by a twinning back to open when
// that twinning is cancelled or deleted.
type ReleaseNeedHandler struct{ d Deps }

// Handle is idempotent: a need not matched by that twinning (closed,
// matched by another, released already) writes nothing and reports
// applied false.
func (h ReleaseNeedHandler) Handle(ctx context.Context, cmd ReleaseNeed) (applied bool, err error) {
	if err := mayApplyTwinningEvents(auth.CallerFrom(ctx)); err != nil {
		return false, err
	}
	_, err = h.d.Needs.Update(ctx, cmd.NeedID, func(n *need.Need) error {
		if !n.Release(cmd.TwinningID, cmd.Actor, h.d.Now()) {
			return errNeedUnchanged
		}
		return nil
	})
	if errors.Is(err, errNeedUnchanged) {
		return false, nil
	}
	return err == nil, err
}

// MarkNeedMatchedHandler moves a need to matched when a twinning starts
// from it.
type MarkNeedMatchedHandler struct{ d Deps }

// Handle is idempotent: the same twinning again writes nothing and reports
// applied false. A need that is closed, or matched by another twinning,
// refuses with FailedPrecondition, which a consumer acknowledges: no retry
// can change it.
func (h MarkNeedMatchedHandler) Handle(ctx context.Context, cmd MarkNeedMatched) (applied bool, err error) {
	if err := mayApplyTwinningEvents(auth.CallerFrom(ctx)); err != nil {
		return false, err
	}
	_, err = h.d.Needs.Update(ctx, cmd.NeedID, func(n *need.Need) error {
		changed, err := n.Match(cmd.TwinningID, cmd.Actor, h.d.Now())
		if err != nil {
			return err
		}
		if !changed {
			return errNeedUnchanged
		}
		return nil
	})
	if errors.Is(err, errNeedUnchanged) {
		return false, nil
	}
	return err == nil, err
}
