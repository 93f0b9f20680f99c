package adapters

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/paging"
	"github.com/gemella/gemella/services/twinning/internal/domain/twinning"
)

// storeActive stores an active twinning with one transfer and returns it.
func storeActive(t *testing.T, r repo, id, code string) *twinning.Twinning {
	t.Helper()
	tw := newTwinning(t, id, code, t0)
	for _, m := range []twinning.Move{twinning.MovePropose, twinning.MoveApprove, twinning.MoveActivate} {
		if err := tw.Move(m, "coord", "", t0); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tw.AddTransfer(twinning.NewTransfer{ID: "tr", PracticeID: "p1", ModelCode: "A", FromOrganizationID: "toscana", ToOrganizationID: "calabria"}, "ed", t0); err != nil {
		t.Fatal(err)
	}
	if err := r.Create(context.Background(), tw); err != nil {
		t.Fatal(err)
	}
	return tw
}

func logActivity(t *testing.T, r repo, id string, a twinning.Activity) {
	t.Helper()
	if _, err := r.Update(context.Background(), id, func(tw *twinning.Twinning) error {
		_, err := tw.LogActivity(a, "ed", t0)
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

// pageAll reads a whole log page by page and returns the sort keys.
func pageAll[E interface{ SortKey() string }](t *testing.T, size int, read func(after *paging.Cursor, limit int) ([]E, error)) []E {
	t.Helper()
	var all []E
	var after *paging.Cursor
	for page := 0; page < 1000; page++ {
		items, err := read(after, size)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, items...)
		if len(items) < size {
			return all
		}
		after = &paging.Cursor{Key: items[len(items)-1].SortKey()}
	}
	t.Fatal("the pages never end")
	return nil
}

func logsOutgrowWindows(t *testing.T, r repo) {
	ctx := context.Background()
	storeActive(t, r, "t1", "LOGS")
	const cycles, notes, activities = 6, 7, 2*twinning.RecentActivities + 3
	for i := 0; i < cycles; i++ {
		for _, m := range []twinning.Move{twinning.MoveSuspend, twinning.MoveResume} {
			if _, err := r.Update(ctx, "t1", func(tw *twinning.Twinning) error { return tw.Move(m, "coord", fmt.Sprintf("giro %d", i), t0) }); err != nil {
				t.Fatal(err)
			}
		}
	}
	for i := 0; i < notes; i++ {
		if _, err := r.Update(ctx, "t1", func(tw *twinning.Twinning) error {
			_, _, err := tw.UpdateTransfer("tr", twinning.TransferPatch{Note: fmt.Sprintf("nota %d", i)}, "ed", t0)
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < activities; i++ {
		logActivity(t, r, "t1", twinning.Activity{ID: fmt.Sprintf("a%02d", i), Kind: twinning.Report, Title: fmt.Sprintf("r%d", i), Date: fmt.Sprintf("2024-02-%02d", 28-i)})
	}
	tw, err := r.Get(ctx, "t1")
	if err != nil {
		t.Fatal(err)
	}
	tr, _ := tw.Transfer("tr")
	const moves = 4 + 2*cycles
	if len(tw.History) != twinning.RecentHistory || tw.HistoryCount != moves || tw.History[len(tw.History)-1].Seq != moves ||
		len(tr.Notes) != twinning.RecentNotes || tr.NoteCount != notes || len(tw.Activities) != twinning.RecentActivities || tw.ActivityCount != activities {
		t.Fatalf("windows: history %d of %d, notes %d of %d, activities %d of %d", len(tw.History), tw.HistoryCount, len(tr.Notes), tr.NoteCount, len(tw.Activities), tw.ActivityCount)
	}
	history := pageAll(t, 4, func(after *paging.Cursor, limit int) ([]twinning.StatusChange, error) {
		return r.History(ctx, tw, after, limit)
	})
	if len(history) != moves || history[0].To != twinning.Draft || history[moves-1].To != twinning.Active || history[moves-1].Reason != fmt.Sprintf("giro %d", cycles-1) {
		t.Fatalf("paged history: %d entries %+v", len(history), history)
	}
	for i, h := range history {
		if h.Seq != i+1 {
			t.Fatalf("history entry %d numbered %d", i, h.Seq)
		}
	}
	paged := pageAll(t, 3, func(after *paging.Cursor, limit int) ([]twinning.Note, error) {
		return r.Notes(ctx, tw, "tr", after, limit)
	})
	if len(paged) != notes || paged[0].Text != "nota 0" || paged[notes-1].Text != fmt.Sprintf("nota %d", notes-1) {
		t.Fatalf("paged notes: %+v", paged)
	}
	if _, err := r.Notes(ctx, tw, "nope", nil, 3); apperr.KindOf(err) != apperr.KindNotFound {
		t.Fatalf("notes of an unknown transfer: %v", err)
	}
	// The first activity logged has left the window; it is still there,
	// and can be brought back to be changed.
	if _, recent := tw.Activity("a00"); recent {
		t.Fatal("the first activity is still in the window")
	}
	old, err := r.Activity(ctx, tw, "a00")
	if err != nil || old.Title != "r0" {
		t.Fatalf("an activity out of the window: %+v %v", old, err)
	}
	if _, err := r.Activity(ctx, tw, "nope"); apperr.KindOf(err) != apperr.KindNotFound {
		t.Fatalf("an unknown activity: %v", err)
	}
	if _, err := r.Update(ctx, "t1", func(tw *twinning.Twinning) error {
		a, err := r.Activity(ctx, tw, "a00")
		if err != nil {
			return err
		}
		tw.Recall(*a)
		_, err = tw.UpdateActivity("a00", func(a *twinning.Activity) { a.Date = "2024-03-01"; a.Outcome = "rifatto" }, "ed", t0)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	tw, _ = r.Get(ctx, "t1")
	log := pageAll(t, 5, func(after *paging.Cursor, limit int) ([]twinning.Activity, error) {
		return r.Activities(ctx, tw, after, limit)
	})
	var titles []string
	for _, a := range log {
		titles = append(titles, a.Title)
	}
	// By date: r22 (Feb 6) … r1 (Feb 27), then r0 moved to March 1.
	if len(log) != activities || log[0].Title != fmt.Sprintf("r%d", activities-1) || log[activities-1].Title != "r0" || log[activities-1].Outcome != "rifatto" {
		t.Fatalf("paged activities by date: %v", titles)
	}
}

// failingLog refuses every copy: the process died before making it.
type failingLog struct{ entryLog }

var errCrashed = errors.New("the process died here")

func (failingLog) put(context.Context, []logEntryDoc) error { return errCrashed }

func copyLostToACrash(t *testing.T, r repo) {
	ctx := context.Background()
	storeActive(t, r, "t1", "CRASH")
	healthy := r.base.log
	r.base.log = failingLog{healthy}
	r.base.WithLogger(quiet)
	// The write of the twinning happens; its copy to the log does not.
	logActivity(t, r, "t1", twinning.Activity{ID: "lost", Kind: twinning.Report, Title: "perso?", Date: "2024-01-01"})
	tw, _ := r.Get(ctx, "t1")
	if stored, _ := healthy.get(ctx, entryID("t1", kindActivity, "", "lost")); stored != nil {
		t.Fatal("the copy was made")
	}
	if log, err := r.Activities(ctx, tw, nil, 10); err != nil || len(log) != 1 || log[0].ID != "lost" {
		t.Fatalf("an activity whose copy was lost is not readable: %+v %v", log, err)
	}
	// A write that would drop an entry it cannot copy is not made.
	for i := 1; i < twinning.RecentActivities; i++ {
		logActivity(t, r, "t1", twinning.Activity{ID: fmt.Sprintf("a%d", i), Kind: twinning.Report, Title: "r", Date: "2024-01-02"})
	}
	before, _ := r.Get(ctx, "t1")
	_, err := r.Update(ctx, "t1", func(tw *twinning.Twinning) error {
		_, err := tw.LogActivity(twinning.Activity{ID: "evicts", Kind: twinning.Report, Title: "r", Date: "2024-01-03"}, "ed", t0)
		return err
	})
	if !errors.Is(err, errCrashed) {
		t.Fatalf("a write that drops an uncopied entry: %v", err)
	}
	if after, _ := r.Get(ctx, "t1"); after.Version != before.Version {
		t.Fatalf("the refused write was stored: version %d → %d", before.Version, after.Version)
	}
	// Back to health, the next write copies what it drops.
	r.base.log = healthy
	logActivity(t, r, "t1", twinning.Activity{ID: "evicts", Kind: twinning.Report, Title: "r", Date: "2024-01-03"})
	tw, _ = r.Get(ctx, "t1")
	if _, recent := tw.Activity("lost"); recent {
		t.Fatal("the window did not move on")
	}
	stored, err := healthy.get(ctx, entryID("t1", kindActivity, "", "lost"))
	if err != nil || stored == nil || stored.Activity.Title != "perso?" {
		t.Fatalf("the dropped entry was not copied: %+v %v", stored, err)
	}
	if log, _ := r.Activities(ctx, tw, nil, 100); len(log) != twinning.RecentActivities+1 || log[0].ID != "lost" {
		t.Fatalf("the log after the crash: %d entries", len(log))
	}
}

// maxDocument is the size no twinning document nor event may reach.
const maxDocument = 64 << 10

func manyActivitiesStaySmall(t *testing.T, r repo) {
	ctx := context.Background()
	storeActive(t, r, "t1", "GRANDE")
	var events []int
	relay := func() {
		if r.relay != nil {
			events = append(events, r.relay()...)
		}
	}
	relay()
	for i := 0; i < twinning.MaxActivities; i++ {
		logActivity(t, r, "t1", twinning.Activity{
			ID: fmt.Sprintf("a%03d", i), Kind: twinning.Workshop, Title: fmt.Sprintf("Workshop %d sulla gestione associata dei servizi", i),
			Description:  strings.Repeat("Una giornata di lavoro con gli uffici. ", 10),
			Date:         time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i).Format(time.DateOnly),
			Participants: []string{"Regione Toscana", "Regione Calabria", "Comune di Vibo Valentia"},
			Links:        []twinning.Link{{Title: "Slide", URL: fmt.Sprintf("https://example.org/slide-%d.pdf", i)}},
		})
		if i%20 == 19 {
			relay() // as the outbox relay does, seconds apart at most
		}
	}
	relay()
	if size := r.docSize("t1"); size >= maxDocument {
		t.Fatalf("a twinning with %d activities is %d bytes", twinning.MaxActivities, size)
	} else {
		t.Logf("a twinning with %d activities: %d bytes", twinning.MaxActivities, size)
	}
	if r.relay != nil {
		// The activities', and the five of the twinning's creation.
		if len(events) != twinning.MaxActivities+5 {
			t.Fatalf("%d events published, want %d", len(events), twinning.MaxActivities+5)
		}
		largest := 0
		for _, size := range events {
			largest = max(largest, size)
		}
		if largest >= maxDocument {
			t.Fatalf("an event of %d bytes", largest)
		}
		t.Logf("%d events, the largest %d bytes", len(events), largest)
	}
	tw, _ := r.Get(ctx, "t1")
	log := pageAll(t, 100, func(after *paging.Cursor, limit int) ([]twinning.Activity, error) {
		return r.Activities(ctx, tw, after, limit)
	})
	seen := map[string]bool{}
	for i, a := range log {
		if want := fmt.Sprintf("a%03d", i); a.ID != want || len(a.Participants) != 3 {
			t.Fatalf("activity %d of the paged log is %s, want %s", i, a.ID, want)
		}
		seen[a.ID] = true
	}
	if len(seen) != twinning.MaxActivities {
		t.Fatalf("the paged log has %d of %d activities", len(seen), twinning.MaxActivities)
	}
}
