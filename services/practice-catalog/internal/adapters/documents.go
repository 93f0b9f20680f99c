// Package adapters implements the catalog's ports: MongoDB repositories that
// write their events into the same document (the outbox), an in-memory twin
// for tests and benchmarks, and the event encoder.
package adapters

import (
	"fmt"
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

// adoptionDoc are the counters a practice keeps of its transfers, and of
// each model's: counters only, int64 as the $inc of RecordTransfer adds
// them. The receiving organisations and the records themselves are in
// their own collections (adoption_documents.go).
type adoptionDoc struct {
	Twinnings        int64 `bson:"twinnings"`
	InProgress       int64 `bson:"in_progress"`
	Adopted          int64 `bson:"adopted"`
	PartiallyAdopted int64 `bson:"partially_adopted"`
	Dropped          int64 `bson:"dropped"`
}

type modelDoc struct {
	Code                string `bson:"code"`
	Title               string `bson:"title"`
	Description         string `bson:"description,omitempty"`
	OwnerOrganizationID string `bson:"owner_organization_id,omitempty"`
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

// revisionDoc is an earlier content of a practice, one document per
// revision in practice_revisions, keyed "<practice id>/<number>".
type revisionDoc struct {
	ID         string     `bson:"_id"`
	PracticeID string     `bson:"practice_id"`
	Number     int        `bson:"number"`
	RevisedAt  time.Time  `bson:"revised_at"`
	RevisedBy  string     `bson:"revised_by"`
	Note       string     `bson:"note,omitempty"`
	Content    contentDoc `bson:"content"`
}

func revisionID(practiceID string, number int) string {
	return fmt.Sprintf("%s/%d", practiceID, number)
}

func toRevisionDoc(practiceID string, r practice.Revision) revisionDoc {
	return revisionDoc{revisionID(practiceID, r.Number), practiceID, r.Number, r.RevisedAt, r.RevisedBy, r.Note, toContentDoc(r.Content)}
}

func (r *revisionDoc) toDomain() practice.Revision {
	return practice.Revision{Number: r.Number, RevisedAt: r.RevisedAt.UTC(), RevisedBy: r.RevisedBy, Note: r.Note, Content: r.Content.toDomain()}
}

type practiceDoc struct {
	ID       string      `bson:"_id"`
	SortKey  string      `bson:"sort_key"`
	Content  contentDoc  `bson:",inline"`
	Status   string      `bson:"status"`
	Revision int         `bson:"revision"`
	Adoption adoptionDoc `bson:"adoption"`
	// ModelAdoption are the counters of each model, by code.
	ModelAdoption map[string]adoptionDoc `bson:"model_adoption,omitempty"`
	CreatedAt     time.Time              `bson:"created_at"`
	UpdatedAt     time.Time              `bson:"updated_at"`
	PublishedAt   time.Time              `bson:"published_at,omitempty"`
	Version       int64                  `bson:"version"`
	CreatedBy     string                 `bson:"created_by,omitempty"`
}

func clone[T any](s []T) []T {
	if s == nil {
		return nil
	}
	return append(make([]T, 0, len(s)), s...)
}

func toAdoptionDoc(a practice.Adoption) adoptionDoc {
	return adoptionDoc{int64(a.Twinnings), int64(a.InProgress), int64(a.Adopted), int64(a.PartiallyAdopted), int64(a.Dropped)}
}

func (a adoptionDoc) toDomain() practice.Adoption {
	return practice.Adoption{Twinnings: int(a.Twinnings), InProgress: int(a.InProgress), Adopted: int(a.Adopted), PartiallyAdopted: int(a.PartiallyAdopted), Dropped: int(a.Dropped)}
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
		d.Models = append(d.Models, modelDoc{m.Code, m.Title, m.Description, m.OwnerOrganizationID})
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
		c.Models = append(c.Models, practice.Model{Code: m.Code, Title: m.Title, Description: m.Description, OwnerOrganizationID: m.OwnerOrganizationID})
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
	add := func(code string, a practice.Adoption) {
		if doc := toAdoptionDoc(a); doc != (adoptionDoc{}) {
			if d.ModelAdoption == nil {
				d.ModelAdoption = map[string]adoptionDoc{}
			}
			d.ModelAdoption[code] = doc
		}
	}
	for code, a := range p.UnlistedAdoption {
		add(code, a)
	}
	for _, m := range p.Models {
		add(m.Code, m.Adoption)
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
	listed := map[string]bool{}
	for i := range p.Models {
		p.Models[i].Adoption = d.ModelAdoption[p.Models[i].Code].toDomain()
		listed[p.Models[i].Code] = true
	}
	for code, a := range d.ModelAdoption {
		if !listed[code] {
			if p.UnlistedAdoption == nil {
				p.UnlistedAdoption = map[string]practice.Adoption{}
			}
			p.UnlistedAdoption[code] = a.toDomain()
		}
	}
	return p
}
