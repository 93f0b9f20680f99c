// Package app holds one handler per command and query of the catalog. A
// handler loads aggregates through the repositories, lets the domain decide,
// and saves; it knows no transport and no database.
package app

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/auth"
	"github.com/gemella/gemella/services/platform/idempotency"
	"github.com/gemella/gemella/services/platform/validate"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/organization"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/practice"
)

// Deps are the ports the application needs.
type Deps struct {
	Organizations organization.Repository
	Practices     practice.Repository
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// NewID makes a fresh id; a time-ordered uuid when nil.
	NewID func() string
	// Keys make a create with a request id happen once per caller and
	// method (AIP-155); in memory when nil, which suits one process only.
	Keys *idempotency.Keys
	// Lineage finds the practices that adapt others' models; when nil,
	// Practices must implement it.
	Lineage practice.LineageFinder
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
	DeletePractice        DeletePracticeHandler
	GetPractice           GetPracticeHandler
	ListPractices         ListPracticesHandler
	ListPracticeRevisions ListPracticeRevisionsHandler
	GetPracticeLineage    GetPracticeLineageHandler

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
	if d.Keys == nil {
		d.Keys = idempotency.New(idempotency.NewMemoryStore(), idempotency.Config{})
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
		DeletePractice:        DeletePracticeHandler{d},
		GetPractice:           GetPracticeHandler{d},
		ListPractices:         ListPracticesHandler{d},
		ListPracticeRevisions: ListPracticeRevisionsHandler{d},
		GetPracticeLineage:    GetPracticeLineageHandler{d},
		ApplyTransferEvent:    ApplyTransferEventHandler{d},
		SeekOffer:             newSeekOffer(d),
	}
}

// NewID returns a time-ordered uuid.
func NewID() string { return uuid.Must(uuid.NewV7()).String() }

// createOnce creates a resource, once per caller, method and request id:
// a retry with the same body gets the first call's resource, the same
// request id with another body is refused (see platform/idempotency).
// build makes and checks the resource with an id, writing nothing.
func createOnce[T any](ctx context.Context, d Deps, method, requestID string, body any,
	build func(ctx context.Context, id string) (T, error), save func(context.Context, T) error, get func(context.Context, string) (T, error)) (T, error) {
	key := idempotency.Key{Caller: idempotency.CallerID(auth.CallerFrom(ctx)), Method: ServiceName + "." + method, RequestID: requestID}
	return idempotency.Create(ctx, d.Keys, idempotency.Request{Key: key, Body: body},
		idempotency.Creator[T]{NewID: d.NewID, Build: build, Save: save, Get: get})
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
