package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/proto"

	eventsv1 "github.com/gemella/gemella/proto/gemella/events/v1"
)

// Headers of a dead-lettered message; its data is the original message's.
const (
	HeaderOriginalSubject = "Gemella-Original-Subject"
	HeaderOriginalMsgID   = "Gemella-Original-Msg-Id"
	HeaderStream          = "Gemella-Stream"
	HeaderConsumer        = "Gemella-Consumer"
	HeaderStreamSequence  = "Gemella-Stream-Sequence"
	HeaderNumDelivered    = "Gemella-Num-Delivered"
	HeaderError           = "Gemella-Error"
)

const (
	defaultMaxDeliver     = 5
	defaultAckWait        = 30 * time.Second
	defaultHandlerTimeout = 10 * time.Second
	deadLetterTimeout     = 5 * time.Second
	setupTimeout          = 10 * time.Second
	minRetryWait          = 250 * time.Millisecond
	maxRetryWait          = 5 * time.Second
	maxErrorHeaderLen     = 1024
	pullRecheck           = time.Second
)

var defaultBackoff = []time.Duration{time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second}

// Handler reacts to one event. Returning nil acknowledges it; an error has it
// delivered again after a backoff, unless it is Permanent. Effects must be
// idempotent (keyed by env.EventId): delivery is at least once.
type Handler func(ctx context.Context, env *eventsv1.Envelope) error

// Permanent marks err as one that no retry can fix, so the message goes to
// the dead-letter subject at once. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err}
}

// IsPermanent reports whether err, or an error it wraps, came from Permanent.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

type permanentError struct{ err error }

func (e *permanentError) Error() string { return "permanent: " + e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// ConsumerConfig declares a durable pull consumer and how its messages are
// handled.
type ConsumerConfig struct {
	// Stream to consume; required.
	Stream string
	// Durable consumer name, e.g. "discussion-on-twinning"; required.
	Durable string
	// FilterSubjects limits the consumer to these subjects; empty means all
	// of the stream.
	FilterSubjects []string
	// MaxDeliver is how many times the handler sees a message before it is
	// dead-lettered; default 5.
	MaxDeliver int
	// Backoff is the wait before delivery n+1 after failed delivery n; the
	// last value repeats. Default 1s, 2s, 5s, 10s.
	Backoff []time.Duration
	// AckWait is how long the server waits for an ack before delivering
	// again; default 30s. Must exceed HandlerTimeout.
	AckWait time.Duration
	// HandlerTimeout is the deadline of one handler call; default 10s.
	HandlerTimeout time.Duration
	// Logger; nil means slog.Default().
	Logger *slog.Logger
	// Observe, when set, is called after each successful handler call,
	// before the ack, with the event and the time the handler returned:
	// for telemetry and benchmarks, e.g. the lag handledAt − OccurredAt.
	// It runs on the consuming goroutine, so it must be quick, must not
	// panic and must not keep env. Nil observes nothing.
	Observe func(env *eventsv1.Envelope, handledAt time.Time)
	// Metrics, when set, gets the histogram gemella_event_lag_seconds: the
	// time from an event's occurred-at to the end of its successful
	// handling, by stream and consumer. Consumers may share a registry.
	// Nil records nothing.
	Metrics prometheus.Registerer
}

func (c ConsumerConfig) withDefaults() ConsumerConfig {
	if c.MaxDeliver == 0 {
		c.MaxDeliver = defaultMaxDeliver
	}
	if len(c.Backoff) == 0 {
		c.Backoff = defaultBackoff
	}
	if c.AckWait == 0 {
		c.AckWait = defaultAckWait
	}
	if c.HandlerTimeout == 0 {
		c.HandlerTimeout = defaultHandlerTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Validate reports every problem of the configuration at once. Zero values
// that have a default are valid.
func (c ConsumerConfig) Validate() error {
	c = c.withDefaults()
	var errs []error
	if err := checkName("consumer stream", c.Stream); err != nil {
		errs = append(errs, err)
	}
	if err := checkName("consumer durable name", c.Durable); err != nil {
		errs = append(errs, err)
	}
	for i, s := range c.FilterSubjects {
		if err := checkSubject(s); err != nil {
			errs = append(errs, fmt.Errorf("consumer filter subjects[%d]: %w", i, err))
		}
	}
	if c.MaxDeliver < 1 {
		errs = append(errs, fmt.Errorf("consumer max deliver %d: must be at least 1", c.MaxDeliver))
	}
	for i, d := range c.Backoff {
		if d <= 0 {
			errs = append(errs, fmt.Errorf("consumer backoff[%d] %s: must be positive", i, d))
		}
	}
	if c.AckWait < 0 {
		errs = append(errs, fmt.Errorf("consumer ack wait %s is negative", c.AckWait))
	}
	if c.HandlerTimeout < 0 {
		errs = append(errs, fmt.Errorf("consumer handler timeout %s is negative", c.HandlerTimeout))
	}
	if c.AckWait > 0 && c.HandlerTimeout >= c.AckWait {
		// Otherwise the server hands the message out again while the
		// handler still works on it.
		errs = append(errs, fmt.Errorf("consumer handler timeout %s must be shorter than ack wait %s", c.HandlerTimeout, c.AckWait))
	}
	return errors.Join(errs...)
}

// Consume creates or updates the durable pull consumer cfg.Durable on
// cfg.Stream and hands its messages to h one at a time until ctx is done,
// then returns nil. A message is acked when h succeeds and delivered again
// after the configured backoff when h fails. It is published to
// DeadLetterSubject(stream, durable) and terminated when h has failed
// MaxDeliver times, when h returns a Permanent error, or when it is not an
// Envelope; EnsureDeadLetterStream must have been called for that.
//
// Consume outlives NATS outages: it keeps (re)creating the consumer and
// pulling, logging at warn, until ctx is done. It returns an error only for an
// invalid configuration.
func Consume(ctx context.Context, js jetstream.JetStream, cfg ConsumerConfig, h Handler) error {
	if h == nil {
		return fmt.Errorf("consume %s/%s: handler is required", cfg.Stream, cfg.Durable)
	}
	if js == nil {
		return fmt.Errorf("consume %s/%s: jetstream is required", cfg.Stream, cfg.Durable)
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("consume %s/%s: %w", cfg.Stream, cfg.Durable, err)
	}
	cfg = cfg.withDefaults()
	c := &consumer{
		js:  js,
		cfg: cfg,
		h:   h,
		log: cfg.Logger.With(slog.String("stream", cfg.Stream), slog.String("consumer", cfg.Durable)),
	}
	if cfg.Metrics != nil {
		lag, err := eventLag(cfg.Metrics)
		if err != nil {
			return fmt.Errorf("consume %s/%s: %w", cfg.Stream, cfg.Durable, err)
		}
		c.lag = lag.WithLabelValues(cfg.Stream, cfg.Durable)
	}

	wait := minRetryWait
	for ctx.Err() == nil {
		err := c.consumeOnce(ctx)
		if ctx.Err() != nil {
			break
		}
		if errors.Is(err, errIteratorStarted) {
			wait = minRetryWait
		}
		c.log.Warn("consumer interrupted; retrying", slog.Any("error", err), slog.Duration("retry_in", wait))
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
		wait = min(2*wait, maxRetryWait)
	}
	c.log.Debug("consumer stopped")
	return nil
}

// errIteratorStarted reports that consumeOnce got as far as pulling
// messages before it ended, so the retry backoff starts over.
var errIteratorStarted = errors.New("message iterator ended")

type consumer struct {
	js  jetstream.JetStream
	cfg ConsumerConfig
	h   Handler
	log *slog.Logger
	// lag is this consumer's series of the lag histogram; nil without Metrics.
	lag prometheus.Observer
}

// consumeOnce declares the consumer and pulls from it until ctx is done or
// the iterator fails.
func (c *consumer) consumeOnce(ctx context.Context) error {
	setupCtx, cancel := context.WithTimeout(ctx, setupTimeout)
	cons, err := c.js.CreateOrUpdateConsumer(setupCtx, c.cfg.Stream, jetstream.ConsumerConfig{
		Durable:        c.cfg.Durable,
		FilterSubjects: c.cfg.FilterSubjects,
		AckPolicy:      jetstream.AckExplicitPolicy,
		DeliverPolicy:  jetstream.DeliverAllPolicy,
		AckWait:        c.cfg.AckWait,
		// The delivery limit is enforced here, not by the server: a message
		// past it is dead-lettered without calling the handler, and if the
		// dead-letter publish fails it is retried rather than abandoned.
		MaxDeliver: -1,
	})
	cancel()
	if err != nil {
		return fmt.Errorf("create consumer: %w", err)
	}

	// One message buffered while one is handled: buffered messages' ack
	// timers run, and at most two handler timeouts fit in AckWait.
	it, err := cons.Messages(jetstream.PullMaxMessages(1), jetstream.WithMessagesErrOnMissingHeartbeat(false))
	if err != nil {
		return fmt.Errorf("start pulling: %w", err)
	}
	defer it.Stop()
	c.log.Debug("consuming")

	for {
		msg, err := c.next(ctx, it)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("%w: %w", errIteratorStarted, err)
		}
		if msg != nil {
			c.handle(ctx, msg)
		}
	}
}

// next waits up to pullRecheck for a message and returns nil, nil when none
// came. The iterator decides whether to send a new pull request only when
// Next is called, and it skips that while its previous request is still
// being written; if the one message of that request is handled within that
// window, a Next that waited forever would wait for the missed-heartbeat
// check (30s) before pulling again. Seen under load with -race.
func (c *consumer) next(ctx context.Context, it jetstream.MessagesContext) (jetstream.Msg, error) {
	waitCtx, cancel := context.WithTimeout(ctx, pullRecheck)
	defer cancel()
	msg, err := it.Next(jetstream.NextContext(waitCtx))
	if err != nil && ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
		return nil, nil
	}
	return msg, err
}

func (c *consumer) handle(ctx context.Context, msg jetstream.Msg) {
	meta, err := msg.Metadata()
	if err != nil {
		// Not a JetStream delivery; nothing to ack or redeliver.
		c.log.Error("message without jetstream metadata", slog.String("subject", msg.Subject()), slog.Any("error", err))
		return
	}
	log := c.log.With(
		slog.String("subject", msg.Subject()),
		slog.Uint64("stream_seq", meta.Sequence.Stream),
		slog.Uint64("delivered", meta.NumDelivered),
	)

	if meta.NumDelivered > uint64(c.cfg.MaxDeliver) {
		// The handler already had all its attempts; an earlier dead-letter
		// publish failed or the process died handling it.
		c.deadLetter(ctx, log, msg, meta, fmt.Errorf("delivered %d times, limit %d", meta.NumDelivered, c.cfg.MaxDeliver))
		return
	}

	var env eventsv1.Envelope
	if err := proto.Unmarshal(msg.Data(), &env); err != nil {
		c.deadLetter(ctx, log, msg, meta, fmt.Errorf("decode envelope: %w", err))
		return
	}
	if env.GetEventId() == "" {
		c.deadLetter(ctx, log, msg, meta, errors.New("decode envelope: no event id"))
		return
	}
	log = log.With(slog.String("event_id", env.GetEventId()))

	err = c.call(ctx, log, &env)
	switch {
	case err == nil:
		c.handled(&env, time.Now())
		if err := msg.Ack(); err != nil {
			// The server delivers it again after AckWait; handlers are idempotent.
			log.Warn("ack failed", slog.Any("error", err))
		}
	case ctx.Err() != nil:
		// Shutting down: hand it back for another instance or the next start.
		_ = msg.Nak()
	case IsPermanent(err), meta.NumDelivered >= uint64(c.cfg.MaxDeliver):
		c.deadLetter(ctx, log, msg, meta, err)
	default:
		delay := c.backoff(meta.NumDelivered)
		log.Warn("event handler failed; will retry", slog.Any("error", err), slog.Duration("retry_in", delay))
		if err := msg.NakWithDelay(delay); err != nil {
			log.Warn("nak failed; redelivery waits for ack wait", slog.Any("error", err))
		}
	}
}

// call runs the handler under its deadline and turns a panic into an error.
func (c *consumer) call(ctx context.Context, log *slog.Logger, env *eventsv1.Envelope) (err error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.HandlerTimeout)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			log.Error("event handler panicked", slog.Any("panic", p), slog.String("stack", string(debug.Stack())))
			err = fmt.Errorf("handler panicked: %v", p)
		}
	}()
	return c.h(ctx, env)
}

// handled reports a successful handling to the observer and the metrics.
func (c *consumer) handled(env *eventsv1.Envelope, at time.Time) {
	if c.lag != nil && env.GetOccurredAt() != nil {
		// A producer's clock ahead of ours would make the lag negative.
		c.lag.Observe(max(0, at.Sub(env.GetOccurredAt().AsTime()).Seconds()))
	}
	if c.cfg.Observe != nil {
		c.cfg.Observe(env, at)
	}
}

// eventLag registers the lag histogram on reg, or finds the one another
// consumer registered there.
func eventLag(reg prometheus.Registerer) (*prometheus.HistogramVec, error) {
	lag := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "gemella_event_lag_seconds",
		Help:    "Time from an event's occurred-at to the end of its successful handling.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
	}, []string{"stream", "consumer"})
	err := reg.Register(lag)
	var already prometheus.AlreadyRegisteredError
	if errors.As(err, &already) {
		existing, ok := already.ExistingCollector.(*prometheus.HistogramVec)
		if !ok {
			return nil, fmt.Errorf("register event lag histogram: %w", err)
		}
		return existing, nil
	}
	if err != nil {
		return nil, fmt.Errorf("register event lag histogram: %w", err)
	}
	return lag, nil
}

// backoff is the wait after failed delivery n (1-based).
func (c *consumer) backoff(delivered uint64) time.Duration {
	i := int(min(delivered, uint64(len(c.cfg.Backoff)))) - 1
	return c.cfg.Backoff[max(i, 0)]
}

func (c *consumer) deadLetter(ctx context.Context, log *slog.Logger, msg jetstream.Msg, meta *jetstream.MsgMetadata, cause error) {
	reason := headerSafe(cause.Error())
	dl := nats.NewMsg(DeadLetterSubject(c.cfg.Stream, c.cfg.Durable))
	dl.Data = msg.Data()
	dl.Header.Set(HeaderOriginalSubject, msg.Subject())
	if id := msg.Headers().Get(jetstream.MsgIDHeader); id != "" {
		dl.Header.Set(HeaderOriginalMsgID, id)
	}
	dl.Header.Set(HeaderStream, c.cfg.Stream)
	dl.Header.Set(HeaderConsumer, c.cfg.Durable)
	dl.Header.Set(HeaderStreamSequence, strconv.FormatUint(meta.Sequence.Stream, 10))
	dl.Header.Set(HeaderNumDelivered, strconv.FormatUint(meta.NumDelivered, 10))
	dl.Header.Set(HeaderError, reason)
	// One dead letter per stream message and consumer, even if this runs
	// twice because the Term below got lost.
	dlID := c.cfg.Stream + "." + c.cfg.Durable + "." + strconv.FormatUint(meta.Sequence.Stream, 10)

	pubCtx, cancel := context.WithTimeout(ctx, deadLetterTimeout)
	_, err := c.js.PublishMsg(pubCtx, dl, jetstream.WithMsgID(dlID))
	cancel()
	if err != nil {
		delay := c.cfg.Backoff[len(c.cfg.Backoff)-1]
		log.Error("dead-letter publish failed; will retry", slog.String("cause", reason), slog.Any("error", err), slog.Duration("retry_in", delay))
		_ = msg.NakWithDelay(delay)
		return
	}
	log.Warn("event dead-lettered", slog.String("cause", reason), slog.String("dead_letter_subject", dl.Subject))
	if err := msg.TermWithReason(reason); err != nil {
		log.Warn("term after dead-letter failed; a redelivery dead-letters it again", slog.Any("error", err))
	}
}

// headerSafe makes s fit a single header line of bounded length.
func headerSafe(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > maxErrorHeaderLen {
		s = strings.ToValidUTF8(s[:maxErrorHeaderLen], "")
	}
	return s
}
