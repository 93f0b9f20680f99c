package protoconv

import (
	"strings"

	"google.golang.org/protobuf/types/known/fieldmaskpb"

	twinningv1 "github.com/gemella/gemella/proto/gemella/twinning/v1"
	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/twinning/internal/domain/twinning"
)

// detailsFields says, for each writable field of a Twinning message, how
// to copy it into the domain details.
var detailsFields = map[string]func(dst *twinning.Details, src twinning.Details){
	"code":                       func(d *twinning.Details, s twinning.Details) { d.Code = s.Code },
	"title":                      func(d *twinning.Details, s twinning.Details) { d.Title = s.Title },
	"summary":                    func(d *twinning.Details, s twinning.Details) { d.Summary = s.Summary },
	"objectives":                 func(d *twinning.Details, s twinning.Details) { d.Objectives = s.Objectives },
	"expected_results":           func(d *twinning.Details, s twinning.Details) { d.ExpectedResults = s.ExpectedResults },
	"programme":                  func(d *twinning.Details, s twinning.Details) { d.Programme = s.Programme },
	"programme.name":             func(d *twinning.Details, s twinning.Details) { d.Programme.Name = s.Programme.Name },
	"programme.priorities":       func(d *twinning.Details, s twinning.Details) { d.Programme.Priorities = s.Programme.Priorities },
	"origin":                     func(d *twinning.Details, s twinning.Details) { d.Origin = s.Origin },
	"origin_ref":                 func(d *twinning.Details, s twinning.Details) { d.OriginRef = s.OriginRef },
	"offering_organization_ids":  func(d *twinning.Details, s twinning.Details) { d.OfferingOrganizationIDs = s.OfferingOrganizationIDs },
	"receiving_organization_ids": func(d *twinning.Details, s twinning.Details) { d.ReceivingOrganizationIDs = s.ReceivingOrganizationIDs },
	"coordinator_organization_id": func(d *twinning.Details, s twinning.Details) {
		d.CoordinatorOrganizationID = s.CoordinatorOrganizationID
	},
	"start_date":      func(d *twinning.Details, s twinning.Details) { d.StartDate = s.StartDate },
	"end_date":        func(d *twinning.Details, s twinning.Details) { d.EndDate = s.EndDate },
	"live_stream_url": func(d *twinning.Details, s twinning.Details) { d.LiveStreamURL = s.LiveStreamURL },
	"territory_codes": func(d *twinning.Details, s twinning.Details) { d.TerritoryCodes = s.TerritoryCodes },
}

// twinningOutputOnly are fields a client may echo back; a mask naming them
// is ignored.
var twinningOutputOnly = map[string]bool{
	"id": true, "status": true, "history": true, "transfers": true, "activities": true,
	"create_time": true, "update_time": true, "etag": true,
}

// DetailsPatch returns the patch that copies the masked fields of src;
// with no mask every writable field is replaced.
func DetailsPatch(src twinning.Details, mask *fieldmaskpb.FieldMask) (func(*twinning.Details), error) {
	return patch(src, mask, detailsFields, twinningOutputOnly)
}

var activityFields = map[string]func(dst *twinning.Activity, src twinning.Activity){
	"kind":         func(d *twinning.Activity, s twinning.Activity) { d.Kind = s.Kind },
	"title":        func(d *twinning.Activity, s twinning.Activity) { d.Title = s.Title },
	"description":  func(d *twinning.Activity, s twinning.Activity) { d.Description = s.Description },
	"date":         func(d *twinning.Activity, s twinning.Activity) { d.Date = s.Date },
	"participants": func(d *twinning.Activity, s twinning.Activity) { d.Participants = s.Participants },
	"outcome":      func(d *twinning.Activity, s twinning.Activity) { d.Outcome = s.Outcome },
	"links":        func(d *twinning.Activity, s twinning.Activity) { d.Links = s.Links },
	"milestone":    func(d *twinning.Activity, s twinning.Activity) { d.Milestone = s.Milestone },
	"due_date":     func(d *twinning.Activity, s twinning.Activity) { d.DueDate = s.DueDate },
	"done":         func(d *twinning.Activity, s twinning.Activity) { d.Done = s.Done },
}

var activityOutputOnly = map[string]bool{"id": true, "milestone_state": true, "logged_by": true, "create_time": true}

// ActivityPatch is DetailsPatch for activities.
func ActivityPatch(src twinning.Activity, mask *fieldmaskpb.FieldMask) (func(*twinning.Activity), error) {
	return patch(src, mask, activityFields, activityOutputOnly)
}

func patch[T any](src T, mask *fieldmaskpb.FieldMask, fields map[string]func(*T, T), outputOnly map[string]bool) (func(*T), error) {
	paths := mask.GetPaths()
	if len(paths) == 0 {
		// A full replace; the domain keeps what a client cannot write.
		return func(d *T) { *d = src }, nil
	}
	var setters []func(*T, T)
	var v apperr.Violations
	for _, p := range paths {
		if outputOnly[rootOf(p)] {
			continue
		}
		set, ok := fields[p]
		if !ok {
			v.Addf("update_mask", "names unknown or read-only field %q", p)
			continue
		}
		setters = append(setters, set)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	return func(d *T) {
		for _, set := range setters {
			set(d, src)
		}
	}, nil
}

func rootOf(path string) string {
	root, _, _ := strings.Cut(path, ".")
	return root
}

// transferFields are the fields of a transfer that UpdateTransfer changes
// besides the status; the others are fixed once the transfer is added.
var transferFields = map[string]bool{"status": true, "start_date": true, "end_date": true}

var transferOutputOnly = map[string]bool{"id": true, "notes": true, "practice_title": true, "model_title": true, "update_time": true}

// TransferPatch reads an UpdateTransferRequest: the status when set, the
// note, and the dates the mask names.
func TransferPatch(req *twinningv1.UpdateTransferRequest) (twinning.TransferPatch, error) {
	m := req.GetTransfer()
	p := twinning.TransferPatch{Status: TransferStatusFromProto(m.GetStatus()), Note: strings.TrimSpace(req.GetNote())}
	var v apperr.Violations
	if s := m.GetStatus(); s != twinningv1.TransferStatus_TRANSFER_STATUS_UNSPECIFIED && p.Status.IsZero() {
		v.Addf("transfer.status", "is not a known transfer status: %d", int32(s))
	}
	for _, path := range req.GetUpdateMask().GetPaths() {
		switch {
		case transferOutputOnly[rootOf(path)]:
		case path == "start_date":
			date := m.GetStartDate()
			p.StartDate = &date
		case path == "end_date":
			date := m.GetEndDate()
			p.EndDate = &date
		case transferFields[path]:
		default:
			v.Addf("update_mask", "names %q, which cannot change once the transfer is added: add another transfer instead", path)
		}
	}
	return p, v.Err()
}
