// Package protoconv converts between the twinning service's domain types
// and their protobuf messages. The gRPC port and the event encoder both use
// it.
package protoconv

import (
	"fmt"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	twinningv1 "github.com/gemella/gemella/proto/gemella/twinning/v1"
	"github.com/gemella/gemella/services/twinning/internal/domain/twinning"
)

// enumName is the lower-case domain name of a proto enum value name.
func enumName(value fmt.Stringer, prefix string) string {
	return strings.ToLower(strings.TrimPrefix(value.String(), prefix))
}

// StatusToProto maps a domain status to its enum value.
func StatusToProto(s twinning.Status) twinningv1.TwinningStatus {
	if s.IsZero() {
		return twinningv1.TwinningStatus_TWINNING_STATUS_UNSPECIFIED
	}
	return twinningv1.TwinningStatus(twinningv1.TwinningStatus_value["TWINNING_STATUS_"+strings.ToUpper(s.String())])
}

// StatusFromProto maps an enum value to a domain status (zero for unspecified or unknown).
func StatusFromProto(s twinningv1.TwinningStatus) twinning.Status {
	st, _ := twinning.ParseStatus(enumName(s, "TWINNING_STATUS_"))
	return st
}

// OriginToProto maps a domain origin to its enum value.
func OriginToProto(o twinning.Origin) twinningv1.Origin {
	if o.IsZero() {
		return twinningv1.Origin_ORIGIN_UNSPECIFIED
	}
	return twinningv1.Origin(twinningv1.Origin_value["ORIGIN_"+strings.ToUpper(o.String())])
}

// OriginFromProto maps an enum value to a domain origin (zero for unspecified).
func OriginFromProto(o twinningv1.Origin) twinning.Origin {
	origin, _ := twinning.ParseOrigin(enumName(o, "ORIGIN_"))
	return origin
}

// TransferStatusToProto maps a domain transfer status to its enum value.
func TransferStatusToProto(s twinning.TransferStatus) twinningv1.TransferStatus {
	if s.IsZero() {
		return twinningv1.TransferStatus_TRANSFER_STATUS_UNSPECIFIED
	}
	return twinningv1.TransferStatus(twinningv1.TransferStatus_value["TRANSFER_STATUS_"+strings.ToUpper(s.String())])
}

// TransferStatusFromProto maps an enum value to a domain transfer status.
func TransferStatusFromProto(s twinningv1.TransferStatus) twinning.TransferStatus {
	st, _ := twinning.ParseTransferStatus(enumName(s, "TRANSFER_STATUS_"))
	return st
}

// ActivityKindToProto maps a domain activity kind to its enum value.
func ActivityKindToProto(k twinning.ActivityKind) twinningv1.ActivityKind {
	if k.IsZero() {
		return twinningv1.ActivityKind_ACTIVITY_KIND_UNSPECIFIED
	}
	return twinningv1.ActivityKind(twinningv1.ActivityKind_value["ACTIVITY_KIND_"+strings.ToUpper(k.String())])
}

// ActivityKindFromProto maps an enum value to a domain activity kind.
func ActivityKindFromProto(k twinningv1.ActivityKind) twinning.ActivityKind {
	kind, _ := twinning.ParseActivityKind(enumName(k, "ACTIVITY_KIND_"))
	return kind
}

func milestoneStateToProto(m twinning.MilestoneState) twinningv1.MilestoneState {
	switch m {
	case twinning.MilestoneDone:
		return twinningv1.MilestoneState_MILESTONE_STATE_DONE
	case twinning.MilestoneDue:
		return twinningv1.MilestoneState_MILESTONE_STATE_DUE
	case twinning.MilestoneOverdue:
		return twinningv1.MilestoneState_MILESTONE_STATE_OVERDUE
	}
	return twinningv1.MilestoneState_MILESTONE_STATE_UNSPECIFIED
}

func ts(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

// Twinning converts the aggregate to its message; today (YYYY-MM-DD) is
// the day milestones are judged on.
func Twinning(t *twinning.Twinning, today string) *twinningv1.Twinning {
	m := details(t.Details)
	m.Id = t.ID
	m.Status = StatusToProto(t.Status)
	for _, h := range t.History {
		m.History = append(m.History, StatusChange(h))
	}
	for i := range t.Transfers {
		m.Transfers = append(m.Transfers, Transfer(&t.Transfers[i]))
	}
	for _, a := range t.ActivitiesByDate() {
		m.Activities = append(m.Activities, Activity(a, today))
	}
	m.ActivityCount = int32(t.ActivityCount)
	m.CreateTime = ts(t.CreatedAt)
	m.UpdateTime = ts(t.UpdatedAt)
	m.Etag = t.Etag()
	return m
}

// StatusChange converts one move of the history.
func StatusChange(h twinning.StatusChange) *twinningv1.StatusChange {
	return &twinningv1.StatusChange{From: StatusToProto(h.From), To: StatusToProto(h.To), Actor: h.Actor, Time: ts(h.At), Reason: h.Reason}
}

func details(d twinning.Details) *twinningv1.Twinning {
	m := &twinningv1.Twinning{
		Code:                      d.Code,
		Title:                     d.Title,
		Summary:                   d.Summary,
		ExpectedResults:           d.ExpectedResults,
		Origin:                    OriginToProto(d.Origin),
		OriginRef:                 d.OriginRef,
		OfferingOrganizationIds:   d.OfferingOrganizationIDs,
		ReceivingOrganizationIds:  d.ReceivingOrganizationIDs,
		CoordinatorOrganizationId: d.CoordinatorOrganizationID,
		StartDate:                 d.StartDate,
		EndDate:                   d.EndDate,
		LiveStreamUrl:             d.LiveStreamURL,
		TerritoryCodes:            d.TerritoryCodes,
	}
	for _, o := range d.Objectives {
		m.Objectives = append(m.Objectives, &twinningv1.Objective{Level: o.Level, Text: o.Text})
	}
	if d.Programme.Name != "" || len(d.Programme.Priorities) > 0 {
		m.Programme = &twinningv1.Programme{Name: d.Programme.Name, Priorities: d.Programme.Priorities}
	}
	return m
}

// Details reads the writable fields of a message.
func Details(m *twinningv1.Twinning) twinning.Details {
	if m == nil {
		return twinning.Details{}
	}
	d := twinning.Details{
		Code:                      m.GetCode(),
		Title:                     m.GetTitle(),
		Summary:                   m.GetSummary(),
		ExpectedResults:           m.GetExpectedResults(),
		Programme:                 twinning.Programme{Name: m.GetProgramme().GetName(), Priorities: m.GetProgramme().GetPriorities()},
		Origin:                    OriginFromProto(m.GetOrigin()),
		OriginRef:                 m.GetOriginRef(),
		OfferingOrganizationIDs:   m.GetOfferingOrganizationIds(),
		ReceivingOrganizationIDs:  m.GetReceivingOrganizationIds(),
		CoordinatorOrganizationID: m.GetCoordinatorOrganizationId(),
		StartDate:                 m.GetStartDate(),
		EndDate:                   m.GetEndDate(),
		LiveStreamURL:             m.GetLiveStreamUrl(),
		TerritoryCodes:            m.GetTerritoryCodes(),
	}
	for _, o := range m.GetObjectives() {
		d.Objectives = append(d.Objectives, twinning.Objective{Level: o.GetLevel(), Text: o.GetText()})
	}
	return d
}

// Transfer converts a transfer.
func Transfer(tr *twinning.Transfer) *twinningv1.Transfer {
	m := &twinningv1.Transfer{
		Id:                 tr.ID,
		PracticeId:         tr.PracticeID,
		ModelCode:          tr.ModelCode,
		FromOrganizationId: tr.FromOrganizationID,
		ToOrganizationId:   tr.ToOrganizationID,
		Status:             TransferStatusToProto(tr.Status),
		StartDate:          tr.StartDate,
		EndDate:            tr.EndDate,
		PracticeTitle:      tr.PracticeTitle,
		ModelTitle:         tr.ModelTitle,
		UpdateTime:         ts(tr.UpdatedAt),
	}
	for _, n := range tr.Notes {
		m.Notes = append(m.Notes, &twinningv1.Note{Text: n.Text, Author: n.Author, Time: ts(n.At)})
	}
	return m
}

// NewTransfer reads the writable fields of a transfer to add.
func NewTransfer(m *twinningv1.Transfer) twinning.NewTransfer {
	return twinning.NewTransfer{
		PracticeID:         strings.TrimSpace(m.GetPracticeId()),
		ModelCode:          strings.ToUpper(strings.TrimSpace(m.GetModelCode())),
		FromOrganizationID: strings.TrimSpace(m.GetFromOrganizationId()),
		ToOrganizationID:   strings.TrimSpace(m.GetToOrganizationId()),
		StartDate:          m.GetStartDate(),
		EndDate:            m.GetEndDate(),
	}
}

// Activity converts an activity; today judges a milestone.
func Activity(a twinning.Activity, today string) *twinningv1.Activity {
	m := &twinningv1.Activity{
		Id:             a.ID,
		Kind:           ActivityKindToProto(a.Kind),
		Title:          a.Title,
		Description:    a.Description,
		Date:           a.Date,
		Participants:   a.Participants,
		Outcome:        a.Outcome,
		Milestone:      a.Milestone,
		DueDate:        a.DueDate,
		Done:           a.Done,
		MilestoneState: milestoneStateToProto(a.State(today)),
		LoggedBy:       a.LoggedBy,
		CreateTime:     ts(a.CreatedAt),
	}
	for _, l := range a.Links {
		m.Links = append(m.Links, &twinningv1.Link{Title: l.Title, Url: l.URL})
	}
	return m
}

// ActivityFields reads the writable fields of an activity.
func ActivityFields(m *twinningv1.Activity) twinning.Activity {
	a := twinning.Activity{
		Kind:         ActivityKindFromProto(m.GetKind()),
		Title:        m.GetTitle(),
		Description:  m.GetDescription(),
		Date:         m.GetDate(),
		Participants: m.GetParticipants(),
		Outcome:      m.GetOutcome(),
		Milestone:    m.GetMilestone(),
		DueDate:      m.GetDueDate(),
		Done:         m.GetDone(),
	}
	for _, l := range m.GetLinks() {
		a.Links = append(a.Links, twinning.Link{Title: l.GetTitle(), URL: l.GetUrl()})
	}
	return a
}
