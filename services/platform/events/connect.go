// Package events is Gemella's JetStream plumbing: connecting, declaring
// streams, publishing with de-duplication by event id, and consuming with
// durable pull consumers, bounded redelivery and a dead-letter subject.
// See ARCHITECTURE.md, "Events".
package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

const (
	reconnectWait = 250 * time.Millisecond
	dialTimeout   = 2 * time.Second
	// defaultConnectTimeout bounds Connect when ctx has no deadline.
	defaultConnectTimeout = 30 * time.Second
)

// Connect opens a NATS connection that reconnects forever, so that a NATS
// restart costs a pause, not the process. It waits until the first connection
// is made or ctx ends (30s when ctx has no deadline), then returns the
// connection and a JetStream handle. The caller closes the connection.
func Connect(ctx context.Context, url, clientName string, logger *slog.Logger) (*nats.Conn, jetstream.JetStream, error) {
	if logger == nil {
		logger = slog.Default()
	}
	logger = logger.With(slog.String("nats_client", clientName))
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, defaultConnectTimeout)
		defer cancel()
	}

	nc, err := nats.Connect(url,
		nats.Name(clientName),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(reconnectWait),
		nats.RetryOnFailedConnect(true),
		nats.Timeout(dialTimeout),
		nats.ConnectHandler(func(c *nats.Conn) {
			logger.Info("nats connected", slog.String("url", c.ConnectedUrlRedacted()))
		}),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				logger.Warn("nats disconnected; reconnecting", slog.Any("error", err))
			}
		}),
		// Called on every failed attempt, four times a second while NATS is
		// down: too often for anything above debug.
		nats.ReconnectErrHandler(func(_ *nats.Conn, err error) {
			logger.Debug("nats reconnect attempt failed", slog.Any("error", err))
		}),
		nats.ReconnectHandler(func(c *nats.Conn) {
			logger.Info("nats reconnected", slog.String("url", c.ConnectedUrlRedacted()))
		}),
		nats.ClosedHandler(func(*nats.Conn) {
			logger.Debug("nats connection closed")
		}),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			attrs := []any{slog.Any("error", err)}
			if sub != nil {
				attrs = append(attrs, slog.String("subject", sub.Subject))
			}
			logger.Warn("nats asynchronous error", attrs...)
		}),
	)
	if err != nil {
		return nil, nil, fmt.Errorf("connect to nats %s: %w", url, err)
	}
	if err := waitConnected(ctx, nc); err != nil {
		nc.Close()
		return nil, nil, fmt.Errorf("connect to nats %s: %w", url, err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, fmt.Errorf("jetstream on %s: %w", url, err)
	}
	return nc, js, nil
}

// waitConnected blocks until nc has connected once, which with
// RetryOnFailedConnect may happen after nats.Connect has returned.
func waitConnected(ctx context.Context, nc *nats.Conn) error {
	status := nc.StatusChanged(nats.CONNECTED, nats.CLOSED)
	defer nc.RemoveStatusListener(status)
	if nc.IsConnected() {
		return nil
	}
	for {
		select {
		case s := <-status:
			switch s {
			case nats.CONNECTED:
				return nil
			case nats.CLOSED:
				return errors.New("connection closed before it was established")
			}
		case <-ctx.Done():
			return fmt.Errorf("not connected: %w", ctx.Err())
		}
	}
}
