// Package app holds one handler per command and query of the catalog. A
// handler loads aggregates through the repositories, lets the domain decide,
// and saves; it knows no transport and no database.
package app

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/organization"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/practice"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/validate"
)

// Deps are the ports the application needs.
type Deps struct {
	Organizations organization.Repository
	Practices     practice.Repository
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// NewID makes an id; with a request id it must be deterministic, so a
	// retried create finds the first one. uuid when nil.
	NewID func(requestID string) string
	// SeekOfferDeps are the ports of needs, offers, search and matching.
	SeekOfferDeps
}

// Application is every use case of the catalog.
type Application struct {
	CreateOrganization CreateOrganizationHandler
	UpdateOrganization UpdateOrganizationHandler
	GetOrganization    GetOrganizationHandler
	ListOrganizations  ListOrganizationsHandler

	CreatePractice        CreatePracticeHandler
	UpdatePractice        UpdatePracticeHandler
	MovePractice          MovePracticeHandler
	RevisePractice        RevisePracticeHandler
	GetPractice           GetPracticeHandler
	ListPractices         ListPracticesHandler
	ListPracticeRevisions ListPracticeRevisionsHandler

	// ApplyTransferEvent keeps adoption figures from twinning events.
	ApplyTransferEvent ApplyTransferEventHandler

	// SeekOffer are the use cases of needs, offers, search and matching.
	SeekOffer
}

// New wires the handlers.
func New(d Deps) Application {
	if d.Now == nil {
		d.Now = func() time.Time { return time.Now().UTC() }
	}
	if d.NewID == nil {
		d.NewID = NewID
	}
	return Application{
		CreateOrganization:    CreateOrganizationHandler{d},
		UpdateOrganization:    UpdateOrganizationHandler{d},
		GetOrganization:       GetOrganizationHandler{d},
		ListOrganizations:     ListOrganizationsHandler{d},
		CreatePractice:        CreatePracticeHandler{d},
		UpdatePractice:        UpdatePracticeHandler{d},
		MovePractice:          MovePracticeHandler{d},
		RevisePractice:        RevisePracticeHandler{d},
		GetPractice:           GetPracticeHandler{d},
		ListPractices:         ListPracticesHandler{d},
		ListPracticeRevisions: ListPracticeRevisionsHandler{d},
		ApplyTransferEvent:    ApplyTransferEventHandler{d},
		SeekOffer:             newSeekOffer(d),
	}
}

var requestNamespace = uuid.MustParse("6f1c9e52-2b6c-4d7e-9a51-5c0f6a8e4b10")

// NewID returns a time-ordered uuid, or for a request id a name-based one,
// so that the retry of a create maps onto the same document.
func NewID(requestID string) string {
	if requestID != "" {
		return uuid.NewSHA1(requestNamespace, []byte(requestID)).String()
	}
	return uuid.Must(uuid.NewV7()).String()
}

func validateRequestID(requestID string) error {
	if requestID == "" {
		return nil
	}
	var v apperr.Violations
	validate.Text(&v, "request_id", requestID, false, 100)
	return v.Err()
}

// checkOrganizationsExist reports each id that names no organisation.
func checkOrganizationsExist(ctx context.Context, repo organization.Repository, field string, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	found, err := repo.GetMany(ctx, ids)
	if err != nil {
		return err
	}
	var v apperr.Violations
	for i, id := range ids {
		if _, ok := found[id]; !ok {
			v.Addf(validate.Index(field, i), "organisation %q does not exist", id)
		}
	}
	return v.Err()
}
