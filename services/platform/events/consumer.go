package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/protobuf/proto"

	eventsv1 "github.com/gemella/gemella/proto/gemella/events/v1"
	"github.com/gemella/gemella/services/platform/grpcx"
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
	// minAckMargin is how much longer than HandlerTimeout AckWait must be,
	// leaving time to settle a message after its handler.
	minAckMargin = 500 * time.Millisecond
	// maxSettleTime bounds what follows a handler call for one message: the
	// dead-letter publish. Acks, naks and terms are sent without waiting.
	maxSettleTime = 2 * time.Second
	// maxInFlight caps the messages delivered to one Consume and not yet
	// settled, however long AckWait is.
	maxInFlight = 16

	// Pull requests live pullExpiry and ask the server for an idle
	// heartbeat every pullHeartbeat. When two heartbeats go missing, the
	// request is taken for lost (its consumer leader died or moved) and a
	// new one is sent: delivery resumes within seconds of a failover.
	pullExpiry    = 10 * time.Second
	pullHeartbeat = 2 * time.Second
	// After this many heartbeat losses in a row, pulling again is not
	// enough: the consumer is looked up and consumption started over.
	restartAfterMissedHeartbeats = 3

	// The consumer's info (pending counts for the gauges) is read every
	// infoInterval, and every infoIntervalInterrupted while consumption is
	// interrupted, to notice when it resumes on a quiet stream.
	infoInterval            = 10 * time.Second
	infoIntervalInterrupted = 2 * time.Second
	infoTimeout             = 2 * time.Second

	setupTimeout      = 10 * time.Second
	stopTimeout       = 5 * time.Second
	minRetryWait      = 250 * time.Millisecond
	maxRetryWait      = 5 * time.Second
	reminderInterval  = 30 * time.Second
	maxErrorHeaderLen = 1024
)

var defaultBackoff = []time.Duration{time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second}

// Handler reacts to one event. Returning nil acknowledges it; an error has it
// delivered again after a backoff, unless it is Permanent. Effects must be
// idempotent (keyed by env.EventId): delivery is at least once. ctx carries
// the consumer span, continuing the trace of the request that caused the
// event.
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
	// again; default 30s. Must exceed HandlerTimeout by at least 500ms. It
	// also bounds how late a message lost with a failed NATS node arrives,
	// and, with HandlerTimeout, how many messages are in flight (see
	// Consume).
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
	// Metrics, when set, gets the consumer's series, labelled by stream and
	// consumer: the histogram gemella_event_lag_seconds (occurred-at to the
	// end of successful handling); the counters gemella_event_handled_total,
	// gemella_event_failed_total (handler errors and panics),
	// gemella_event_redelivered_total (messages delivered more than once),
	// gemella_event_dead_lettered_total and
	// gemella_event_consumer_interruptions_total; the gauges
	// gemella_event_consumer_pending_messages and
	// gemella_event_consumer_ack_pending_messages, read from the consumer's
	// info every 10s. Consumers may share a registry. Nil records nothing.
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
	if c.AckWait > 0 && c.HandlerTimeout+minAckMargin > c.AckWait {
		// Otherwise the server hands the message out again while the
		// handler still works on it.
		errs = append(errs, fmt.Errorf("consumer handler timeout %s must be shorter than ack wait %s by at least %s", c.HandlerTimeout, c.AckWait, minAckMargin))
	}
	return errors.Join(errs...)
}

// settleTime bounds the work on a message after its handler returned.
func (c ConsumerConfig) settleTime() time.Duration {
	return min(maxSettleTime, (c.AckWait-c.HandlerTimeout)/2)
}

// inFlight is how many messages Consume lets the server deliver ahead of
// their handling. The handler sees one message at a time, so the n-th
// message delivered in one go is settled at most n × (HandlerTimeout +
// settle time) after its delivery, and that must stay below AckWait, or the
// server would deliver it again while it waits (counting a delivery against
// MaxDeliver that the handler never saw). With the defaults (30s, 10s + 2s)
// that is 2: one handled, one ready. A longer AckWait or a shorter
// HandlerTimeout allows more, up to maxInFlight.
func (c ConsumerConfig) inFlight() int {
	per := c.HandlerTimeout + c.settleTime()
	n := int((c.AckWait+per-1)/per) - 1 // the largest n with n × per < AckWait
	return min(max(n, 1), maxInFlight)
}

// Consume creates or updates the durable pull consumer cfg.Durable on
// cfg.Stream and hands its messages to h one at a time until ctx is done,
// then returns nil. A message is acked when h succeeds and delivered again
// after the configured backoff when h fails. It is published to
// DeadLetterSubject(stream, durable) and terminated when h has failed
// MaxDeliver times, when h returns a Permanent error, or when it is not an
// Envelope; EnsureDeadLetterStream must have been called for that.
//
// Messages come through the JetStream client's continuous pull consumption
// (Consume, with idle heartbeats), a few in flight (see
// ConsumerConfig.inFlight): a pull request lost with a NATS node, its
// consumer leader or the connection is noticed by the missing heartbeats,
// the leader-change notice or the reconnect, and sent again, so delivery
// resumes within seconds; messages the lost leader had delivered come back
// after AckWait. Consume logs at warn when consumption is interrupted and at
// info when it resumes. Handler calls get a consumer span (the global
// tracer provider) continuing the trace context of the message headers or
// of the envelope's traceparent.
//
// Consume outlives NATS outages and JetStream without quorum: it keeps
// (re)creating the consumer and consuming, until ctx is done. It returns an
// error only for an invalid configuration (wrapping ErrInvalidConfig) or
// metrics that cannot be registered.
func Consume(ctx context.Context, js jetstream.JetStream, cfg ConsumerConfig, h Handler) error {
	if h == nil {
		return fmt.Errorf("consume %s/%s: %w: handler is required", cfg.Stream, cfg.Durable, ErrInvalidConfig)
	}
	if js == nil {
		return fmt.Errorf("consume %s/%s: %w: jetstream is required", cfg.Stream, cfg.Durable, ErrInvalidConfig)
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("consume %s/%s: %w: %w", cfg.Stream, cfg.Durable, ErrInvalidConfig, err)
	}
	cfg = cfg.withDefaults()
	metrics, err := newConsumerMetrics(cfg.Metrics, cfg.Stream, cfg.Durable)
	if err != nil {
		return fmt.Errorf("consume %s/%s: %w", cfg.Stream, cfg.Durable, err)
	}
	c := &consumer{
		js:       js,
		cfg:      cfg,
		h:        h,
		log:      cfg.Logger.With(slog.String("stream", cfg.Stream), slog.String("consumer", cfg.Durable)),
		metrics:  metrics,
		tracer:   otel.GetTracerProvider().Tracer(tracerName),
		inFlight: cfg.inFlight(),
		settle:   cfg.settleTime(),
		spanAttrs: []attribute.KeyValue{
			attribute.String("messaging.system", "nats"),
			attribute.String("messaging.operation.type", "process"),
			attribute.String("messaging.nats.stream", cfg.Stream),
			attribute.String("messaging.consumer.group.name", cfg.Durable),
		},
	}

	wait := minRetryWait
	for ctx.Err() == nil {
		started, err := c.consumeOnce(ctx)
		if ctx.Err() != nil {
			break
		}
		if started {
			wait = minRetryWait
		}
		c.trouble(fmt.Errorf("%w (retrying in %s)", err, wait))
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
		wait = min(2*wait, maxRetryWait)
	}
	c.log.Debug("consumer stopped")
	return nil
}

type consumer struct {
	js        jetstream.JetStream
	cfg       ConsumerConfig
	h         Handler
	log       *slog.Logger
	metrics   *consumerMetrics
	tracer    trace.Tracer
	spanAttrs []attribute.KeyValue
	inFlight  int
	settle    time.Duration

	// handling serialises the handling of messages: a consumption being
	// stopped may still be in its handler when the next one starts.
	handling sync.Mutex

	mu sync.Mutex // guards what follows
	// interrupted is set from the first sign of trouble until a message
	// arrives or the consumer leader holds a pull request of ours again.
	interrupted      bool
	interruptedAt    time.Time
	lastWarn         time.Time
	lastTrouble      time.Time
	lastErr          error
	missedHeartbeats int
}

// consumeOnce declares the consumer and consumes it until ctx is done, the
// client's consumption ends, or it stalls. started reports whether it got
// as far as consuming.
func (c *consumer) consumeOnce(ctx context.Context) (started bool, err error) {
	cons, err := c.declare(ctx)
	if err != nil {
		return false, err
	}

	// The client's Consume, rather than the Messages iterator: it sends
	// pull requests from its own goroutine as messages are handled, as
	// heartbeats go missing, as the consumer leader changes and as the
	// connection comes back, whereas the iterator only does so inside Next,
	// whose timing the caller would have to get right. Its callback runs
	// one message at a time, which is the handler's contract, and reports
	// every interruption to the error handler.
	restart := make(chan error, 1)
	cc, err := cons.Consume(c.onMessage(ctx),
		jetstream.PullMaxMessages(c.inFlight),
		// Top up once a quarter of the batch is handled, so that the next
		// messages are there when the handler is ready.
		jetstream.PullThresholdMessages(c.inFlight-c.inFlight/4),
		jetstream.PullExpiry(pullExpiry),
		jetstream.PullHeartbeat(pullHeartbeat),
		jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) { c.consumeError(err, restart) }),
	)
	if err != nil {
		return false, fmt.Errorf("start consuming: %w", err)
	}
	c.log.Debug("consuming", slog.Int("in_flight", c.inFlight))

	nc := c.js.Conn()
	statuses := nc.StatusChanged(nats.RECONNECTING)
	defer nc.RemoveStatusListener(statuses)
	closed := cc.Closed()
	info := time.NewTimer(0)
	defer info.Stop()
	for {
		select {
		case <-ctx.Done():
			// Drain: what the client holds is handed back (naked) at once.
			c.stop(cc, true)
			return true, nil
		case <-closed:
			return true, fmt.Errorf("consumption ended: %w", c.lastError())
		case err := <-restart:
			c.stop(cc, false)
			return true, err
		case _, ok := <-statuses:
			if ok {
				c.trouble(errors.New("nats connection lost; consuming again once it is back"))
			}
		case <-info.C:
			if err := c.refresh(ctx, cons); err != nil {
				c.stop(cc, false)
				return true, err
			}
			info.Reset(c.infoInterval())
		}
	}
}

// declare creates or updates the consumer. Without a JetStream meta leader
// nothing can be created or updated, but an existing consumer keeps working
// on its own replicas' quorum: then it is consumed as it is.
func (c *consumer) declare(ctx context.Context) (jetstream.Consumer, error) {
	setupCtx, cancel := context.WithTimeout(ctx, setupTimeout)
	defer cancel()
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
	if err == nil {
		return cons, nil
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	lookupCtx, cancel := context.WithTimeout(ctx, infoTimeout)
	defer cancel()
	if existing, lookupErr := c.js.Consumer(lookupCtx, c.cfg.Stream, c.cfg.Durable); lookupErr == nil {
		c.log.Warn("cannot create or update the consumer; consuming it as it is", slog.Any("error", err))
		return existing, nil
	}
	return nil, fmt.Errorf("create consumer: %w", err)
}

// consumeError takes the client's report of an interruption: the client
// pulls again by itself; consumption starts over when heartbeats keep
// missing.
func (c *consumer) consumeError(err error, restart chan<- error) {
	if !errors.Is(err, jetstream.ErrNoHeartbeat) {
		c.trouble(err)
		return
	}
	c.mu.Lock()
	c.missedHeartbeats++
	missed := c.missedHeartbeats
	c.mu.Unlock()
	c.trouble(fmt.Errorf("no heartbeat from the consumer leader for %s; pulling again", 2*pullHeartbeat))
	if missed >= restartAfterMissedHeartbeats {
		select {
		case restart <- fmt.Errorf("%d heartbeats missed in a row", missed):
		default:
		}
	}
}

// refresh reads the consumer's info for the pending gauges. A consumer that
// is gone is declared again; a pull request of ours waiting at its leader
// after an interruption means consumption has resumed.
func (c *consumer) refresh(ctx context.Context, cons jetstream.Consumer) error {
	infoCtx, cancel := context.WithTimeout(ctx, infoTimeout)
	defer cancel()
	info, err := cons.Info(infoCtx)
	if errors.Is(err, jetstream.ErrConsumerNotFound) || errors.Is(err, jetstream.ErrStreamNotFound) {
		return fmt.Errorf("consumer info: %w", err)
	}
	if err != nil {
		// A leader election or an outage; consumption itself reports it.
		c.log.Debug("consumer info failed", slog.Any("error", err))
		return nil
	}
	c.metrics.pending.Set(float64(info.NumPending))
	c.metrics.ackPending.Set(float64(info.NumAckPending))
	if info.NumWaiting > 0 {
		c.mu.Lock()
		quiet := time.Since(c.lastTrouble) >= 2*pullHeartbeat
		c.mu.Unlock()
		if quiet {
			c.resumed("pull request held by the consumer leader")
		}
	}
	return nil
}

func (c *consumer) infoInterval() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.interrupted {
		return infoIntervalInterrupted
	}
	return infoInterval
}

// stop ends a consumption, waiting a bounded time for its callback.
func (c *consumer) stop(cc jetstream.ConsumeContext, drain bool) {
	if drain {
		cc.Drain()
	} else {
		cc.Stop()
	}
	select {
	case <-cc.Closed():
	case <-time.After(stopTimeout):
		c.log.Debug("consumption not closed in time; going on")
	}
}

// trouble records an interruption: at warn when it starts, then at most
// every reminderInterval, the rest at debug.
func (c *consumer) trouble(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	c.lastTrouble, c.lastErr = now, err
	switch {
	case !c.interrupted:
		c.interrupted, c.interruptedAt, c.lastWarn = true, now, now
		c.metrics.interruptions.Inc()
		c.log.Warn("event consumption interrupted", slog.Any("error", err))
	case now.Sub(c.lastWarn) >= reminderInterval:
		c.lastWarn = now
		c.log.Warn("event consumption still interrupted", slog.Any("error", err), slog.Duration("for", now.Sub(c.interruptedAt)))
	default:
		c.log.Debug("event consumption still interrupted", slog.Any("error", err))
	}
}

// resumed ends an interruption, if there was one.
func (c *consumer) resumed(how string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.missedHeartbeats = 0
	if !c.interrupted {
		return
	}
	c.interrupted = false
	c.log.Info("event consumption resumed", slog.String("how", how), slog.Duration("after", time.Since(c.interruptedAt)))
}

func (c *consumer) lastError() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lastErr == nil {
		return errors.New("no reason given")
	}
	return c.lastErr
}

// onMessage is the client's callback: one message at a time.
func (c *consumer) onMessage(ctx context.Context) jetstream.MessageHandler {
	return func(msg jetstream.Msg) {
		c.resumed("message received")
		if ctx.Err() != nil {
			// Shutting down: hand it back now rather than after AckWait.
			_ = msg.Nak()
			return
		}
		c.handling.Lock()
		defer c.handling.Unlock()
		c.handle(ctx, msg)
	}
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
	if meta.NumDelivered > 1 {
		c.metrics.redelivered.Inc()
	}

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

	spanCtx, span := c.tracer.Start(consumerTraceContext(ctx, msg.Headers(), &env), "consume "+msg.Subject(),
		trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(c.spanAttrs...),
		trace.WithAttributes(
			attribute.String("messaging.destination.name", msg.Subject()),
			attribute.String("messaging.message.id", env.GetEventId()),
			attribute.Int64("messaging.nats.delivered", int64(meta.NumDelivered)),
		))
	defer span.End()
	if sc := span.SpanContext(); sc.IsValid() {
		log = log.With(slog.String("trace_id", sc.TraceID().String()))
	}
	if id := env.GetRequestId(); id != "" {
		// The handler's work continues the request that wrote the event:
		// its log lines, its calls (grpcx.Dial) and the events it writes
		// (outbox.StampContext) carry the request id.
		spanCtx = grpcx.WithRequestID(spanCtx, id)
		log = log.With(slog.String("request_id", id))
		span.SetAttributes(attribute.String("gemella.request_id", id))
	}

	err = c.call(spanCtx, log, &env)
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, "event handler failed")
	}
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
		c.metrics.failed.Inc()
		c.deadLetter(ctx, log, msg, meta, err)
	default:
		c.metrics.failed.Inc()
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
	c.metrics.handled.Inc()
	if env.GetOccurredAt() != nil {
		// A producer's clock ahead of ours would make the lag negative.
		c.metrics.lag.Observe(max(0, at.Sub(env.GetOccurredAt().AsTime()).Seconds()))
	}
	if c.cfg.Observe != nil {
		c.cfg.Observe(env, at)
	}
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
	// The dead letter stays in the trace of the event.
	for _, k := range traceContext.Fields() {
		if v := msg.Headers().Get(k); v != "" {
			dl.Header.Set(k, v)
		}
	}
	dl.Header.Set(HeaderStream, c.cfg.Stream)
	dl.Header.Set(HeaderConsumer, c.cfg.Durable)
	dl.Header.Set(HeaderStreamSequence, strconv.FormatUint(meta.Sequence.Stream, 10))
	dl.Header.Set(HeaderNumDelivered, strconv.FormatUint(meta.NumDelivered, 10))
	dl.Header.Set(HeaderError, reason)
	// One dead letter per stream message and consumer, even if this runs
	// twice because the Term below got lost.
	dlID := c.cfg.Stream + "." + c.cfg.Durable + "." + strconv.FormatUint(meta.Sequence.Stream, 10)

	// Bounded by the settle time that inFlight counts on.
	pubCtx, cancel := context.WithTimeout(ctx, c.settle)
	_, err := c.js.PublishMsg(pubCtx, dl, jetstream.WithMsgID(dlID))
	cancel()
	if err != nil {
		delay := c.cfg.Backoff[len(c.cfg.Backoff)-1]
		log.Error("dead-letter publish failed; will retry", slog.String("cause", reason), slog.Any("error", err), slog.Duration("retry_in", delay))
		_ = msg.NakWithDelay(delay)
		return
	}
	c.metrics.deadLettered.Inc()
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
