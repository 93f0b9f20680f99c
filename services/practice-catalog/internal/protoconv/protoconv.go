// Package protoconv converts between the catalog's domain types and their
// protobuf messages. The gRPC port and the event encoder both use it.
package protoconv

import (
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	catalogv1 "github.com/gemella/gemella/proto/gemella/catalog/v1"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/organization"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/practice"
)

// KindToProto maps a domain kind to its enum value.
func KindToProto(k organization.Kind) catalogv1.OrganizationKind {
	if k.IsZero() {
		return catalogv1.OrganizationKind_ORGANIZATION_KIND_UNSPECIFIED
	}
	return catalogv1.OrganizationKind(catalogv1.OrganizationKind_value["ORGANIZATION_KIND_"+strings.ToUpper(k.String())])
}

// KindFromProto maps an enum value to a domain kind; unspecified or unknown is the zero kind.
func KindFromProto(k catalogv1.OrganizationKind) organization.Kind {
	name := strings.ToLower(strings.TrimPrefix(k.String(), "ORGANIZATION_KIND_"))
	kind, _ := organization.ParseKind(name)
	return kind
}

// StatusToProto maps a domain status to its enum value.
func StatusToProto(s practice.Status) catalogv1.PracticeStatus {
	if s.IsZero() {
		return catalogv1.PracticeStatus_PRACTICE_STATUS_UNSPECIFIED
	}
	return catalogv1.PracticeStatus(catalogv1.PracticeStatus_value["PRACTICE_STATUS_"+strings.ToUpper(s.String())])
}

// StatusFromProto maps an enum value to a domain status (zero for unspecified).
func StatusFromProto(s catalogv1.PracticeStatus) practice.Status {
	st, _ := practice.ParseStatus(strings.ToLower(strings.TrimPrefix(s.String(), "PRACTICE_STATUS_")))
	return st
}

func ts(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

// Organization converts the aggregate to its message.
func Organization(o *organization.Organization) *catalogv1.Organization {
	return &catalogv1.Organization{
		Id:          o.ID,
		Name:        o.Name,
		Kind:        KindToProto(o.Kind),
		Territory:   territory(o.Territory),
		ParentId:    o.ParentID,
		NetworkIds:  o.NetworkIDs,
		Website:     o.Website,
		Description: o.Description,
		CreateTime:  ts(o.CreatedAt),
		UpdateTime:  ts(o.UpdatedAt),
		Etag:        o.Etag(),
	}
}

func territory(t organization.Territory) *catalogv1.Territory {
	if t.Code == "" && t.Name == "" {
		return nil
	}
	return &catalogv1.Territory{Code: t.Code, Name: t.Name}
}

// OrganizationDetails reads the writable fields of a message.
func OrganizationDetails(m *catalogv1.Organization) organization.Details {
	if m == nil {
		return organization.Details{}
	}
	return organization.Details{
		Name:        strings.TrimSpace(m.GetName()),
		Kind:        KindFromProto(m.GetKind()),
		Territory:   organization.Territory{Code: m.GetTerritory().GetCode(), Name: m.GetTerritory().GetName()},
		ParentID:    m.GetParentId(),
		NetworkIDs:  m.GetNetworkIds(),
		Website:     m.GetWebsite(),
		Description: m.GetDescription(),
	}
}

// Adoption converts adoption figures.
func Adoption(a practice.Adoption) *catalogv1.AdoptionFigures {
	return &catalogv1.AdoptionFigures{
		Twinnings:                int32(a.Twinnings),
		ReceivingOrganizationIds: a.ReceivingOrganizationIDs,
		InProgress:               int32(a.InProgress),
		Adopted:                  int32(a.Adopted),
		PartiallyAdopted:         int32(a.PartiallyAdopted),
		Dropped:                  int32(a.Dropped),
	}
}

// Practice converts the aggregate to its message.
func Practice(p *practice.Practice) *catalogv1.Practice {
	m := content(p.Content)
	m.Id = p.ID
	m.Status = StatusToProto(p.Status)
	m.Revision = int32(p.Revision)
	m.Adoption = Adoption(p.Adoption)
	m.CreateTime = ts(p.CreatedAt)
	m.UpdateTime = ts(p.UpdatedAt)
	m.PublishTime = ts(p.PublishedAt)
	m.Etag = p.Etag()
	m.CreatedBy = p.CreatedBy
	return m
}

func content(c practice.Content) *catalogv1.Practice {
	m := &catalogv1.Practice{
		Slug:                 c.Slug,
		Title:                c.Title,
		Summary:              c.Summary,
		Description:          c.Description,
		OwnerOrganizationIds: c.OwnerOrganizationIDs,
		Themes:               c.Themes,
		Sectors:              c.Sectors,
		Territory:            territory(c.Territory),
		Problem:              c.Problem,
		Results:              c.Results,
		Evidence:             c.Evidence,
		Resources:            c.Resources,
		Prerequisites:        c.Prerequisites,
		StartDate:            c.StartDate,
		Ongoing:              c.Ongoing,
		Languages:            c.Languages,
	}
	if c.Programme.Name != "" || len(c.Programme.Priorities) > 0 {
		m.Programme = &catalogv1.Programme{Name: c.Programme.Name, Priorities: c.Programme.Priorities}
	}
	if c.Contact != (practice.Contact{}) {
		m.Contact = &catalogv1.Contact{Name: c.Contact.Name, Email: c.Contact.Email, Phone: c.Contact.Phone}
	}
	for _, a := range c.Attachments {
		m.Attachments = append(m.Attachments, &catalogv1.Link{Title: a.Title, Url: a.URL})
	}
	for _, md := range c.Models {
		m.Models = append(m.Models, &catalogv1.Model{
			Code: md.Code, Title: md.Title, Description: md.Description,
			OwnerOrganizationId: md.OwnerOrganizationID, Adoption: Adoption(md.Adoption),
		})
	}
	m.Adapts = Adaptations(c.Adapts)
	return m
}

// Revision converts a history entry.
func Revision(r practice.Revision, id string) *catalogv1.PracticeRevision {
	c := content(r.Content)
	c.Id = id
	c.Revision = int32(r.Number)
	return &catalogv1.PracticeRevision{Revision: int32(r.Number), ReviseTime: ts(r.RevisedAt), RevisedBy: r.RevisedBy, Note: r.Note, Content: c}
}

// Content reads the writable fields of a message.
func Content(m *catalogv1.Practice) practice.Content {
	if m == nil {
		return practice.Content{}
	}
	c := practice.Content{
		Slug:                 strings.TrimSpace(m.GetSlug()),
		Title:                m.GetTitle(),
		Summary:              m.GetSummary(),
		Description:          m.GetDescription(),
		OwnerOrganizationIDs: m.GetOwnerOrganizationIds(),
		Themes:               m.GetThemes(),
		Sectors:              m.GetSectors(),
		Programme:            practice.Programme{Name: m.GetProgramme().GetName(), Priorities: m.GetProgramme().GetPriorities()},
		Territory:            organization.Territory{Code: m.GetTerritory().GetCode(), Name: m.GetTerritory().GetName()},
		Problem:              m.GetProblem(),
		Results:              m.GetResults(),
		Evidence:             m.GetEvidence(),
		Resources:            m.GetResources(),
		Prerequisites:        m.GetPrerequisites(),
		StartDate:            m.GetStartDate(),
		Ongoing:              m.GetOngoing(),
		Contact:              practice.Contact{Name: m.GetContact().GetName(), Email: m.GetContact().GetEmail(), Phone: m.GetContact().GetPhone()},
		Languages:            m.GetLanguages(),
	}
	for _, a := range m.GetAttachments() {
		c.Attachments = append(c.Attachments, practice.Link{Title: a.GetTitle(), URL: a.GetUrl()})
	}
	for _, md := range m.GetModels() {
		c.Models = append(c.Models, practice.Model{Code: md.GetCode(), Title: md.GetTitle(), Description: md.GetDescription(), OwnerOrganizationID: md.GetOwnerOrganizationId()})
	}
	c.Adapts = AdaptationsFrom(m.GetAdapts())
	return c
}
