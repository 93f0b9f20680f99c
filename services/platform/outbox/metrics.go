package outbox

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics of a Relay, labelled by service and collection:
//
//	gemella_outbox_backlog_documents         gauge: documents with pending events, as of the last pass
//	gemella_outbox_published_total           counter: records the stream acknowledged (re-publishes included)
//	gemella_outbox_publish_failures_total    counter: failed publishes, reason="unavailable" (NATS down) or "refused" (this record)
//	gemella_outbox_dead_lettered_total       counter: records moved to the dead-letter stream
type metrics struct {
	service     string
	backlogG    *prometheus.GaugeVec
	publishedC  *prometheus.CounterVec
	failuresC   *prometheus.CounterVec
	deadLetterC *prometheus.CounterVec
}

// newMetrics registers the relay's metrics on reg, or finds the ones another
// relay registered there; nil reg means no metrics.
func newMetrics(reg prometheus.Registerer, service string) (*metrics, error) {
	if reg == nil {
		return nil, nil
	}
	labels := []string{"service", "collection"}
	m := &metrics{service: service}
	var err error
	if m.backlogG, err = register(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "gemella_outbox_backlog_documents",
		Help: "Documents with events waiting to be published, as of the relay's last pass.",
	}, labels)); err != nil {
		return nil, err
	}
	if m.publishedC, err = register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gemella_outbox_published_total",
		Help: "Outbox records the stream acknowledged, re-publishes dropped by its duplicate window included.",
	}, labels)); err != nil {
		return nil, err
	}
	if m.failuresC, err = register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gemella_outbox_publish_failures_total",
		Help: "Failed publishes of outbox records, by reason: unavailable (NATS unreachable) or refused (this record).",
	}, append(labels, "reason"))); err != nil {
		return nil, err
	}
	if m.deadLetterC, err = register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gemella_outbox_dead_lettered_total",
		Help: "Outbox records moved to the dead-letter stream after failing to publish.",
	}, labels)); err != nil {
		return nil, err
	}
	return m, nil
}

func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	err := reg.Register(c)
	var already prometheus.AlreadyRegisteredError
	if errors.As(err, &already) {
		existing, ok := already.ExistingCollector.(C)
		if !ok {
			return c, fmt.Errorf("register outbox metrics: %w", err)
		}
		return existing, nil
	}
	if err != nil {
		return c, fmt.Errorf("register outbox metrics: %w", err)
	}
	return c, nil
}

func (m *metrics) backlog(coll string, n int) {
	if m != nil {
		m.backlogG.WithLabelValues(m.service, coll).Set(float64(n))
	}
}

func (m *metrics) published(coll string) {
	if m != nil {
		m.publishedC.WithLabelValues(m.service, coll).Inc()
	}
}

func (m *metrics) failed(coll, reason string) {
	if m != nil {
		m.failuresC.WithLabelValues(m.service, coll, reason).Inc()
	}
}

func (m *metrics) deadLettered(coll string) {
	if m != nil {
		m.deadLetterC.WithLabelValues(m.service, coll).Inc()
	}
}
