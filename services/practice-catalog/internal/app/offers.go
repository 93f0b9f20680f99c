package app

import (
	"context"

	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/auth"
	"github.com/gemella/gemella/services/platform/paging"
	"github.com/gemella/gemella/services/platform/validate"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/offer"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/practice"
)

// CreateOffer is the command to offer support on a practice ("offro").
type CreateOffer struct {
	RequestID string
	Terms     offer.Terms
	Actor     string
}

// CreateOfferHandler handles CreateOffer.
type CreateOfferHandler struct{ d Deps }

// Handle checks the offer against its practice and opens it, or returns
// the one this caller's previous call with the same request id opened.
func (h CreateOfferHandler) Handle(ctx context.Context, cmd CreateOffer) (*offer.Offer, error) {
	caller := auth.CallerFrom(ctx)
	// The terms first, as CreatePractice does: who may write depends on
	// the organisation they name.
	if err := cmd.Terms.Validate(); err != nil {
		return nil, err
	}
	if err := mayWriteOffer(caller, cmd.Terms.OrganizationID); err != nil {
		return nil, err
	}
	if err := validateRequestID(cmd.RequestID); err != nil {
		return nil, err
	}
	p, err := h.d.Practices.Get(ctx, cmd.Terms.PracticeID)
	if err == nil && !canSeePractice(caller, p) {
		err = practice.ErrNotFound(cmd.Terms.PracticeID)
	}
	if apperr.KindOf(err) == apperr.KindNotFound {
		return nil, apperr.Invalid("practice_id", "practice \""+cmd.Terms.PracticeID+"\" does not exist")
	}
	if err != nil {
		return nil, err
	}
	if err := checkOfferedPractice(p, cmd.Terms); err != nil {
		return nil, err
	}
	return createOnce(ctx, h.d, "CreateOffer", cmd.RequestID, cmd.Terms,
		func(_ context.Context, id string) (*offer.Offer, error) {
			return offer.New(id, cmd.Terms, p.Title, cmd.Actor, h.d.Now())
		}, h.d.Offers.Create, h.d.Offers.Get)
}

// checkOfferedPractice holds an offer to its practice: the organisation
// owns it, it has the models named, and it is published. Field problems
// come first, all at once; the state of the practice after them.
func checkOfferedPractice(p *practice.Practice, t offer.Terms) error {
	var v apperr.Violations
	owned := false
	for _, id := range p.OwnerOrganizationIDs {
		owned = owned || id == t.OrganizationID
	}
	if !owned {
		v.Addf("organization_id", "does not own practice %q: only its owners can offer it", p.ID)
	}
	for i, code := range t.ModelCodes {
		if _, ok := p.Model(code); !ok {
			v.Addf(validate.Index("model_codes", i), "practice %q has no model %s", p.ID, code)
		}
	}
	if err := v.Err(); err != nil {
		return err
	}
	if p.Status != practice.Published {
		return apperr.FailedPrecondition("practice %s is %s: only a published practice can be offered", p.ID, p.Status).WithReason(apperr.ReasonPracticeNotPublished)
	}
	return nil
}

// CloseOffer withdraws an open offer.
type CloseOffer struct {
	ID     string
	Etag   string
	Reason string
	Actor  string
}

// CloseOfferHandler handles CloseOffer.
type CloseOfferHandler struct{ d Deps }

// Handle lets the domain decide whether the offer can close.
func (h CloseOfferHandler) Handle(ctx context.Context, cmd CloseOffer) (*offer.Offer, error) {
	caller := auth.CallerFrom(ctx)
	if err := requireMember(caller); err != nil {
		return nil, err
	}
	if cmd.ID == "" {
		return nil, apperr.Invalid("id", "is required")
	}
	return h.d.Offers.Update(ctx, cmd.ID, func(o *offer.Offer) error {
		if err := mayCloseOffer(caller, o); err != nil {
			return err
		}
		if err := o.CheckEtag(cmd.Etag); err != nil {
			return err
		}
		return o.Close(cmd.Actor, cmd.Reason, h.d.Now())
	})
}

// GetOfferHandler returns one offer.
type GetOfferHandler struct{ d Deps }

// Handle returns NotFound for an unknown id.
func (h GetOfferHandler) Handle(ctx context.Context, id string) (*offer.Offer, error) {
	if id == "" {
		return nil, apperr.Invalid("id", "is required")
	}
	return h.d.Offers.Get(ctx, id)
}

// ListOffers is a page of offers.
type ListOffers struct {
	Filter    offer.Filter
	PageSize  int32
	PageToken string
}

// OfferPage is one page and the token of the next.
type OfferPage struct {
	Items         []*offer.Offer
	NextPageToken string
}

// ListOffersHandler lists offers newest first.
type ListOffersHandler struct{ d Deps }

// Handle returns one page.
func (h ListOffersHandler) Handle(ctx context.Context, q ListOffers) (OfferPage, error) {
	size, err := paging.Size(q.PageSize)
	if err != nil {
		return OfferPage{}, err
	}
	after, err := paging.Decode(q.PageToken, q.Filter.Hash())
	if err != nil {
		return OfferPage{}, err
	}
	items, err := h.d.Offers.List(ctx, q.Filter, after, size+1)
	if err != nil {
		return OfferPage{}, err
	}
	page := OfferPage{Items: items}
	if len(items) > size {
		page.Items = items[:size]
		last := page.Items[size-1]
		page.NextPageToken = paging.Encode(paging.Cursor{Key: last.SortKey(), ID: last.ID}, q.Filter.Hash())
	}
	return page, nil
}
