package ports

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	eventsv1 "github.com/gemella/gemella/proto/gemella/events/v1"
	"github.com/gemella/gemella/services/discussion/internal/app"
	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/auth"
	"github.com/gemella/gemella/services/platform/events"
)

// What the discussion consumes from the twinning service.
const (
	TwinningStream          = "TWINNING"
	TwinningApprovedSubject = "twinning.twinning.approved"
	// TwinningConsumer is the durable consumer's name: it keeps its place
	// on the stream while the service is down, so an approval published
	// meanwhile is handled at the next start.
	TwinningConsumer = "discussion-on-twinning-approved"
)

// ConsumeTwinningApprovals opens the general thread of every approved
// twinning until ctx is done. It outlives NATS outages and a TWINNING
// stream that does not exist yet (the twinning service creates it): it
// retries, and returns only for a configuration error.
func ConsumeTwinningApprovals(ctx context.Context, js jetstream.JetStream, a app.Application, logger *slog.Logger) error {
	if !waitForStream(ctx, js, TwinningStream, logger) {
		return nil
	}
	return events.Consume(ctx, js, events.ConsumerConfig{
		Stream:         TwinningStream,
		Durable:        TwinningConsumer,
		FilterSubjects: []string{TwinningApprovedSubject},
		Logger:         logger,
	}, TwinningApprovedHandler(a, logger))
}

// waitForStream returns once the stream exists (true) or ctx is done
// (false). The twinning service may start later than this one, or not at
// all on a developer's machine: that is worth one line in the log, not a
// warning every few seconds.
func waitForStream(ctx context.Context, js jetstream.JetStream, name string, logger *slog.Logger) bool {
	wait, told := 250*time.Millisecond, false
	for {
		callCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := js.Stream(callCtx, name)
		cancel()
		if err == nil {
			if told {
				logger.InfoContext(ctx, "stream is there: consuming", slog.String("stream", name))
			}
			return true
		}
		if !told {
			logger.InfoContext(ctx, "waiting for a stream to consume", slog.String("stream", name), slog.Any("reason", err))
			told = true
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(wait):
		}
		wait = min(2*wait, 5*time.Second)
	}
}

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
