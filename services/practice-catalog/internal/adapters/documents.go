// Package adapters implements the catalog's ports: MongoDB repositories that
// write their events into the same document (the outbox), an in-memory twin
// for tests and benchmarks, and the event encoder.
package adapters

import (
	"time"

	"github.com/gemella/gemella/services/practice-catalog/internal/domain/organization"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/practice"
)

// sortKeySep sorts before every printable character, so "abc" < "abcd".
const sortKeySep = "\t"

type territoryDoc struct {
	Code string `bson:"code,omitempty"`
	Name string `bson:"name,omitempty"`
}

type organizationDoc struct {
	ID          string       `bson:"_id"`
	SortKey     string       `bson:"sort_key"`
	Name        string       `bson:"name"`
	Kind        string       `bson:"kind"`
	Territory   territoryDoc `bson:"territory"`
	ParentID    string       `bson:"parent_id,omitempty"`
	NetworkIDs  []string     `bson:"network_ids,omitempty"`
	Website     string       `bson:"website,omitempty"`
	Description string       `bson:"description,omitempty"`
	CreatedAt   time.Time    `bson:"created_at"`
	UpdatedAt   time.Time    `bson:"updated_at"`
	Version     int64        `bson:"version"`
}

func toOrganizationDoc(o *organization.Organization) organizationDoc {
	return organizationDoc{
		ID: o.ID, SortKey: orgSortKey(o), Name: o.Name, Kind: o.Kind.String(),
		Territory: territoryDoc(o.Territory), ParentID: o.ParentID, NetworkIDs: clone(o.NetworkIDs),
		Website: o.Website, Description: o.Description, CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt,
		Version: o.Version,
	}
}

func orgSortKey(o *organization.Organization) string { return o.SortKey() }

func (d *organizationDoc) toDomain() *organization.Organization {
	kind, _ := organization.ParseKind(d.Kind)
	return &organization.Organization{
		ID: d.ID,
		Details: organization.Details{
			Name: d.Name, Kind: kind, Territory: organization.Territory(d.Territory), ParentID: d.ParentID,
			NetworkIDs: clone(d.NetworkIDs), Website: d.Website, Description: d.Description,
		},
		CreatedAt: d.CreatedAt.UTC(), UpdatedAt: d.UpdatedAt.UTC(), Version: d.Version,
	}
}

type adoptionDoc struct {
	Twinnings                int      `bson:"twinnings"`
	ReceivingOrganizationIDs []string `bson:"receiving_organization_ids,omitempty"`
	InProgress               int      `bson:"in_progress"`
	Adopted                  int      `bson:"adopted"`
	PartiallyAdopted         int      `bson:"partially_adopted"`
	Dropped                  int      `bson:"dropped"`
}

type modelDoc struct {
	Code                string      `bson:"code"`
	Title               string      `bson:"title"`
	Description         string      `bson:"description,omitempty"`
	OwnerOrganizationID string      `bson:"owner_organization_id,omitempty"`
	Adoption            adoptionDoc `bson:"adoption"`
}

type linkDoc struct {
	Title string `bson:"title"`
	URL   string `bson:"url"`
}

type contentDoc struct {
	Slug                 string       `bson:"slug"`
	Title                string       `bson:"title"`
	Summary              string       `bson:"summary,omitempty"`
	Description          string       `bson:"description,omitempty"`
	OwnerOrganizationIDs []string     `bson:"owner_organization_ids"`
	Themes               []string     `bson:"themes"`
	Sectors              []string     `bson:"sectors"`
	ProgrammeName        string       `bson:"programme_name,omitempty"`
	ProgrammePriorities  []string     `bson:"programme_priorities,omitempty"`
	Territory            territoryDoc `bson:"territory"`
	Problem              string       `bson:"problem,omitempty"`
	Results              string       `bson:"results,omitempty"`
	Evidence             string       `bson:"evidence,omitempty"`
	Resources            string       `bson:"resources,omitempty"`
	Prerequisites        string       `bson:"prerequisites,omitempty"`
	StartDate            string       `bson:"start_date,omitempty"`
	Ongoing              bool         `bson:"ongoing"`
	ContactName          string       `bson:"contact_name,omitempty"`
	ContactEmail         string       `bson:"contact_email,omitempty"`
	ContactPhone         string       `bson:"contact_phone,omitempty"`
	Languages            []string     `bson:"languages,omitempty"`
	Attachments          []linkDoc    `bson:"attachments,omitempty"`
	Models               []modelDoc   `bson:"models"`
	// Adapts: see practice_lineage.go.
	Adapts []adaptationDoc `bson:"adapts,omitempty"`
}

type revisionDoc struct {
	Number    int        `bson:"number"`
	RevisedAt time.Time  `bson:"revised_at"`
	RevisedBy string     `bson:"revised_by"`
	Note      string     `bson:"note,omitempty"`
	Content   contentDoc `bson:"content"`
}

type practiceDoc struct {
	ID          string        `bson:"_id"`
	SortKey     string        `bson:"sort_key"`
	Content     contentDoc    `bson:",inline"`
	Status      string        `bson:"status"`
	Revision    int           `bson:"revision"`
	Adoption    adoptionDoc   `bson:"adoption"`
	History     []revisionDoc `bson:"history,omitempty"`
	CreatedAt   time.Time     `bson:"created_at"`
	UpdatedAt   time.Time     `bson:"updated_at"`
	PublishedAt time.Time     `bson:"published_at,omitempty"`
	Version     int64         `bson:"version"`
	// Transfers are the adoption records the figures derive from.
	Transfers []transferRecordDoc `bson:"adoption_transfers,omitempty"`
	CreatedBy string              `bson:"created_by,omitempty"`
}

type transferRecordDoc struct {
	TransferID              string    `bson:"transfer_id"`
	TwinningID              string    `bson:"twinning_id"`
	ModelCode               string    `bson:"model_code"`
	ReceivingOrganizationID string    `bson:"receiving_organization_id,omitempty"`
	Status                  string    `bson:"status"`
	Version                 int64     `bson:"version"`
	At                      time.Time `bson:"at"`
}

func clone[T any](s []T) []T {
	if s == nil {
		return nil
	}
	return append(make([]T, 0, len(s)), s...)
}

func toAdoptionDoc(a practice.Adoption) adoptionDoc {
	return adoptionDoc{a.Twinnings, clone(a.ReceivingOrganizationIDs), a.InProgress, a.Adopted, a.PartiallyAdopted, a.Dropped}
}

func (a adoptionDoc) toDomain() practice.Adoption {
	return practice.Adoption{Twinnings: a.Twinnings, ReceivingOrganizationIDs: clone(a.ReceivingOrganizationIDs), InProgress: a.InProgress, Adopted: a.Adopted, PartiallyAdopted: a.PartiallyAdopted, Dropped: a.Dropped}
}

func toContentDoc(c practice.Content) contentDoc {
	d := contentDoc{
		Slug: c.Slug, Title: c.Title, Summary: c.Summary, Description: c.Description,
		OwnerOrganizationIDs: clone(c.OwnerOrganizationIDs), Themes: nonNil(c.Themes), Sectors: nonNil(c.Sectors),
		ProgrammeName: c.Programme.Name, ProgrammePriorities: clone(c.Programme.Priorities),
		Territory: territoryDoc(c.Territory), Problem: c.Problem, Results: c.Results, Evidence: c.Evidence,
		Resources: c.Resources, Prerequisites: c.Prerequisites, StartDate: c.StartDate, Ongoing: c.Ongoing,
		ContactName: c.Contact.Name, ContactEmail: c.Contact.Email, ContactPhone: c.Contact.Phone,
		Languages: clone(c.Languages), Models: []modelDoc{}, Adapts: toAdaptationDocs(c.Adapts),
	}
	for _, a := range c.Attachments {
		d.Attachments = append(d.Attachments, linkDoc(a))
	}
	for _, m := range c.Models {
		d.Models = append(d.Models, modelDoc{m.Code, m.Title, m.Description, m.OwnerOrganizationID, toAdoptionDoc(m.Adoption)})
	}
	return d
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return clone(s)
}

func (d *contentDoc) toDomain() practice.Content {
	c := practice.Content{
		Slug: d.Slug, Title: d.Title, Summary: d.Summary, Description: d.Description,
		OwnerOrganizationIDs: clone(d.OwnerOrganizationIDs), Themes: emptyToNil(d.Themes), Sectors: emptyToNil(d.Sectors),
		Programme: practice.Programme{Name: d.ProgrammeName, Priorities: clone(d.ProgrammePriorities)},
		Territory: organization.Territory(d.Territory), Problem: d.Problem, Results: d.Results, Evidence: d.Evidence,
		Resources: d.Resources, Prerequisites: d.Prerequisites, StartDate: d.StartDate, Ongoing: d.Ongoing,
		Contact:   practice.Contact{Name: d.ContactName, Email: d.ContactEmail, Phone: d.ContactPhone},
		Languages: clone(d.Languages), Adapts: adaptationsOf(d.Adapts),
	}
	for _, a := range d.Attachments {
		c.Attachments = append(c.Attachments, practice.Link(a))
	}
	for _, m := range d.Models {
		c.Models = append(c.Models, practice.Model{Code: m.Code, Title: m.Title, Description: m.Description, OwnerOrganizationID: m.OwnerOrganizationID, Adoption: m.Adoption.toDomain()})
	}
	return c
}

func emptyToNil(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return clone(s)
}

func toPracticeDoc(p *practice.Practice) practiceDoc {
	d := practiceDoc{
		ID: p.ID, SortKey: p.SortKey(), Content: toContentDoc(p.Content), Status: p.Status.String(),
		Revision: p.Revision, Adoption: toAdoptionDoc(p.Adoption), CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt,
		PublishedAt: p.PublishedAt, Version: p.Version, CreatedBy: p.CreatedBy,
	}
	for _, r := range p.History {
		d.History = append(d.History, revisionDoc{r.Number, r.RevisedAt, r.RevisedBy, r.Note, toContentDoc(r.Content)})
	}
	for _, t := range p.Transfers {
		d.Transfers = append(d.Transfers, transferRecordDoc{t.TransferID, t.TwinningID, t.ModelCode, t.ReceivingOrganizationID, t.Status.String(), t.Version, t.At})
	}
	return d
}

func (d *practiceDoc) toDomain() *practice.Practice {
	st, _ := practice.ParseStatus(d.Status)
	p := &practice.Practice{
		ID: d.ID, Content: d.Content.toDomain(), Status: st, Revision: d.Revision, Adoption: d.Adoption.toDomain(),
		CreatedAt: d.CreatedAt.UTC(), UpdatedAt: d.UpdatedAt.UTC(), Version: d.Version, CreatedBy: d.CreatedBy,
	}
	if !d.PublishedAt.IsZero() {
		p.PublishedAt = d.PublishedAt.UTC()
	}
	for _, r := range d.History {
		p.History = append(p.History, practice.Revision{Number: r.Number, RevisedAt: r.RevisedAt.UTC(), RevisedBy: r.RevisedBy, Note: r.Note, Content: r.Content.toDomain()})
	}
	for _, t := range d.Transfers {
		st, _ := practice.ParseTransferStatus(t.Status)
		p.Transfers = append(p.Transfers, practice.TransferRecord{
			TransferID: t.TransferID, TwinningID: t.TwinningID, ModelCode: t.ModelCode, ReceivingOrganizationID: t.ReceivingOrganizationID,
			Status: st, Version: t.Version, At: t.At.UTC(),
		})
	}
	return p
}
