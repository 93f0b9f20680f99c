package servicekit

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/gemella/gemella/services/platform/config"
	"github.com/gemella/gemella/services/platform/events"
)

const (
	// natsAttemptTimeout bounds one attempt to connect.
	natsAttemptTimeout = 3 * time.Second
	// drainTimeout bounds the drain of the NATS connection at stop.
	drainTimeout = 10 * time.Second
)

// connectNATS connects once; the connection then reconnects by itself
// (events.Connect) for as long as the service runs.
func connectNATS(ctx context.Context, cfg config.NATS, name string, logger *slog.Logger) (*nats.Conn, jetstream.JetStream, error) {
	opts, err := cfg.ConnectOptions(func(err error) {
		logger.Error("nats client certificate no longer loads; keeping the previous one", slog.Any("error", err))
	})
	if err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, natsAttemptTimeout)
	defer cancel()
	return events.Connect(ctx, cfg.URL, name, logger, opts...)
}

// prepareNATS declares the service's stream and the dead-letter stream.
// Without a JetStream quorum it fails, and the kit tries again.
func prepareNATS(ctx context.Context, js jetstream.JetStream, cfg config.NATS, s Stream) error {
	if s.Name != "" {
		if _, err := events.EnsureStream(ctx, js, events.StreamConfig{Name: s.Name, Subjects: s.Subjects, Replicas: cfg.StreamReplicas}); err != nil {
			return err
		}
	}
	if _, err := events.EnsureDeadLetterStream(ctx, js, cfg.StreamReplicas); err != nil {
		return err
	}
	return nil
}

// checkNATS is NATS's health check: connected, and JetStream answers.
func checkNATS(nc *nats.Conn, js jetstream.JetStream) func(ctx context.Context) error {
	return func(ctx context.Context) error { return events.Check(ctx, nc, js) }
}

// drainNATS drains the connection — subscriptions stop, what was
// published is flushed — and waits until it is closed, bounded.
func drainNATS(nc *nats.Conn, logger *slog.Logger) {
	closed := nc.StatusChanged(nats.CLOSED)
	defer nc.RemoveStatusListener(closed)
	if nc.IsClosed() {
		return
	}
	if err := nc.Drain(); err != nil {
		// A connection still reconnecting has nothing to drain: Drain closes it.
		if !errors.Is(err, nats.ErrConnectionClosed) && !errors.Is(err, nats.ErrConnectionReconnecting) {
			logger.Warn("nats drain failed; closing", slog.Any("error", err))
		}
		nc.Close()
		return
	}
	select {
	case <-closed:
	case <-time.After(drainTimeout):
		logger.Warn("nats drain did not finish; closing", slog.Duration("waited", drainTimeout))
		nc.Close()
	}
}

// waitForStream returns once the stream exists (true) or ctx ends
// (false). A consumer of another service's stream may start before that
// service has declared it, or while it does not run at all on a
// developer's machine: worth one line in the log, not a warning every few
// seconds.
func waitForStream(ctx context.Context, js jetstream.JetStream, name string, logger *slog.Logger) bool {
	b := newBackoff()
	told := false
	for {
		callCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := js.Stream(callCtx, name)
		cancel()
		if err == nil {
			if told {
				logger.Info("stream is there: consuming", slog.String("stream", name))
			}
			return true
		}
		if !told {
			logger.Info("waiting for a stream to consume", slog.String("stream", name), slog.Any("reason", err))
			told = true
		}
		if !b.wait(ctx) {
			return false
		}
	}
}
