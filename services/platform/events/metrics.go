package events

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// consumerMetrics are one consumer's series. Without a registerer they are
// kept but exported nowhere, so the code that counts needs no nil checks.
type consumerMetrics struct {
	lag           prometheus.Observer
	handled       prometheus.Counter
	failed        prometheus.Counter
	redelivered   prometheus.Counter
	deadLettered  prometheus.Counter
	interruptions prometheus.Counter
	pending       prometheus.Gauge
	ackPending    prometheus.Gauge
}

var consumerLabels = []string{"stream", "consumer"}

// newConsumerMetrics registers the consumer metrics on reg, or finds those
// another consumer registered there, and returns the series of stream and
// durable. reg may be nil.
func newConsumerMetrics(reg prometheus.Registerer, stream, durable string) (*consumerMetrics, error) {
	lag, err := register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "gemella_event_lag_seconds",
		Help:    "Time from an event's occurred-at to the end of its successful handling.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
	}, consumerLabels))
	if err != nil {
		return nil, err
	}
	counter := func(name, help string) (*prometheus.CounterVec, error) {
		return register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, consumerLabels))
	}
	gauge := func(name, help string) (*prometheus.GaugeVec, error) {
		return register(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, consumerLabels))
	}
	handled, err1 := counter("gemella_event_handled_total", "Events whose handler succeeded.")
	failed, err2 := counter("gemella_event_failed_total", "Handler calls that returned an error or panicked.")
	redelivered, err3 := counter("gemella_event_redelivered_total", "Messages received again (delivered more than once).")
	deadLettered, err4 := counter("gemella_event_dead_lettered_total", "Messages given up on and published to the dead-letter stream.")
	interruptions, err5 := counter("gemella_event_consumer_interruptions_total", "Times consumption stopped (lost pull request, leader change, disconnection) before resuming.")
	pending, err6 := gauge("gemella_event_consumer_pending_messages", "Messages of the stream the consumer has not delivered yet, from its last consumer info.")
	ackPending, err7 := gauge("gemella_event_consumer_ack_pending_messages", "Messages delivered and not acknowledged yet, from its last consumer info.")
	if err := errors.Join(err1, err2, err3, err4, err5, err6, err7); err != nil {
		return nil, err
	}
	return &consumerMetrics{
		lag:           lag.WithLabelValues(stream, durable),
		handled:       handled.WithLabelValues(stream, durable),
		failed:        failed.WithLabelValues(stream, durable),
		redelivered:   redelivered.WithLabelValues(stream, durable),
		deadLettered:  deadLettered.WithLabelValues(stream, durable),
		interruptions: interruptions.WithLabelValues(stream, durable),
		pending:       pending.WithLabelValues(stream, durable),
		ackPending:    ackPending.WithLabelValues(stream, durable),
	}, nil
}

// register registers c on reg and returns it, or returns the collector of
// the same description that is already registered there.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	if reg == nil {
		return c, nil
	}
	err := reg.Register(c)
	var already prometheus.AlreadyRegisteredError
	if errors.As(err, &already) {
		existing, ok := already.ExistingCollector.(C)
		if !ok {
			return c, fmt.Errorf("register consumer metrics: %w", err)
		}
		return existing, nil
	}
	if err != nil {
		return c, fmt.Errorf("register consumer metrics: %w", err)
	}
	return c, nil
}
