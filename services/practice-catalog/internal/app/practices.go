package app

import (
	"context"
	"slices"
	"strconv"

	"github.com/google/uuid"

	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/auth"
	"github.com/gemella/gemella/services/platform/paging"
	"github.com/gemella/gemella/services/platform/validate"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/practice"
)

// CreatePractice is the command to write a new draft practice.
type CreatePractice struct {
	RequestID string
	Content   practice.Content
	Actor     string
}

// CreatePracticeHandler handles CreatePractice.
type CreatePracticeHandler struct{ d Deps }

// Handle validates the draft and its owners, then stores it; this
// caller's retry with the same request id gets the first one.
func (h CreatePracticeHandler) Handle(ctx context.Context, cmd CreatePractice) (*practice.Practice, error) {
	if err := validateRequestID(cmd.RequestID); err != nil {
		return nil, err
	}
	return createOnce(ctx, h.d, "CreatePractice", cmd.RequestID, cmd.Content,
		func(ctx context.Context, id string) (*practice.Practice, error) {
			// The shape of the input is checked first: its rules are public
			// (the OpenAPI document), so a 400 naming the bad fields tells an
			// anonymous caller nothing; whether organisations exist is
			// checked only after the caller is known.
			p, err := practice.New(id, cmd.Content, h.d.Now())
			if err != nil {
				return nil, err
			}
			p.CreatedBy = cmd.Actor
			if err := mayCreatePractice(auth.CallerFrom(ctx), cmd.Content.OwnerOrganizationIDs); err != nil {
				return nil, err
			}
			if err := checkOrganizationsExist(ctx, h.d.Organizations, "owner_organization_ids", p.OwnerOrganizationIDs); err != nil {
				return nil, err
			}
			return p, checkLineage(ctx, h.d, "", p.Adapts, nil)
		}, h.d.Practices.Create, h.d.Practices.Get)
}

// UpdatePractice edits a draft or submitted practice.
type UpdatePractice struct {
	ID    string
	Etag  string
	Patch func(c *practice.Content)
	Actor string
}

// UpdatePracticeHandler handles UpdatePractice.
type UpdatePracticeHandler struct{ d Deps }

// Handle applies the patch under optimistic concurrency.
func (h UpdatePracticeHandler) Handle(ctx context.Context, cmd UpdatePractice) (*practice.Practice, error) {
	caller := auth.CallerFrom(ctx)
	if err := requireMember(caller); err != nil {
		return nil, err
	}
	p, err := h.d.Practices.Update(ctx, cmd.ID, func(p *practice.Practice) error {
		stored := slices.Clone(p.Adapts)
		next := cloneContent(p.Content)
		cmd.Patch(&next)
		if err := mayEditPractice(caller, p, &next); err != nil {
			return err
		}
		if err := p.CheckEtag(cmd.Etag); err != nil {
			return err
		}
		if err := p.Edit(next, h.d.Now()); err != nil {
			return err
		}
		if err := checkOrganizationsExist(ctx, h.d.Organizations, "owner_organization_ids", p.OwnerOrganizationIDs); err != nil {
			return err
		}
		return checkLineage(ctx, h.d, p.ID, p.Adapts, stored)
	})
	return p, hiddenAsNotFound(cmd.ID, err)
}

// MovePractice is a state move: submit, publish or archive.
type MovePractice struct {
	ID     string
	Etag   string
	Move   practice.Move
	Reason string
	Actor  string
}

// MovePracticeHandler handles MovePractice.
type MovePracticeHandler struct{ d Deps }

// Handle lets the domain decide whether the move is legal.
func (h MovePracticeHandler) Handle(ctx context.Context, cmd MovePractice) (*practice.Practice, error) {
	caller := auth.CallerFrom(ctx)
	if err := requireMember(caller); err != nil {
		return nil, err
	}
	if cmd.ID == "" {
		return nil, apperr.Invalid("id", "is required")
	}
	p, err := h.d.Practices.Update(ctx, cmd.ID, func(p *practice.Practice) error {
		if err := mayMovePractice(caller, p, cmd.Move); err != nil {
			return err
		}
		if err := p.CheckEtag(cmd.Etag); err != nil {
			return err
		}
		now := h.d.Now()
		switch cmd.Move {
		case practice.MoveSubmit:
			return p.Submit(cmd.Actor, now)
		case practice.MovePublish:
			return p.Publish(cmd.Actor, now)
		case practice.MoveArchive:
			return p.Archive(cmd.Actor, cmd.Reason, now)
		}
		return apperr.Invalid("move", "must be submit, publish or archive")
	})
	return p, hiddenAsNotFound(cmd.ID, err)
}

// RevisePractice changes a published practice and keeps its history.
type RevisePractice struct {
	ID    string
	Etag  string
	Patch func(c *practice.Content)
	Note  string
	Actor string
}

// RevisePracticeHandler handles RevisePractice.
type RevisePracticeHandler struct{ d Deps }

// Handle applies the patch as a new revision.
func (h RevisePracticeHandler) Handle(ctx context.Context, cmd RevisePractice) (*practice.Practice, error) {
	caller := auth.CallerFrom(ctx)
	if err := requireMember(caller); err != nil {
		return nil, err
	}
	p, err := h.d.Practices.Update(ctx, cmd.ID, func(p *practice.Practice) error {
		next := cloneContent(p.Content)
		cmd.Patch(&next)
		if err := mayEditPractice(caller, p, &next); err != nil {
			return err
		}
		if err := p.CheckEtag(cmd.Etag); err != nil {
			return err
		}
		if err := p.Revise(next, cmd.Actor, cmd.Note, h.d.Now()); err != nil {
			return err
		}
		return checkOrganizationsExist(ctx, h.d.Organizations, "owner_organization_ids", p.OwnerOrganizationIDs)
	})
	return p, hiddenAsNotFound(cmd.ID, err)
}

// cloneContent copies the slices, so a patch cannot alias the stored content.
func cloneContent(c practice.Content) practice.Content {
	c.OwnerOrganizationIDs = append([]string(nil), c.OwnerOrganizationIDs...)
	c.Themes = append([]string(nil), c.Themes...)
	c.Sectors = append([]string(nil), c.Sectors...)
	c.Programme.Priorities = append([]string(nil), c.Programme.Priorities...)
	c.Languages = append([]string(nil), c.Languages...)
	c.Attachments = append([]practice.Link(nil), c.Attachments...)
	c.Models = append([]practice.Model(nil), c.Models...)
	c.Adapts = append([]practice.Adaptation(nil), c.Adapts...)
	return c
}

// GetPracticeHandler returns a practice by id or slug.
type GetPracticeHandler struct{ d Deps }

// Handle tries the id first, then the slug. A practice not yet published
// exists only for its owners' editors and coordinators (the caller in ctx).
func (h GetPracticeHandler) Handle(ctx context.Context, idOrSlug string) (*practice.Practice, error) {
	p, err := h.get(ctx, idOrSlug)
	if err == nil && !canSeePractice(auth.CallerFrom(ctx), p) {
		return nil, practice.ErrNotFound(idOrSlug)
	}
	if err != nil {
		return nil, err
	}
	return p, withReceivers(ctx, h.d.Practices, p)
}

func (h GetPracticeHandler) get(ctx context.Context, idOrSlug string) (*practice.Practice, error) {
	if idOrSlug == "" {
		return nil, apperr.Invalid("id", "is required")
	}
	// Ids are UUIDs; anything else can only be a slug: one query, not two.
	if _, err := uuid.Parse(idOrSlug); err != nil {
		return h.d.Practices.GetBySlug(ctx, idOrSlug)
	}
	p, err := h.d.Practices.Get(ctx, idOrSlug)
	if apperr.KindOf(err) == apperr.KindNotFound {
		p, err = h.d.Practices.GetBySlug(ctx, idOrSlug)
		if apperr.KindOf(err) == apperr.KindNotFound {
			return nil, practice.ErrNotFound(idOrSlug)
		}
	}
	return p, err
}

// ListPractices is a page of practices.
type ListPractices struct {
	Filter    practice.Filter
	PageSize  int32
	PageToken string
}

// PracticePage is one page and the token of the next.
type PracticePage struct {
	Items         []*practice.Practice
	NextPageToken string
}

// ListPracticesHandler lists practices newest first.
type ListPracticesHandler struct{ d Deps }

// Handle returns one page of the practices the caller in ctx may see:
// unpublished ones only of the organisations they edit, all of them for
// coordinators.
func (h ListPracticesHandler) Handle(ctx context.Context, q ListPractices) (PracticePage, error) {
	q.Filter.Unpublished = unpublishedVisibleTo(auth.CallerFrom(ctx))
	size, err := paging.Size(q.PageSize)
	if err != nil {
		return PracticePage{}, err
	}
	var v apperr.Violations
	validate.TerritoryCode(&v, "territory_code", q.Filter.TerritoryCode)
	if err := v.Err(); err != nil {
		return PracticePage{}, err
	}
	after, err := paging.Decode(q.PageToken, q.Filter.Hash())
	if err != nil {
		return PracticePage{}, err
	}
	items, err := h.d.Practices.List(ctx, q.Filter, after, size+1)
	if err != nil {
		return PracticePage{}, err
	}
	page := PracticePage{Items: items}
	if len(items) > size {
		page.Items = items[:size]
		last := page.Items[size-1]
		page.NextPageToken = paging.Encode(q.Filter.Order.Cursor(last), q.Filter.Hash())
	}
	return page, withReceivers(ctx, h.d.Practices, page.Items...)
}

// ListPracticeRevisions is a page of a practice's earlier revisions.
type ListPracticeRevisions struct {
	ID        string
	PageSize  int32
	PageToken string
}

// RevisionPage is one page of revisions and the token of the next.
type RevisionPage struct {
	Items         []practice.Revision
	NextPageToken string
}

// ListPracticeRevisionsHandler returns the history of a practice.
type ListPracticeRevisionsHandler struct{ d Deps }

// Handle returns one page of earlier revisions, newest first, of a
// practice the caller may see. The token names the practice: a token of
// another practice's list is refused.
func (h ListPracticeRevisionsHandler) Handle(ctx context.Context, q ListPracticeRevisions) (RevisionPage, error) {
	p, err := GetPracticeHandler(h).Handle(ctx, q.ID)
	if err != nil {
		return RevisionPage{}, err
	}
	size, err := paging.Size(q.PageSize)
	if err != nil {
		return RevisionPage{}, err
	}
	hash := paging.FilterHash("practice-revisions", p.ID)
	after, err := paging.Decode(q.PageToken, hash)
	if err != nil {
		return RevisionPage{}, err
	}
	below := 0
	if after != nil {
		if below, err = strconv.Atoi(after.Key); err != nil || below < 1 {
			return RevisionPage{}, apperr.Invalid("page_token", "is not a token this service issued")
		}
	}
	items, err := h.d.Practices.ListRevisions(ctx, p.ID, below, size+1)
	if err != nil {
		return RevisionPage{}, err
	}
	page := RevisionPage{Items: items}
	if len(items) > size {
		page.Items = items[:size]
		last := page.Items[size-1]
		page.NextPageToken = paging.Encode(paging.Cursor{Key: strconv.Itoa(last.Number), ID: p.ID}, hash)
	}
	return page, nil
}

// withReceivers fills the receiving organisations of the practices'
// figures, which are read from the adoption records, not kept on the
// practice: one query for the lot.
func withReceivers(ctx context.Context, repo practice.Repository, ps ...*practice.Practice) error {
	ids := make([]string, 0, len(ps))
	for _, p := range ps {
		if p != nil && p.Adoption.Twinnings > 0 {
			ids = append(ids, p.ID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	receivers, err := repo.Receivers(ctx, ids)
	if err != nil {
		return err
	}
	for _, p := range ps {
		if p != nil {
			p.WithReceivers(receivers[p.ID])
		}
	}
	return nil
}
