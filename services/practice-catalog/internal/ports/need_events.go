package ports

import (
	"context"
	"fmt"
	"log/slog"

	eventsv1 "github.com/gemella/gemella/proto/gemella/events/v1"
	twinningv1 "github.com/gemella/gemella/proto/gemella/twinning/v1"
	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/auth"
	"github.com/gemella/gemella/services/platform/events"
	"github.com/gemella/gemella/services/practice-catalog/internal/app"
)

// TwinningCreated is the subject of the twinning event that marks the need
// a twinning started from as matched; TwinningCancelled and
// TwinningDeleted open it again.
const (
	TwinningCreated   = "twinning.twinning.created"
	TwinningCancelled = "twinning.twinning.cancelled"
	TwinningDeleted   = "twinning.twinning.deleted"
)

// NeedOriginSubjects are the subjects NeedOrigins handles.
var NeedOriginSubjects = []string{TwinningCreated, TwinningCancelled, TwinningDeleted}

// NeedOrigins turns "a twinning started from a need" into the need's move
// to matched.
type NeedOrigins struct {
	mark    app.MarkNeedMatchedHandler
	release app.ReleaseNeedHandler
	logger  *slog.Logger
}

// NewNeedOrigins calls the application's MarkNeedMatched, as gRPC calls
// its commands.
func NewNeedOrigins(a app.Application, logger *slog.Logger) *NeedOrigins {
	if logger == nil {
		logger = slog.Default()
	}
	return &NeedOrigins{mark: a.MarkNeedMatched, release: a.ReleaseNeed, logger: logger}
}

// Handle is an events.Handler. Twinnings that did not start from a need
// are acknowledged and ignored. A need that is unknown, closed, or matched
// by another twinning is acknowledged with a warning: no retry changes
// that. An undecodable event goes to the dead letters.
//
// It acts as the catalog itself (auth.System), the one caller allowed to
// mark a need matched.
func (c *NeedOrigins) Handle(ctx context.Context, env *eventsv1.Envelope) error {
	var tw *eventsv1.TwinningRef
	switch env.GetType() {
	case TwinningCreated, TwinningCancelled:
		var msg eventsv1.TwinningChanged
		if err := events.Unpack(env, &msg); err != nil {
			return events.Permanent(err)
		}
		tw = msg.GetTwinning()
	case TwinningDeleted:
		var msg eventsv1.TwinningDeleted
		if err := events.Unpack(env, &msg); err != nil {
			return events.Permanent(err)
		}
		tw = msg.GetTwinning()
	default:
		return nil
	}
	system := auth.System(app.ServiceName)
	ctx = auth.WithCaller(ctx, system)
	if tw.GetOrigin() != twinningv1.Origin_ORIGIN_NEED || tw.GetOriginRef() == "" {
		return nil
	}
	twinningID := tw.GetId()
	if twinningID == "" {
		twinningID = env.GetAggregateId()
	}
	var applied bool
	var err error
	if env.GetType() == TwinningCreated {
		applied, err = c.mark.Handle(ctx, app.MarkNeedMatched{NeedID: tw.GetOriginRef(), TwinningID: twinningID, Actor: system.Actor()})
	} else {
		applied, err = c.release.Handle(ctx, app.ReleaseNeed{NeedID: tw.GetOriginRef(), TwinningID: twinningID, Actor: system.Actor()})
	}
	switch apperr.KindOf(err) {
	case apperr.KindUnknown:
		if err != nil {
			return fmt.Errorf("event %s: need %s: %w", env.GetEventId(), tw.GetOriginRef(), err)
		}
	case apperr.KindNotFound, apperr.KindFailedPrecondition, apperr.KindInvalidArgument:
		c.logger.Warn("twinning from a need that cannot be matched", "event_id", env.GetEventId(), "need_id", tw.GetOriginRef(), "twinning_id", twinningID, "err", err)
		return nil
	default:
		return fmt.Errorf("event %s: need %s: %w", env.GetEventId(), tw.GetOriginRef(), err)
	}
	c.logger.Debug("need's twinning event applied", "type", env.GetType(), "event_id", env.GetEventId(), "need_id", tw.GetOriginRef(), "twinning_id", twinningID, "applied", applied)
	return nil
}
