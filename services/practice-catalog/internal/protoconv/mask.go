package protoconv

import (
	"strings"

	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/organization"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/practice"
)

// contentFields says, for each writable top-level field of a Practice
// message, how to copy it into the domain content.
var contentFields = map[string]func(dst *practice.Content, src practice.Content){
	"slug":                   func(d *practice.Content, s practice.Content) { d.Slug = s.Slug },
	"title":                  func(d *practice.Content, s practice.Content) { d.Title = s.Title },
	"summary":                func(d *practice.Content, s practice.Content) { d.Summary = s.Summary },
	"description":            func(d *practice.Content, s practice.Content) { d.Description = s.Description },
	"owner_organization_ids": func(d *practice.Content, s practice.Content) { d.OwnerOrganizationIDs = s.OwnerOrganizationIDs },
	"themes":                 func(d *practice.Content, s practice.Content) { d.Themes = s.Themes },
	"sectors":                func(d *practice.Content, s practice.Content) { d.Sectors = s.Sectors },
	"programme":              func(d *practice.Content, s practice.Content) { d.Programme = s.Programme },
	"programme.name":         func(d *practice.Content, s practice.Content) { d.Programme.Name = s.Programme.Name },
	"programme.priorities":   func(d *practice.Content, s practice.Content) { d.Programme.Priorities = s.Programme.Priorities },
	"territory":              func(d *practice.Content, s practice.Content) { d.Territory = s.Territory },
	"territory.code":         func(d *practice.Content, s practice.Content) { d.Territory.Code = s.Territory.Code },
	"territory.name":         func(d *practice.Content, s practice.Content) { d.Territory.Name = s.Territory.Name },
	"problem":                func(d *practice.Content, s practice.Content) { d.Problem = s.Problem },
	"results":                func(d *practice.Content, s practice.Content) { d.Results = s.Results },
	"evidence":               func(d *practice.Content, s practice.Content) { d.Evidence = s.Evidence },
	"resources":              func(d *practice.Content, s practice.Content) { d.Resources = s.Resources },
	"prerequisites":          func(d *practice.Content, s practice.Content) { d.Prerequisites = s.Prerequisites },
	"start_date":             func(d *practice.Content, s practice.Content) { d.StartDate = s.StartDate },
	"ongoing":                func(d *practice.Content, s practice.Content) { d.Ongoing = s.Ongoing },
	"contact":                func(d *practice.Content, s practice.Content) { d.Contact = s.Contact },
	"contact.name":           func(d *practice.Content, s practice.Content) { d.Contact.Name = s.Contact.Name },
	"contact.email":          func(d *practice.Content, s practice.Content) { d.Contact.Email = s.Contact.Email },
	"contact.phone":          func(d *practice.Content, s practice.Content) { d.Contact.Phone = s.Contact.Phone },
	"languages":              func(d *practice.Content, s practice.Content) { d.Languages = s.Languages },
	"attachments":            func(d *practice.Content, s practice.Content) { d.Attachments = s.Attachments },
	"models":                 func(d *practice.Content, s practice.Content) { d.Models = s.Models },
	"adapts":                 func(d *practice.Content, s practice.Content) { d.Adapts = s.Adapts },
}

// read-only fields a client may echo back; a mask naming them is ignored.
var outputOnly = map[string]bool{"id": true, "status": true, "revision": true, "adoption": true, "create_time": true, "update_time": true, "publish_time": true, "etag": true}

// ContentPatch returns the patch that copies the masked fields of src; with
// no mask every writable field is replaced.
func ContentPatch(src practice.Content, mask *fieldmaskpb.FieldMask) (func(*practice.Content), error) {
	paths := mask.GetPaths()
	if len(paths) == 0 {
		return func(d *practice.Content) { *d = src }, nil
	}
	var setters []func(*practice.Content, practice.Content)
	var v apperr.Violations
	for _, p := range paths {
		if outputOnly[rootOf(p)] {
			continue
		}
		set, ok := contentFields[p]
		if !ok {
			v.Addf("update_mask", "names unknown or read-only field %q", p)
			continue
		}
		setters = append(setters, set)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	return func(d *practice.Content) {
		for _, set := range setters {
			set(d, src)
		}
	}, nil
}

var orgFields = map[string]func(dst *organization.Details, src organization.Details){
	"name":           func(d *organization.Details, s organization.Details) { d.Name = s.Name },
	"kind":           func(d *organization.Details, s organization.Details) { d.Kind = s.Kind },
	"territory":      func(d *organization.Details, s organization.Details) { d.Territory = s.Territory },
	"territory.code": func(d *organization.Details, s organization.Details) { d.Territory.Code = s.Territory.Code },
	"territory.name": func(d *organization.Details, s organization.Details) { d.Territory.Name = s.Territory.Name },
	"parent_id":      func(d *organization.Details, s organization.Details) { d.ParentID = s.ParentID },
	"network_ids":    func(d *organization.Details, s organization.Details) { d.NetworkIDs = s.NetworkIDs },
	"website":        func(d *organization.Details, s organization.Details) { d.Website = s.Website },
	"description":    func(d *organization.Details, s organization.Details) { d.Description = s.Description },
}

// DetailsPatch is ContentPatch for organisations.
func DetailsPatch(src organization.Details, mask *fieldmaskpb.FieldMask) (func(*organization.Details), error) {
	paths := mask.GetPaths()
	if len(paths) == 0 {
		return func(d *organization.Details) { *d = src }, nil
	}
	var setters []func(*organization.Details, organization.Details)
	var v apperr.Violations
	for _, p := range paths {
		if outputOnly[rootOf(p)] {
			continue
		}
		set, ok := orgFields[p]
		if !ok {
			v.Addf("update_mask", "names unknown or read-only field %q", p)
			continue
		}
		setters = append(setters, set)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	return func(d *organization.Details) {
		for _, set := range setters {
			set(d, src)
		}
	}, nil
}

func rootOf(path string) string {
	root, _, _ := strings.Cut(path, ".")
	return root
}
