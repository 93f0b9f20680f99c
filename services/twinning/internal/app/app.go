// Package app holds one handler per command and query of the twinning
// service. A handler loads the twinning through the repository, asks the
// practice catalogue what it must know, lets the domain decide, and saves;
// it knows no transport and no database.
package app

import (
	"context"
	"errors"
	"time"
	_ "time/tzdata" // the clock runs in Europe/Rome on any host

	"github.com/google/uuid"

	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/auth"
	"github.com/gemella/gemella/services/platform/idempotency"
	"github.com/gemella/gemella/services/platform/validate"
	"github.com/gemella/gemella/services/twinning/internal/domain/twinning"
)

// Catalog is what the twinning service asks the practice catalogue. Both
// calls answer NotFound for an unknown id and Unavailable when the
// catalogue cannot be reached in time.
type Catalog interface {
	// Practice returns a practice by id or slug.
	Practice(ctx context.Context, idOrSlug string) (Practice, error)
	// Organization returns an organisation by id.
	Organization(ctx context.Context, id string) (Organization, error)
}

// Practice is what a transfer needs to know of a practice.
type Practice struct {
	ID    string
	Title string
	// Status is the catalogue's status name: draft, submitted, published, archived.
	Status               string
	OwnerOrganizationIDs []string
	Models               []Model
	// Themes are the practice's themes (search filters twinnings by them).
	Themes []string
}

// Published is the status a practice must have to be transferred.
const Published = "published"

// Model is a transferable model of a practice.
type Model struct {
	Code                string
	Title               string
	OwnerOrganizationID string
}

// Organization is what a twinning needs to know of a party.
type Organization struct {
	ID            string
	Name          string
	TerritoryCode string
}

// Deps are the ports the application needs.
type Deps struct {
	Twinnings twinning.Repository
	Catalog   Catalog
	// Now is the clock; the time in Europe/Rome, to the millisecond that
	// BSON dates keep, when nil.
	Now func() time.Time
	// NewID makes an id; with a request id it must be deterministic, so a
	// retried AddTransfer or LogActivity finds the first one. uuid when nil.
	NewID func(requestID string) string
	// Keys make a create with a request id happen once per caller and
	// method (AIP-155); in memory when nil, which suits one process only.
	Keys *idempotency.Keys
}

// ServiceName names the service in idempotency keys.
const ServiceName = "twinning"

// Application is every use case of the twinning service.
type Application struct {
	CreateTwinning CreateTwinningHandler
	UpdateTwinning UpdateTwinningHandler
	MoveTwinning   MoveTwinningHandler
	DeleteTwinning DeleteTwinningHandler
	GetTwinning    GetTwinningHandler
	ListTwinnings  ListTwinningsHandler

	AddTransfer    AddTransferHandler
	UpdateTransfer UpdateTransferHandler

	LogActivity    LogActivityHandler
	UpdateActivity UpdateActivityHandler
	ListActivities ListActivitiesHandler

	// Today is the current day, YYYY-MM-DD, on which milestones are judged.
	Today func() string
}

// Location is the time zone of the service's users.
var Location = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Rome")
	if err != nil {
		return time.UTC
	}
	return loc
}()

// New wires the handlers.
func New(d Deps) Application {
	if d.Now == nil {
		d.Now = func() time.Time { return time.Now().Truncate(time.Millisecond).In(Location) }
	}
	if d.NewID == nil {
		d.NewID = NewID
	}
	if d.Keys == nil {
		d.Keys = idempotency.New(idempotency.NewMemoryStore(), idempotency.Config{})
	}
	return Application{
		CreateTwinning: CreateTwinningHandler{d},
		UpdateTwinning: UpdateTwinningHandler{d},
		MoveTwinning:   MoveTwinningHandler{d},
		DeleteTwinning: DeleteTwinningHandler{d},
		GetTwinning:    GetTwinningHandler{d},
		ListTwinnings:  ListTwinningsHandler{d},
		AddTransfer:    AddTransferHandler{d},
		UpdateTransfer: UpdateTransferHandler{d},
		LogActivity:    LogActivityHandler{d},
		UpdateActivity: UpdateActivityHandler{d},
		ListActivities: ListActivitiesHandler{d},
		Today:          func() string { return d.Now().Format(time.DateOnly) },
	}
}

var requestNamespace = uuid.MustParse("0c1d7a3e-5b8f-4e21-9d36-2f4a6b7c8e90")

// NewID returns a time-ordered uuid, or for a request id a name-based one,
// so that the retry of an AddTransfer or LogActivity maps onto the same id.
func NewID(requestID string) string {
	if requestID != "" {
		return uuid.NewSHA1(requestNamespace, []byte(requestID)).String()
	}
	return uuid.Must(uuid.NewV7()).String()
}

// childID is the id of a transfer or activity: scoped by the twinning and
// the caller (AIP-155), so that the same request id sent for two twinnings,
// or by two callers, makes two ids, and a caller's retry the same one.
func (d Deps) childID(ctx context.Context, twinningID, kind, requestID string) string {
	if requestID == "" {
		return d.NewID("")
	}
	return d.NewID(twinningID + "/" + kind + "/" + idempotency.CallerID(auth.CallerFrom(ctx)) + "/" + requestID)
}

func validateRequestID(requestID string) error {
	if requestID == "" {
		return nil
	}
	var v apperr.Violations
	validate.Text(&v, "request_id", requestID, false, 100)
	return v.Err()
}

// isID reports whether s can be a twinning id: ids are UUIDs, codes never
// are, so a code costs one query, not two.
func isID(s string) bool {
	_, err := uuid.Parse(s)
	return err == nil
}

// getVisible loads a twinning the caller may see: one they may not is
// NotFound, as if it did not exist.
func (d Deps) getVisible(ctx context.Context, c auth.Caller, idOrCode string) (*twinning.Twinning, error) {
	t, err := d.get(ctx, idOrCode)
	if err != nil {
		return nil, err
	}
	if !canSee(c, t) {
		return nil, twinning.ErrNotFound(idOrCode)
	}
	return t, nil
}

// get loads a twinning by id, or else by code.
func (d Deps) get(ctx context.Context, idOrCode string) (*twinning.Twinning, error) {
	if idOrCode == "" {
		return nil, apperr.Invalid("id", "is required")
	}
	if isID(idOrCode) {
		t, err := d.Twinnings.Get(ctx, idOrCode)
		if apperr.KindOf(err) != apperr.KindNotFound {
			return t, err
		}
	}
	t, err := d.Twinnings.GetByCode(ctx, twinning.NormaliseCode(idOrCode))
	if apperr.KindOf(err) == apperr.KindNotFound {
		return nil, twinning.ErrNotFound(idOrCode)
	}
	return t, err
}

// errUnchanged tells update that fn found nothing to write.
var errUnchanged = errors.New("nothing to change")

// update applies fn to the twinning with id or code. When fn returns
// errUnchanged nothing is written and the twinning is returned as stored;
// when it returns errHidden (a policy's), the answer is NotFound.
func (d Deps) update(ctx context.Context, idOrCode string, fn func(t *twinning.Twinning) error) (*twinning.Twinning, error) {
	t, err := d.updateOrHide(ctx, idOrCode, fn)
	return t, notFound(idOrCode, err)
}

func (d Deps) updateOrHide(ctx context.Context, idOrCode string, fn func(t *twinning.Twinning) error) (*twinning.Twinning, error) {
	if idOrCode == "" {
		return nil, apperr.Invalid("id", "is required")
	}
	id := idOrCode
	if !isID(idOrCode) {
		byCode, err := d.get(ctx, idOrCode)
		if err != nil {
			return nil, err
		}
		id = byCode.ID
	}
	var kept *twinning.Twinning
	t, err := d.Twinnings.Update(ctx, id, func(t *twinning.Twinning) error {
		err := fn(t)
		if errors.Is(err, errUnchanged) {
			t.Changes()
			kept = t
		}
		return err
	})
	if errors.Is(err, errUnchanged) {
		return kept, nil
	}
	return t, err
}
