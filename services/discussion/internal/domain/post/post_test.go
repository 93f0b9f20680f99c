package post

import (
	"testing"
	"time"

	"github.com/gemella/gemella/services/discussion/internal/domain/thread"
	"github.com/gemella/gemella/services/platform/apperr"
)

var t0 = time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)

func newPost(t *testing.T) *Post {
	t.Helper()
	th, _ := thread.New("t1", thread.Details{Scope: thread.Twinning, ScopeID: "tw1", Title: "Tos.Ca."}, "", "Gemella", "system", t0)
	p, err := New("p1", th, "", "author", "Laura", "Il modello A funziona.", t0)
	if err != nil {
		t.Fatal(err)
	}
	if p.Scope != thread.Twinning || p.ScopeID != "tw1" || p.State != Visible {
		t.Fatalf("new post: %+v", p)
	}
	p.Changes()
	return p
}

func TestEditWindowAndAuthorship(t *testing.T) {
	window := 15 * time.Minute
	tests := []struct {
		name   string
		author string
		at     time.Time
		kind   apperr.Kind
	}{
		{"author within the window", "author", t0.Add(14 * time.Minute), apperr.KindUnknown},
		{"author at the end of the window", "author", t0.Add(window), apperr.KindUnknown},
		{"author after the window", "author", t0.Add(window + time.Second), apperr.KindFailedPrecondition},
		{"someone else", "other", t0.Add(time.Minute), apperr.KindPermissionDenied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPost(t)
			err := p.Edit(tt.author, "corretto", window, tt.at)
			if apperr.KindOf(err) != tt.kind || (tt.kind == apperr.KindUnknown && err != nil) {
				t.Fatalf("edit: %v", err)
			}
			if err == nil && (p.Body != "corretto" || !p.EditedAt.Equal(tt.at)) {
				t.Fatalf("edited post: %+v", p)
			}
		})
	}
	p := newPost(t)
	if err := p.Edit("author", "", window, t0); apperr.KindOf(err) != apperr.KindInvalidArgument {
		t.Fatalf("empty body: %v", err)
	}
}

func TestDeleteKeepsThePost(t *testing.T) {
	p := newPost(t)
	if err := p.Delete("other", t0); apperr.KindOf(err) != apperr.KindPermissionDenied {
		t.Fatal(err)
	}
	if err := p.Delete("author", t0); err != nil || p.State != Deleted || p.Body == "" {
		t.Fatalf("deleted: %v %+v", err, p)
	}
	if r := p.Redacted(); r.Body != "" || r.State != Deleted {
		t.Fatalf("a deleted post shows its body: %+v", r)
	}
	if err := p.Edit("author", "x", time.Hour, t0); apperr.KindOf(err) != apperr.KindFailedPrecondition {
		t.Fatalf("editing a deleted post: %v", err)
	}
	if err := p.Report("m2", "Nome", "fuori tema", 3, t0); apperr.KindOf(err) != apperr.KindFailedPrecondition {
		t.Fatalf("reporting a deleted post: %v", err)
	}
}

func TestReportsHideThenModeratorsDecide(t *testing.T) {
	p := newPost(t)
	if err := p.Report("author", "Nome", "fuori tema", 3, t0); apperr.KindOf(err) != apperr.KindFailedPrecondition {
		t.Fatalf("reporting one's own post: %v", err)
	}
	for i, m := range []string{"m1", "m2"} {
		if err := p.Report(m, "Nome", "spam", 3, t0); err != nil {
			t.Fatal(err)
		}
		if p.State != Visible || len(p.Changes()) != 0 {
			t.Fatalf("hidden after %d reports", i+1)
		}
	}
	if err := p.Report("m1", "Nome", "again", 3, t0); apperr.KindOf(err) != apperr.KindAlreadyExists {
		t.Fatalf("reporting twice: %v", err)
	}
	if err := p.Report("m3", "Nome", "fuori tema", 3, t0); err != nil {
		t.Fatal(err)
	}
	c := p.Changes()
	if p.State != Hidden || p.ModeratedBy != HiddenByReports || !p.NeedsReview() || len(c) != 1 || c[0].Type != EventHidden || c[0].By != HiddenByReports {
		t.Fatalf("after the third report: %+v, changes %v", p, c)
	}
	if err := p.Restore("mod", "", t0); apperr.KindOf(err) != apperr.KindInvalidArgument {
		t.Fatalf("restore without a reason: %v", err)
	}
	if err := p.Restore("mod", "critica legittima", t0); err != nil {
		t.Fatal(err)
	}
	if p.State != Visible || p.NeedsReview() || p.ModerationReason != "critica legittima" || p.Changes()[0].Type != EventRestored {
		t.Fatalf("restored: %+v", p)
	}
	// Reviewed reports no longer count: it takes three new ones.
	_ = p.Report("m4", "Nome", "fuori tema", 3, t0)
	_ = p.Report("m5", "Nome", "fuori tema", 3, t0)
	if p.State != Visible || !p.NeedsReview() {
		t.Fatalf("two new reports after a review: %+v", p)
	}
	if err := p.Hide("mod", "offensivo", t0); err != nil || p.State != Hidden || p.ModeratedBy != "mod" || p.NeedsReview() {
		t.Fatalf("hidden by a moderator: %v %+v", err, p)
	}
	if err := p.Hide("mod", "ancora", t0); apperr.KindOf(err) != apperr.KindFailedPrecondition {
		t.Fatalf("hiding twice: %v", err)
	}
	if !p.InQueue() {
		t.Fatal("a post a moderator hid left the queue: it could not be restored from it")
	}
	if err := p.DismissReports("mod", "infondate", t0); apperr.KindOf(err) != apperr.KindFailedPrecondition {
		t.Fatalf("dismissing the reports of a post a moderator hid: %v", err)
	}
}

func TestReportNeedsAReasonAndDismissShowsAgain(t *testing.T) {
	p := newPost(t)
	if err := p.Report("m1", "Marta", " ", 2, t0); apperr.KindOf(err) != apperr.KindInvalidArgument {
		t.Fatalf("report without a reason: %v", err)
	}
	if err := p.DismissReports("mod", "niente", t0); apperr.KindOf(err) != apperr.KindFailedPrecondition {
		t.Fatalf("dismissing no reports: %v", err)
	}
	_ = p.Report("m1", "Marta", "spam", 2, t0)
	_ = p.Report("m2", "Luca", "pubblicità", 2, t0)
	if !p.HiddenByReportsNow() || p.Reports[1].MemberName != "Luca" || p.Reports[1].Reason != "pubblicità" {
		t.Fatalf("after two reports: %+v", p)
	}
	p.Changes()
	if err := p.DismissReports("mod", "segnalazioni infondate", t0); err != nil {
		t.Fatal(err)
	}
	c := p.Changes()
	if p.State != Visible || p.InQueue() || p.ModeratedBy != "mod" || len(c) != 1 || c[0].Type != EventReportsDismissed {
		t.Fatalf("dismissed: %+v %v", p, c)
	}
}
