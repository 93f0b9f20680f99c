package app

import (
	"context"
	"fmt"
	"strings"

	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/auth"
	"github.com/gemella/gemella/services/twinning/internal/domain/twinning"
)

// AddTransfer is the command to transfer one model of a practice from an
// offering party to a receiving party.
type AddTransfer struct {
	TwinningID string
	RequestID  string
	Transfer   twinning.NewTransfer
	Actor      string
}

// AddTransferHandler handles AddTransfer.
type AddTransferHandler struct{ d Deps }

// Handle checks the transfer against the twinning, then against the
// catalogue (the practice is published, the model exists, the offering
// party owns the practice or the model), and only then writes. If the
// catalogue cannot be reached the answer is Unavailable and nothing is
// stored.
func (h AddTransferHandler) Handle(ctx context.Context, cmd AddTransfer) (*twinning.Transfer, error) {
	caller := auth.CallerFrom(ctx)
	if err := requireMember(caller); err != nil {
		return nil, err
	}
	if err := validateRequestID(cmd.RequestID); err != nil {
		return nil, err
	}
	// The body's own rules first, as for every create: without them an
	// editor who left out from_organization_id was told they may not add
	// the transfer (an editor of no party) rather than what to fill in.
	// They depend on nothing stored, so they tell nothing of the twinning.
	if err := cmd.Transfer.Validate(); err != nil {
		return nil, err
	}
	t, err := h.d.get(ctx, cmd.TwinningID)
	if err != nil {
		return nil, err
	}
	if err := mayAddTransfer(caller, t, cmd.Transfer); err != nil {
		return nil, notFound(cmd.TwinningID, err)
	}
	n := cmd.Transfer
	n.ID = h.d.childID(ctx, t.ID, "transfer", cmd.RequestID)
	if existing, ok := t.Transfer(n.ID); ok && cmd.RequestID != "" {
		return existing, nil
	}
	// A dry run on the loaded copy refuses what the twinning alone refuses
	// (its state, its parties, a duplicate) without asking the catalogue.
	if _, err := t.AddTransfer(n, cmd.Actor, h.d.Now()); err != nil {
		return nil, err
	}
	practice, err := h.d.Catalog.Practice(ctx, n.PracticeID)
	if apperr.KindOf(err) == apperr.KindNotFound {
		return nil, apperr.Invalid("practice_id", fmt.Sprintf("practice %q does not exist in the catalogue", n.PracticeID))
	}
	if err != nil {
		return nil, err
	}
	if err := checkAgainstCatalogue(practice, &n); err != nil {
		return nil, err
	}
	var added *twinning.Transfer
	_, err = h.d.update(ctx, t.ID, func(t *twinning.Twinning) error {
		if err := mayAddTransfer(caller, t, n); err != nil {
			return err
		}
		if existing, ok := t.Transfer(n.ID); ok && cmd.RequestID != "" {
			added = existing
			return errUnchanged
		}
		tr, err := t.AddTransfer(n, cmd.Actor, h.d.Now())
		added = tr
		return err
	})
	if err != nil {
		return nil, err
	}
	return added, nil
}

// checkAgainstCatalogue applies what the catalogue says to a new transfer
// and copies the titles into it.
func checkAgainstCatalogue(p Practice, n *twinning.NewTransfer) error {
	if p.Status != Published {
		return apperr.FailedPrecondition("practice %q is %s in the catalogue: only a published practice can be transferred", p.ID, p.Status).WithReason(apperr.ReasonPracticeNotPublished)
	}
	var model *Model
	var codes []string
	for i := range p.Models {
		codes = append(codes, p.Models[i].Code)
		if p.Models[i].Code == n.ModelCode {
			model = &p.Models[i]
		}
	}
	if model == nil {
		known := "it has none"
		if len(codes) > 0 {
			known = "its models are " + strings.Join(codes, ", ")
		}
		return apperr.Invalid("model_code", fmt.Sprintf("model %q is not a model of practice %q: %s", n.ModelCode, p.Title, known))
	}
	owns := model.OwnerOrganizationID == n.FromOrganizationID
	for _, o := range p.OwnerOrganizationIDs {
		owns = owns || o == n.FromOrganizationID
	}
	if !owns {
		return apperr.Invalid("from_organization_id", fmt.Sprintf("organisation %q owns neither practice %q nor its model %s", n.FromOrganizationID, p.Title, model.Code))
	}
	n.PracticeID = p.ID
	n.PracticeTitle = p.Title
	n.ModelTitle = model.Title
	return nil
}
