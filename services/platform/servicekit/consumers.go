package servicekit

import (
	"context"
	"log/slog"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gemella/gemella/services/platform/events"
)

// runConsumer consumes until ctx ends, once the stream exists; it returns
// an error only for an invalid configuration. Its lag goes to metrics.
func runConsumer(ctx context.Context, js jetstream.JetStream, c Consumer, logger *slog.Logger, metrics prometheus.Registerer) error {
	logger = logger.With(slog.String("consumer", c.Durable))
	if !waitForStream(ctx, js, c.Stream, logger) {
		return nil
	}
	return events.Consume(ctx, js, events.ConsumerConfig{
		Stream: c.Stream, Durable: c.Durable, FilterSubjects: c.FilterSubjects,
		Logger: logger, Observe: c.Observe, Metrics: metrics,
	}, c.Handler)
}
