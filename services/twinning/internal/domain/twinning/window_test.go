package twinning

import (
	"fmt"
	"testing"
)

// The windows keep the latest entries, numbered, and counts of them all;
// an activity brought back from the log and changed becomes the latest.
func TestWindowsKeepTheLatestAndCountAll(t *testing.T) {
	tw := mustNew(t)
	for _, m := range []Move{MovePropose, MoveApprove, MoveActivate} {
		if err := tw.Move(m, "coord", "", now); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < RecentHistory; i++ {
		m := MoveSuspend
		if i%2 == 1 {
			m = MoveResume
		}
		if err := tw.Move(m, "coord", fmt.Sprintf("giro %d", i), now); err != nil {
			t.Fatal(err)
		}
	}
	moves := 4 + RecentHistory
	if len(tw.History) != RecentHistory || tw.HistoryCount != moves || tw.History[0].Seq != moves-RecentHistory+1 || tw.History[RecentHistory-1].Seq != moves {
		t.Fatalf("history window: %d of %d, from %d to %d", len(tw.History), tw.HistoryCount, tw.History[0].Seq, tw.History[len(tw.History)-1].Seq)
	}
	if _, err := tw.AddTransfer(NewTransfer{ID: "tr", PracticeID: "p1", ModelCode: "A", FromOrganizationID: "toscana", ToOrganizationID: "calabria"}, "ed", now); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < RecentNotes+2; i++ {
		if _, _, err := tw.UpdateTransfer("tr", TransferPatch{Note: fmt.Sprintf("nota %d", i)}, "ed", now); err != nil {
			t.Fatal(err)
		}
	}
	tr, _ := tw.Transfer("tr")
	if len(tr.Notes) != RecentNotes || tr.NoteCount != RecentNotes+2 || tr.Notes[0].Text != "nota 2" || tr.Notes[0].Seq != 3 {
		t.Fatalf("notes window: %+v (%d)", tr.Notes, tr.NoteCount)
	}
	tw.Version = 41
	for i := 0; i <= RecentActivities; i++ {
		if _, err := tw.LogActivity(Activity{ID: fmt.Sprintf("a%d", i), Kind: Report, Title: "r", Date: "2024-01-01"}, "ed", now); err != nil {
			t.Fatal(err)
		}
	}
	if _, recent := tw.Activity("a0"); recent || len(tw.Activities) != RecentActivities || tw.ActivityCount != RecentActivities+1 || tw.Activities[0].Rev != 42 {
		t.Fatalf("activity window: %d of %d, first %+v", len(tw.Activities), tw.ActivityCount, tw.Activities[0])
	}
	// a0 comes back from the log and, changed, is the latest written;
	// the oldest in the window leaves it.
	tw.Version = 42
	tw.Recall(Activity{ID: "a0", Kind: Report, Title: "r", Date: "2024-01-01", Rev: 42})
	if _, err := tw.UpdateActivity("a0", func(a *Activity) { a.Outcome = "fatto" }, "ed", now); err != nil {
		t.Fatal(err)
	}
	last := tw.Activities[len(tw.Activities)-1]
	if last.ID != "a0" || last.Outcome != "fatto" || last.Rev != 43 || len(tw.Activities) != RecentActivities || tw.ActivityCount != RecentActivities+1 {
		t.Fatalf("after changing a0: %+v, %d in the window, %d counted", last, len(tw.Activities), tw.ActivityCount)
	}
	if _, recent := tw.Activity("a1"); recent {
		t.Fatal("a1 should have left the window for a0")
	}
}
