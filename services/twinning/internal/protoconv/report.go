package protoconv

import (
	"google.golang.org/protobuf/types/known/timestamppb"

	twinningv1 "github.com/gemella/gemella/proto/gemella/twinning/v1"
	"github.com/gemella/gemella/services/twinning/internal/domain/report"
)

// ReportStateToProto maps a report state to its enum value.
func ReportStateToProto(s report.State) twinningv1.ReportState {
	switch s {
	case report.Draft:
		return twinningv1.ReportState_REPORT_STATE_DRAFT
	case report.Submitted:
		return twinningv1.ReportState_REPORT_STATE_SUBMITTED
	case report.Approved:
		return twinningv1.ReportState_REPORT_STATE_APPROVED
	}
	return twinningv1.ReportState_REPORT_STATE_UNSPECIFIED
}

// ReportKindToProto maps a report kind to its enum value.
func ReportKindToProto(k report.Kind) twinningv1.ReportKind {
	switch k {
	case report.Quarterly:
		return twinningv1.ReportKind_REPORT_KIND_QUARTERLY
	case report.Final:
		return twinningv1.ReportKind_REPORT_KIND_FINAL
	}
	return twinningv1.ReportKind_REPORT_KIND_UNSPECIFIED
}

// ReportKindFromProto maps an enum value to a kind ("" for unspecified).
func ReportKindFromProto(k twinningv1.ReportKind) report.Kind {
	switch k {
	case twinningv1.ReportKind_REPORT_KIND_QUARTERLY:
		return report.Quarterly
	case twinningv1.ReportKind_REPORT_KIND_FINAL:
		return report.Final
	}
	return ""
}

// ReportToProto is the API's view of a report.
func ReportToProto(r *report.Report) *twinningv1.Report {
	out := &twinningv1.Report{
		Id: r.ID, TwinningId: r.TwinningID, TwinningCode: r.TwinningCode, TwinningTitle: r.TwinningTitle,
		Kind: ReportKindToProto(r.Kind), Quarter: r.Quarter, PeriodStart: r.PeriodStart, PeriodEnd: r.PeriodEnd,
		Title: r.Title(), State: ReportStateToProto(r.State), ReturnReason: r.ReturnReason,
		Discussion: &twinningv1.ReportDiscussion{
			Threads: int32(r.Discussion.Threads), Posts: int32(r.Discussion.Posts),
			Participants: int32(r.Discussion.Participants), Stories: int32(r.Discussion.Stories),
		},
		CreatedBy: r.CreatedBy, CreateTime: timestamppb.New(r.CreatedAt), UpdateTime: timestamppb.New(r.UpdatedAt), Etag: r.Etag(),
	}
	for _, s := range r.Sections {
		out.Sections = append(out.Sections, &twinningv1.ReportSection{Key: s.Key, Title: report.SectionTitles[s.Key], Markdown: s.Markdown})
	}
	for _, h := range r.History {
		out.History = append(out.History, &twinningv1.ReportStateChange{
			From: ReportStateToProto(h.From), To: ReportStateToProto(h.To), Actor: h.Actor, Time: timestamppb.New(h.At), Reason: h.Reason,
		})
	}
	return out
}

// ReportSectionsFromProto are the sections an update names.
func ReportSectionsFromProto(in []*twinningv1.ReportSection) []report.Section {
	out := make([]report.Section, 0, len(in))
	for _, s := range in {
		out = append(out, report.Section{Key: s.GetKey(), Markdown: s.GetMarkdown()})
	}
	return out
}
