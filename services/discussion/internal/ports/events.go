package ports

import (
	"context"
	"fmt"
	"log/slog"

	eventsv1 "github.com/gemella/gemella/proto/gemella/events/v1"
	"github.com/gemella/gemella/services/discussion/internal/app"
	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/auth"
	"github.com/gemella/gemella/services/platform/events"
)

// TwinningApprovedSubject is the subject of the twinning event that opens
// a twinning's general thread.
const TwinningApprovedSubject = "twinning.twinning.approved"

// TwinningApprovedHandler reacts to one twinning.twinning.approved event.
// Opening the thread is idempotent (its id derives from the twinning's), so
// a redelivered or republished event changes nothing. It acts as the
// service itself (auth.System), the one caller allowed to open a
// twinning's general thread.
func TwinningApprovedHandler(a app.Application, logger *slog.Logger) events.Handler {
	return func(ctx context.Context, env *eventsv1.Envelope) error {
		ctx = auth.WithCaller(ctx, auth.System(app.ServiceName))
		var changed eventsv1.TwinningChanged
		if err := events.Unpack(env, &changed); err != nil {
			return events.Permanent(err)
		}
		tw := changed.GetTwinning()
		if tw.GetId() == "" {
			return events.Permanent(fmt.Errorf("event %s names no twinning", env.GetEventId()))
		}
		approvedAt := changed.GetChange().GetTime().AsTime()
		if changed.GetChange().GetTime() == nil {
			approvedAt = env.GetOccurredAt().AsTime()
		}
		t, opened, err := a.OpenTwinningThread.Handle(ctx, app.OpenTwinningThread{
			TwinningID: tw.GetId(), TwinningTitle: tw.GetTitle(), ApprovedAt: approvedAt,
		})
		if apperr.KindOf(err) == apperr.KindInvalidArgument {
			return events.Permanent(err)
		}
		if err != nil {
			return err
		}
		if opened {
			logger.InfoContext(ctx, "opened the general thread of an approved twinning", slog.String("twinning", tw.GetId()), slog.String("thread", t.ID))
		}
		return nil
	}
}
