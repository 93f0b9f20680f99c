package feed

import (
	"testing"
	"time"

	eventsv1 "github.com/gemella/gemella/proto/gemella/events/v1"
	twinningv1 "github.com/gemella/gemella/proto/gemella/twinning/v1"
	"github.com/gemella/gemella/services/platform/events"
)

func reportEnvelope(t *testing.T, subject string, from, to twinningv1.ReportState, kind twinningv1.ReportKind, quarter string) *eventsv1.Envelope {
	t.Helper()
	env, err := events.NewEnvelope(subject, "m-coord", "report", "rep1", 3, &eventsv1.ReportChanged{
		ReportId: "rep1", TwinningId: "tw1", From: from, State: to, Kind: kind, Quarter: quarter, Version: 3,
	}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return env
}

// An approved report is news on its twinning's feed; a draft, a submission
// or a return is not public.
func TestOnlyTheApprovalOfAReportIsPublic(t *testing.T) {
	const (
		draft     = twinningv1.ReportState_REPORT_STATE_DRAFT
		submitted = twinningv1.ReportState_REPORT_STATE_SUBMITTED
		approved  = twinningv1.ReportState_REPORT_STATE_APPROVED
		quarterly = twinningv1.ReportKind_REPORT_KIND_QUARTERLY
	)
	ev, ok := public(reportEnvelope(t, "twinning.report.approved", submitted, approved, quarterly, "2026-Q3"))
	if !ok {
		t.Fatal("an approved report is not in the feed")
	}
	if ev.TwinningID != "tw1" || ev.Title != "2026-Q3" || ev.Summary != "quarterly" || ev.Link != "/v1/twinnings/tw1/reports/rep1" || ev.Type != "twinning.report.approved" {
		t.Fatalf("approved report: %+v", ev)
	}
	if ev, ok := public(reportEnvelope(t, "twinning.report.approved", submitted, approved, twinningv1.ReportKind_REPORT_KIND_FINAL, "")); !ok || ev.Summary != "final" {
		t.Fatalf("approved final report: %v %+v", ok, ev)
	}
	for _, c := range []struct {
		subject  string
		from, to twinningv1.ReportState
	}{
		{"twinning.report.created", twinningv1.ReportState_REPORT_STATE_UNSPECIFIED, draft},
		{"twinning.report.submitted", draft, submitted},
		{"twinning.report.returned", submitted, draft},
		// The subject alone does not make it public: the state must say so.
		{"twinning.report.approved", submitted, submitted},
	} {
		if ev, ok := public(reportEnvelope(t, c.subject, c.from, c.to, quarterly, "2026-Q3")); ok {
			t.Errorf("%s (%s) is public: %+v", c.subject, c.to, ev)
		}
	}
	// An edit of a twinning's details is not news either.
	env, err := events.NewEnvelope("twinning.twinning.updated", "m", "twinning", "tw1", 4,
		&eventsv1.TwinningUpdated{Twinning: &eventsv1.TwinningRef{Id: "tw1", Title: "Tos.Ca.", Status: twinningv1.TwinningStatus_TWINNING_STATUS_ACTIVE}}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if ev, ok := public(env); ok {
		t.Errorf("an edit is public: %+v", ev)
	}
}

// The twinning's page follows its feed: the approval reaches it.
func TestAnApprovedReportReachesItsTwinningsFeed(t *testing.T) {
	w := newWorld(t, Config{})
	c := connect(t, w.srv.URL+"?twinning_id=tw1", 0)
	draft := &eventsv1.ReportChanged{ReportId: "rep1", TwinningId: "tw1", State: twinningv1.ReportState_REPORT_STATE_SUBMITTED, Kind: twinningv1.ReportKind_REPORT_KIND_QUARTERLY, Quarter: "2026-Q3"}
	w.publish(t, "twinning.report.submitted", "rep1", draft)
	w.publish(t, "twinning.report.approved", "rep1", &eventsv1.ReportChanged{ReportId: "rep1", TwinningId: "tw1",
		From: twinningv1.ReportState_REPORT_STATE_SUBMITTED, State: twinningv1.ReportState_REPORT_STATE_APPROVED, Kind: twinningv1.ReportKind_REPORT_KIND_QUARTERLY, Quarter: "2026-Q3"})
	if ev := c.next(t); ev.Type != "twinning.report.approved" || ev.TwinningID != "tw1" || ev.Title != "2026-Q3" {
		t.Fatalf("feed got %+v, want the approval only", ev)
	}
	c.none(t, 300*time.Millisecond)
}

// A transfer's event names its model and new status apart, for pages to
// say them in their reader's language.
func TestATransferEventNamesItsModelAndStatus(t *testing.T) {
	env, err := events.NewEnvelope("twinning.transfer.status_changed", "m-ed", "twinning", "tw1", 4, &eventsv1.TransferStatusChanged{
		TwinningId: "tw1", TwinningTitle: "Tos.Ca.", TwinningStatus: twinningv1.TwinningStatus_TWINNING_STATUS_ACTIVE,
		To:       twinningv1.TransferStatus_TRANSFER_STATUS_ADOPTED,
		Transfer: &eventsv1.TransferRef{PracticeId: "p1", PracticeTitle: "Tos.Ca.", ModelCode: "A"},
	}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ev, ok := public(env)
	if !ok || ev.ModelCode != "A" || ev.Status != "TRANSFER_STATUS_ADOPTED" || ev.Link != "/v1/twinnings/tw1" {
		t.Fatalf("%v %+v", ok, ev)
	}
}

// A proposal announcing its transfers (from = to) is not news of its own:
// the proposal is.
func TestATransferAnnouncementIsNotInTheFeed(t *testing.T) {
	env, err := events.NewEnvelope("twinning.transfer.status_changed", "m-ed", "twinning", "tw1", 4, &eventsv1.TransferStatusChanged{
		TwinningId: "tw1", TwinningStatus: twinningv1.TwinningStatus_TWINNING_STATUS_PROPOSED,
		From: twinningv1.TransferStatus_TRANSFER_STATUS_PLANNED, To: twinningv1.TransferStatus_TRANSFER_STATUS_PLANNED,
		Transfer: &eventsv1.TransferRef{PracticeId: "p1", ModelCode: "A"},
	}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if ev, ok := public(env); ok {
		t.Fatalf("an announcement is public: %+v", ev)
	}
}
