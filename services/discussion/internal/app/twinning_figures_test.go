package app_test

import (
	"context"
	"testing"
	"time"

	"github.com/gemella/gemella/services/discussion/internal/app"
	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/auth"
)

// A twinning's report counts the posts, their authors and the threads of
// its discussion day by day in the period, and nothing of the other days.
func TestTwinningFiguresCountThePeriod(t *testing.T) {
	w := newWorld(t)
	ctx := auth.WithCaller(context.Background(), bootstrap)
	th, _, err := w.app.OpenTwinningThread.Handle(ctx, app.OpenTwinningThread{TwinningID: "tw-tosca", TwinningTitle: "Tos.Ca.", ApprovedAt: t0})
	if err != nil {
		t.Fatal(err)
	}
	w.register(t, "Rita Fontana", "rita@example.it")
	w.register(t, "Ugo Riva", "ugo@example.it")
	rita, ugo := w.login(t, "rita@example.it"), w.login(t, "ugo@example.it")
	for _, c := range []auth.Caller{rita, ugo, rita} {
		if _, err := w.app.AddPost.Handle(ctx, app.AddPost{Caller: c, ThreadID: th.ID, Body: "Nel trimestre"}); err != nil {
			t.Fatal(err)
		}
	}
	w.advance(40 * 24 * time.Hour) // 19 April 2025
	if _, err := w.app.AddPost.Handle(ctx, app.AddPost{Caller: ugo, ThreadID: th.ID, Body: "Dopo"}); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		from, to                     string
		threads, posts, participants int
	}{
		{"2025-01-01", "2025-03-31", 1, 3, 2},
		{"2025-04-01", "2025-06-30", 1, 1, 1},
		{"2025-03-10", "2025-04-19", 1, 4, 2},
		{"2024-10-01", "2024-12-31", 0, 0, 0},
		{"", "", 1, 4, 2},
	} {
		got, err := w.app.TwinningFigures.Handle(context.Background(), app.TwinningFigures{TwinningID: "tw-tosca", StartDate: tc.from, EndDate: tc.to})
		if err != nil {
			t.Fatal(err)
		}
		if got.Threads != tc.threads || got.Posts != tc.posts || got.Participants != tc.participants {
			t.Errorf("%s..%s: %d threads, %d posts, %d participants; want %d, %d, %d",
				tc.from, tc.to, got.Threads, got.Posts, got.Participants, tc.threads, tc.posts, tc.participants)
		}
		if tc.threads == 1 && (len(got.ThreadTitles) != 1 || got.ThreadTitles[0] != th.Title) {
			t.Errorf("%s..%s: thread titles %v", tc.from, tc.to, got.ThreadTitles)
		}
	}
	_, err = w.app.TwinningFigures.Handle(context.Background(), app.TwinningFigures{TwinningID: "tw-tosca", StartDate: "2025-04-01", EndDate: "2025-03-01"})
	kindIs(t, "a period that ends before it starts", err, apperr.KindInvalidArgument)
	_, err = w.app.TwinningFigures.Handle(context.Background(), app.TwinningFigures{TwinningID: "tw-tosca", StartDate: "1 aprile"})
	kindIs(t, "a day that is no date", err, apperr.KindInvalidArgument)
}
