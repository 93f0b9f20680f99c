package protoconv

import (
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	catalogv1 "github.com/gemella/gemella/proto/gemella/catalog/v1"
	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/matching"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/need"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/offer"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/organization"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/practice"
)

// NeedStatusToProto maps a domain status to its enum value.
func NeedStatusToProto(s need.Status) catalogv1.NeedStatus {
	if s.IsZero() {
		return catalogv1.NeedStatus_NEED_STATUS_UNSPECIFIED
	}
	return catalogv1.NeedStatus(catalogv1.NeedStatus_value["NEED_STATUS_"+strings.ToUpper(s.String())])
}

// NeedStatusFromProto maps an enum value to a domain status (zero for unspecified).
func NeedStatusFromProto(s catalogv1.NeedStatus) need.Status {
	st, _ := need.ParseStatus(strings.ToLower(strings.TrimPrefix(s.String(), "NEED_STATUS_")))
	return st
}

// OfferStatusToProto maps a domain status to its enum value.
func OfferStatusToProto(s offer.Status) catalogv1.OfferStatus {
	if s.IsZero() {
		return catalogv1.OfferStatus_OFFER_STATUS_UNSPECIFIED
	}
	return catalogv1.OfferStatus(catalogv1.OfferStatus_value["OFFER_STATUS_"+strings.ToUpper(s.String())])
}

// OfferStatusFromProto maps an enum value to a domain status (zero for unspecified).
func OfferStatusFromProto(s catalogv1.OfferStatus) offer.Status {
	st, _ := offer.ParseStatus(strings.ToLower(strings.TrimPrefix(s.String(), "OFFER_STATUS_")))
	return st
}

// Need converts the aggregate to its message.
func Need(n *need.Need) *catalogv1.Need {
	return &catalogv1.Need{
		Id:                n.ID,
		OrganizationId:    n.OrganizationID,
		Title:             n.Title,
		Problem:           n.Problem,
		Themes:            n.Themes,
		Sectors:           n.Sectors,
		Territory:         territory(n.Territory),
		DesiredStart:      n.DesiredStart,
		Language:          n.Language,
		Status:            NeedStatusToProto(n.Status),
		MatchedTwinningId: n.MatchedTwinningID,
		CreateTime:        ts(n.CreatedAt),
		UpdateTime:        ts(n.UpdatedAt),
		Etag:              n.Etag(),
	}
}

// NeedDetails reads the writable fields of a message.
func NeedDetails(m *catalogv1.Need) need.Details {
	if m == nil {
		return need.Details{}
	}
	return need.Details{
		OrganizationID: strings.TrimSpace(m.GetOrganizationId()),
		Title:          m.GetTitle(),
		Problem:        m.GetProblem(),
		Themes:         m.GetThemes(),
		Sectors:        m.GetSectors(),
		Territory:      organization.Territory{Code: m.GetTerritory().GetCode(), Name: m.GetTerritory().GetName()},
		DesiredStart:   m.GetDesiredStart(),
		Language:       strings.TrimSpace(m.GetLanguage()),
	}
}

// NeedFromMessage rebuilds the aggregate from its message, as an event
// carries it; the version comes back from the etag.
func NeedFromMessage(m *catalogv1.Need) *need.Need {
	return &need.Need{
		ID:                m.GetId(),
		Details:           NeedDetails(m),
		Status:            NeedStatusFromProto(m.GetStatus()),
		MatchedTwinningID: m.GetMatchedTwinningId(),
		CreatedAt:         timeOf(m.GetCreateTime()),
		UpdatedAt:         timeOf(m.GetUpdateTime()),
		Version:           versionOf(m.GetEtag()),
	}
}

var needFields = map[string]func(dst *need.Details, src need.Details){
	"organization_id": func(d *need.Details, s need.Details) { d.OrganizationID = s.OrganizationID },
	"title":           func(d *need.Details, s need.Details) { d.Title = s.Title },
	"problem":         func(d *need.Details, s need.Details) { d.Problem = s.Problem },
	"themes":          func(d *need.Details, s need.Details) { d.Themes = s.Themes },
	"sectors":         func(d *need.Details, s need.Details) { d.Sectors = s.Sectors },
	"territory":       func(d *need.Details, s need.Details) { d.Territory = s.Territory },
	"territory.code":  func(d *need.Details, s need.Details) { d.Territory.Code = s.Territory.Code },
	"territory.name":  func(d *need.Details, s need.Details) { d.Territory.Name = s.Territory.Name },
	"desired_start":   func(d *need.Details, s need.Details) { d.DesiredStart = s.DesiredStart },
	"language":        func(d *need.Details, s need.Details) { d.Language = s.Language },
}

var needOutputOnly = map[string]bool{"id": true, "status": true, "matched_twinning_id": true, "create_time": true, "update_time": true, "etag": true}

// NeedPatch returns the patch that copies the masked fields of src; with
// no mask every writable field is replaced.
func NeedPatch(src need.Details, mask *fieldmaskpb.FieldMask) (func(*need.Details), error) {
	paths := mask.GetPaths()
	if len(paths) == 0 {
		return func(d *need.Details) { *d = src }, nil
	}
	var setters []func(*need.Details, need.Details)
	var v apperr.Violations
	for _, p := range paths {
		if needOutputOnly[rootOf(p)] {
			continue
		}
		set, ok := needFields[p]
		if !ok {
			v.Addf("update_mask", "names unknown or read-only field %q", p)
			continue
		}
		setters = append(setters, set)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	return func(d *need.Details) {
		for _, set := range setters {
			set(d, src)
		}
	}, nil
}

// Offer converts the aggregate to its message.
func Offer(o *offer.Offer) *catalogv1.Offer {
	return &catalogv1.Offer{
		Id:             o.ID,
		OrganizationId: o.OrganizationID,
		PracticeId:     o.PracticeID,
		ModelCodes:     o.ModelCodes,
		Capacity:       int32(o.Capacity),
		Languages:      o.Languages,
		Conditions:     o.Conditions,
		Status:         OfferStatusToProto(o.Status),
		PracticeTitle:  o.PracticeTitle,
		CreateTime:     ts(o.CreatedAt),
		UpdateTime:     ts(o.UpdatedAt),
		Etag:           o.Etag(),
	}
}

// OfferTerms reads the writable fields of a message.
func OfferTerms(m *catalogv1.Offer) offer.Terms {
	if m == nil {
		return offer.Terms{}
	}
	return offer.Terms{
		OrganizationID: strings.TrimSpace(m.GetOrganizationId()),
		PracticeID:     strings.TrimSpace(m.GetPracticeId()),
		ModelCodes:     m.GetModelCodes(),
		Capacity:       int(m.GetCapacity()),
		Languages:      m.GetLanguages(),
		Conditions:     m.GetConditions(),
	}
}

// PracticeFromMessage rebuilds a practice from its message, as an event
// or the search index carries it: everything a reader sees, not the
// history nor the transfer records.
func PracticeFromMessage(m *catalogv1.Practice) *practice.Practice {
	p := &practice.Practice{
		ID:          m.GetId(),
		Content:     Content(m),
		Status:      StatusFromProto(m.GetStatus()),
		Revision:    int(m.GetRevision()),
		Adoption:    adoptionFromMessage(m.GetAdoption()),
		CreatedAt:   timeOf(m.GetCreateTime()),
		UpdatedAt:   timeOf(m.GetUpdateTime()),
		PublishedAt: timeOf(m.GetPublishTime()),
		Version:     versionOf(m.GetEtag()),
	}
	for i, md := range m.GetModels() {
		if i < len(p.Models) {
			p.Models[i].Adoption = adoptionFromMessage(md.GetAdoption())
		}
	}
	return p
}

// OrganizationFromMessage rebuilds an organisation from its message.
func OrganizationFromMessage(m *catalogv1.Organization) *organization.Organization {
	return &organization.Organization{
		ID:        m.GetId(),
		Details:   OrganizationDetails(m),
		CreatedAt: timeOf(m.GetCreateTime()),
		UpdatedAt: timeOf(m.GetUpdateTime()),
		Version:   versionOf(m.GetEtag()),
	}
}

func adoptionFromMessage(a *catalogv1.AdoptionFigures) practice.Adoption {
	return practice.Adoption{
		Twinnings:                int(a.GetTwinnings()),
		ReceivingOrganizationIDs: a.GetReceivingOrganizationIds(),
		InProgress:               int(a.GetInProgress()),
		Adopted:                  int(a.GetAdopted()),
		PartiallyAdopted:         int(a.GetPartiallyAdopted()),
		Dropped:                  int(a.GetDropped()),
	}
}

// timeOf is the time of a timestamp; an absent one is the zero time.
func timeOf(t *timestamppb.Timestamp) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.AsTime().UTC()
}

// versionOf reads the version back from an etag such as "7".
func versionOf(etag string) int64 {
	v, _ := strconv.ParseInt(strings.Trim(strings.TrimPrefix(etag, "W/"), `"`), 10, 64)
	return v
}

// MatchReasons converts why a match was suggested.
func MatchReasons(r matching.Reasons) *catalogv1.MatchReasons {
	return &catalogv1.MatchReasons{
		MatchedTerms:          r.MatchedTerms,
		SharedThemes:          r.SharedThemes,
		SharedSectors:         r.SharedSectors,
		TerritorialCloseness:  string(r.Closeness),
		PriorAdoptions:        int32(r.PriorAdoptions),
		PriorPartialAdoptions: int32(r.PriorPartialAdoptions),
		PriorDrops:            int32(r.PriorDrops),
		OpenOfferId:           r.OpenOfferID,
	}
}
