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
	"math/rand/v2"
	"net/url"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

const (
	dialTimeout = 2 * time.Second
	// The wait between two rounds over every known server grows from
	// minReconnectWait to maxReconnectWait, with up to a quarter of jitter
	// so that many clients do not come back in step. A server failing in
	// a cluster costs no wait: the client moves on to the next one at once.
	minReconnectWait = 250 * time.Millisecond
	maxReconnectWait = 4 * time.Second
	// A connection whose server stopped answering (a crashed host leaves the
	// TCP connection open) is given up after maxPingsOut unanswered pings,
	// about 8 s, instead of the client's default of minutes.
	pingInterval = 2 * time.Second
	maxPingsOut  = 3
	// checkTimeout bounds Check.
	checkTimeout = 2 * time.Second
)

// Connect opens a NATS connection to url (one or more comma-separated server
// URLs; the rest of a cluster is discovered) that reconnects forever with
// backoff, so that a NATS outage costs a pause, not the process. It does not
// fail when no server is reachable: the first attempt is made before it
// returns, and if it fails the connection keeps trying in the background.
// It fails only for an invalid URL or option, or when ctx is already done.
// Use Check to know whether NATS and JetStream answer, EnsureStream and
// Consume retry on their own. The caller closes the connection.
func Connect(ctx context.Context, url, clientName string, logger *slog.Logger, extra ...nats.Option) (*nats.Conn, jetstream.JetStream, error) {
	if logger == nil {
		logger = slog.Default()
	}
	servers := redactURLs(url)
	if err := ctx.Err(); err != nil {
		return nil, nil, fmt.Errorf("connect to nats %s: %w", servers, err)
	}
	logger = logger.With(slog.String("nats_client", clientName))

	opts := []nats.Option{
		nats.Name(clientName),
		nats.MaxReconnects(-1),
		nats.RetryOnFailedConnect(true),
		nats.CustomReconnectDelay(reconnectDelay),
		nats.Timeout(dialTimeout),
		nats.PingInterval(pingInterval),
		nats.MaxPingsOutstanding(maxPingsOut),
		nats.ConnectHandler(func(c *nats.Conn) {
			logger.Info("nats connected", slog.String("url", c.ConnectedUrlRedacted()), slog.String("server", c.ConnectedServerName()))
		}),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				logger.Warn("nats disconnected; reconnecting", slog.Any("error", err))
			}
		}),
		// Called on every failed attempt, several times a second while NATS
		// is down: too often for anything above debug.
		nats.ReconnectErrHandler(func(_ *nats.Conn, err error) {
			logger.Debug("nats reconnect attempt failed", slog.Any("error", err))
		}),
		nats.ReconnectHandler(func(c *nats.Conn) {
			logger.Info("nats reconnected", slog.String("url", c.ConnectedUrlRedacted()), slog.String("server", c.ConnectedServerName()))
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
	}
	// Credentials and TLS (config.NATS.ConnectOptions) come last.
	nc, err := nats.Connect(url, append(opts, extra...)...)
	if err != nil {
		return nil, nil, fmt.Errorf("connect to nats %s: %w", servers, err)
	}
	if !nc.IsConnected() {
		logger.Warn("nats not reachable yet; connecting in the background", slog.String("servers", servers))
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, fmt.Errorf("jetstream on %s: %w", servers, err)
	}
	return nc, js, nil
}

// reconnectDelay is the wait after the rounds-th failed round over every
// known server.
func reconnectDelay(rounds int) time.Duration {
	d := maxReconnectWait
	if rounds < 8 {
		d = min(minReconnectWait<<max(rounds-1, 0), maxReconnectWait)
	}
	return d + rand.N(d/4+1)
}

// Check reports whether nc is connected and JetStream answers on it: nil
// when it does, otherwise an error naming the problem (not connected, and
// in which state; or JetStream not answering, e.g. without a quorum). It is
// meant for health checks, so it gives up after 2s at most: during a
// JetStream leader election a request may get no answer at all.
func Check(ctx context.Context, nc *nats.Conn, js jetstream.JetStream) error {
	if nc == nil || js == nil {
		return errors.New("nats check: no connection")
	}
	if !nc.IsConnected() {
		return fmt.Errorf("nats not connected (%s)", strings.ToLower(nc.Status().String()))
	}
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	if _, err := js.AccountInfo(ctx); err != nil {
		return fmt.Errorf("jetstream not answering on nats server %s: %w", nc.ConnectedServerName(), err)
	}
	return nil
}

// redactURLs drops the credentials from a comma-separated list of server
// URLs, for logs and errors.
func redactURLs(urls string) string {
	parts := strings.Split(urls, ",")
	for i, p := range parts {
		p = strings.TrimSpace(p)
		if u, err := url.Parse(p); err == nil && u.User != nil {
			u.User = nil
			p = u.String()
		}
		parts[i] = p
	}
	return strings.Join(parts, ",")
}
