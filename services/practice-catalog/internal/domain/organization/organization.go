// Package organization is the aggregate of an administration, school,
// company or network that owns practices.
package organization

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/paging"
	"github.com/gemella/gemella/services/platform/validate"
)

// Kind is what sort of organisation it is. Callers cannot invent values:
// ParseKind is the only way in from outside.
type Kind struct{ s string }

var (
	Region         = Kind{"region"}
	Province       = Kind{"province"}
	Municipality   = Kind{"municipality"}
	School         = Kind{"school"}
	Company        = Kind{"company"}
	TrainingAgency = Kind{"training_agency"}
	ITSFoundation  = Kind{"its_foundation"}
	University     = Kind{"university"}
	Association    = Kind{"association"}
	PublicAgency   = Kind{"public_agency"}
	Network        = Kind{"network"}
)

// Kinds lists every kind.
var Kinds = []Kind{Region, Province, Municipality, School, Company, TrainingAgency, ITSFoundation, University, Association, PublicAgency, Network}

func (k Kind) String() string { return k.s }

// IsZero reports an unset kind.
func (k Kind) IsZero() bool { return k.s == "" }

// ParseKind returns the kind named s, or false.
func ParseKind(s string) (Kind, bool) {
	for _, k := range Kinds {
		if k.s == s {
			return k, true
		}
	}
	return Kind{}, false
}

// Territory is an ISTAT or NUTS coded area.
type Territory struct {
	Code string
	Name string
}

// Details are the fields an editor sets.
type Details struct {
	Name        string
	Kind        Kind
	Territory   Territory
	ParentID    string
	NetworkIDs  []string
	Website     string
	Description string
}

// Organization is the aggregate.
type Organization struct {
	ID string
	Details
	CreatedAt time.Time
	UpdatedAt time.Time
	// Version increases with every write; the etag is derived from it.
	Version int64

	changes []Change
}

// EventType names what happened; it is also the event subject.
type EventType string

const (
	Created EventType = "catalog.organisation.created"
	Updated EventType = "catalog.organisation.updated"
)

// Change is a domain event not yet published.
type Change struct {
	Type  EventType
	Actor string
	At    time.Time
}

// Validate checks every field and reports all problems at once.
func (d Details) Validate() error {
	var v apperr.Violations
	validate.Text(&v, "name", d.Name, true, 200)
	if d.Kind.IsZero() {
		v.Add("kind", "is required: one of region, province, municipality, school, company, training_agency, its_foundation, university, association, public_agency, network")
	}
	validate.TerritoryCode(&v, "territory.code", d.Territory.Code)
	validate.Text(&v, "territory.name", d.Territory.Name, d.Territory.Code != "", 120)
	if d.ParentID != "" {
		validate.ID(&v, "parent_id", d.ParentID)
	}
	for i, id := range d.NetworkIDs {
		validate.ID(&v, validate.Index("network_ids", i), id)
	}
	validate.URL(&v, "website", d.Website)
	validate.Text(&v, "description", d.Description, false, 4000)
	return v.Err()
}

// New creates an organisation after validating it.
func New(id string, d Details, actor string, now time.Time) (*Organization, error) {
	if err := d.Validate(); err != nil {
		return nil, err
	}
	o := &Organization{ID: id, Details: d, CreatedAt: now, UpdatedAt: now}
	o.record(Created, actor, now)
	return o, nil
}

// Etag is the opaque version tag sent to clients.
func (o *Organization) Etag() string { return Etag(o.Version) }

// CheckEtag refuses a write based on an older version. An empty etag skips the check.
func (o *Organization) CheckEtag(etag string) error {
	return checkEtag("organisation", o.ID, o.Version, etag)
}

// Update replaces the details after validating them.
func (o *Organization) Update(d Details, actor string, now time.Time) error {
	if d.ParentID == o.ID {
		return apperr.Invalid("parent_id", "must not be the organisation itself")
	}
	if err := d.Validate(); err != nil {
		return err
	}
	o.Details = d
	o.UpdatedAt = now
	o.record(Updated, actor, now)
	return nil
}

func (o *Organization) record(t EventType, actor string, at time.Time) {
	o.changes = append(o.changes, Change{Type: t, Actor: actor, At: at})
}

// Changes returns and forgets the events recorded since the last call.
func (o *Organization) Changes() []Change {
	c := o.changes
	o.changes = nil
	return c
}

// PeekChanges returns the pending events without forgetting them.
func (o *Organization) PeekChanges() []Change { return o.changes }

// Etag formats a version as an etag.
func Etag(version int64) string { return `"` + strconv.FormatInt(version, 10) + `"` }

func checkEtag(what, id string, version int64, etag string) error {
	if etag == "" {
		return nil
	}
	if strings.Trim(strings.TrimPrefix(etag, "W/"), `"`) != strconv.FormatInt(version, 10) {
		return apperr.Aborted("%s %s was changed by someone else (etag %s, current %s): reload and retry", what, id, etag, Etag(version)).WithReason(apperr.ReasonStaleEtag)
	}
	return nil
}

// CheckEtag is shared by the catalog's aggregates.
func CheckEtag(what, id string, version int64, etag string) error {
	return checkEtag(what, id, version, etag)
}

// Filter selects organisations in List.
type Filter struct {
	Kind          Kind
	TerritoryCode string
	ParentID      string
}

// Hash identifies the filter in page tokens.
func (f Filter) Hash() uint32 {
	return paging.FilterHash("org", f.Kind.String(), f.TerritoryCode, f.ParentID)
}

// SortKey orders organisations by name, then id.
func (o *Organization) SortKey() string {
	return strings.ToLower(o.Name) + "\x00" + o.ID
}

// ErrNotFound builds the NotFound error for id.
func ErrNotFound(id string) error {
	return apperr.NotFound("organisation %q not found", id).WithReason(apperr.ReasonOrganizationNotFound)
}

// Repository stores organisations.
type Repository interface {
	// Create stores a new organisation; AlreadyExists if the id is taken.
	Create(ctx context.Context, o *Organization) error
	// Get returns NotFound for an unknown id.
	Get(ctx context.Context, id string) (*Organization, error)
	// GetMany returns the organisations that exist among ids.
	GetMany(ctx context.Context, ids []string) (map[string]*Organization, error)
	// Update loads, applies fn, and saves atomically; fn may run more than once.
	Update(ctx context.Context, id string, fn func(o *Organization) error) (*Organization, error)
	// List returns up to limit organisations after the cursor, by SortKey.
	List(ctx context.Context, f Filter, after *paging.Cursor, limit int) ([]*Organization, error)
}

// String is for logs.
func (o *Organization) String() string { return fmt.Sprintf("organisation %s (%s)", o.ID, o.Name) }
