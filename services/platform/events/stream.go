package events

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

const (
	// DeadLetterStream holds every message a consumer gave up on.
	DeadLetterStream = "DEADLETTER"
	// DeadLetterSubjects is the subject filter of DeadLetterStream.
	DeadLetterSubjects = "deadletter.>"

	defaultDuplicates = 2 * time.Minute
	defaultReplicas   = 1
	maxReplicas       = 5
	// deadLetterMaxAge keeps dead letters long enough for someone to look.
	deadLetterMaxAge = 30 * 24 * time.Hour
	// streamCallTimeout bounds stream administration when ctx has no deadline.
	streamCallTimeout = 10 * time.Second
)

// ErrInvalidConfig is wrapped by the errors of EnsureStream and Consume that
// come from their configuration: retrying cannot fix those.
var ErrInvalidConfig = errors.New("invalid configuration")

// DeadLetterSubject is where consumer durable of stream sends the messages
// it gives up on.
func DeadLetterSubject(stream, durable string) string {
	return "deadletter." + stream + "." + durable
}

// StreamConfig declares one JetStream stream on file storage.
type StreamConfig struct {
	// Name, e.g. "CATALOG"; required.
	Name string
	// Subjects the stream captures, e.g. "catalog.>"; at least one.
	Subjects []string
	// Duplicates is the de-duplication window for Nats-Msg-Id; default 2m.
	// The outbox relay may re-publish an event within it.
	Duplicates time.Duration
	// Replicas; default 1. Production clusters use 3.
	Replicas int
	// MaxAge drops messages older than this; 0 keeps them forever.
	MaxAge time.Duration
}

func (c StreamConfig) withDefaults() StreamConfig {
	if c.Duplicates == 0 {
		c.Duplicates = defaultDuplicates
	}
	if c.Replicas == 0 {
		c.Replicas = defaultReplicas
	}
	return c
}

// Validate reports every problem of the configuration at once. Zero values
// that have a default are valid.
func (c StreamConfig) Validate() error {
	c = c.withDefaults()
	var errs []error
	if err := checkName("stream name", c.Name); err != nil {
		errs = append(errs, err)
	}
	if len(c.Subjects) == 0 {
		errs = append(errs, errors.New("stream subjects: at least one is required"))
	}
	for i, s := range c.Subjects {
		if err := checkSubject(s); err != nil {
			errs = append(errs, fmt.Errorf("stream subjects[%d]: %w", i, err))
		}
	}
	if c.Duplicates < 0 {
		errs = append(errs, fmt.Errorf("stream duplicates window %s is negative", c.Duplicates))
	}
	if c.Replicas < 0 || c.Replicas > maxReplicas {
		errs = append(errs, fmt.Errorf("stream replicas %d: must be between 1 and %d", c.Replicas, maxReplicas))
	}
	if c.MaxAge < 0 {
		errs = append(errs, fmt.Errorf("stream max age %s is negative", c.MaxAge))
	}
	if c.MaxAge > 0 && c.Duplicates > c.MaxAge {
		errs = append(errs, fmt.Errorf("stream duplicates window %s exceeds max age %s", c.Duplicates, c.MaxAge))
	}
	return errors.Join(errs...)
}

// EnsureStream creates the stream or updates it to cfg; calling it again with
// the same configuration changes nothing, so it may be called in a retry
// loop while NATS is unreachable or JetStream has no quorum. Each call is
// bounded by ctx, or by 10s when ctx has no deadline. An error that wraps
// ErrInvalidConfig will not go away by retrying.
func EnsureStream(ctx context.Context, js jetstream.JetStream, cfg StreamConfig) (jetstream.Stream, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("ensure stream %q: %w: %w", cfg.Name, ErrInvalidConfig, err)
	}
	if js == nil {
		return nil, fmt.Errorf("ensure stream %q: %w: jetstream is required", cfg.Name, ErrInvalidConfig)
	}
	cfg = cfg.withDefaults()
	ctx, cancel := withDefaultTimeout(ctx, streamCallTimeout)
	defer cancel()
	sc := jetstream.StreamConfig{
		Name:       cfg.Name,
		Subjects:   cfg.Subjects,
		Storage:    jetstream.FileStorage,
		Retention:  jetstream.LimitsPolicy,
		Duplicates: cfg.Duplicates,
		Replicas:   cfg.Replicas,
		MaxAge:     cfg.MaxAge,
	}
	// Replicas starting together send the same create at once. On a
	// NATS cluster the server then may leave every one of those requests
	// unanswered while it creates the stream (make test-topology saw each
	// service's first declaration time out after 10 s): so each request
	// is given streamAttemptTimeout, a stream that is there with this
	// configuration is success, whoever made it, and the requests go on
	// until ctx ends.
	for {
		attempt, cancelAttempt := context.WithTimeout(ctx, streamAttemptTimeout)
		stream, err := js.CreateOrUpdateStream(attempt, sc)
		if err != nil {
			if s, ok := existingStream(attempt, js, sc); ok {
				stream, err = s, nil
			}
		}
		cancelAttempt()
		if err == nil {
			return stream, nil
		}
		if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) || ctx.Err() != nil {
			return nil, fmt.Errorf("ensure stream %q: %w", cfg.Name, err)
		}
		var apiErr *jetstream.APIError
		if errors.As(err, &apiErr) && apiErr.Code >= 400 && apiErr.Code < 500 && apiErr.Code != 408 {
			// A refusal (a subject taken by another stream, a limit of the
			// account) does not change by asking again at once.
			return nil, fmt.Errorf("ensure stream %q: %w", cfg.Name, err)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("ensure stream %q: %w", cfg.Name, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// streamAttemptTimeout bounds one create request of EnsureStream.
const streamAttemptTimeout = 3 * time.Second

// existingStream is the stream named by sc when it exists with sc's
// subjects, replicas, retention and duplicate window.
func existingStream(ctx context.Context, js jetstream.JetStream, sc jetstream.StreamConfig) (jetstream.Stream, bool) {
	s, err := js.Stream(ctx, sc.Name)
	if err != nil {
		return nil, false
	}
	got := s.CachedInfo().Config
	if got.Replicas != sc.Replicas || got.Retention != sc.Retention || got.Duplicates != sc.Duplicates ||
		got.MaxAge != sc.MaxAge || strings.Join(got.Subjects, " ") != strings.Join(sc.Subjects, " ") {
		return nil, false
	}
	return s, true
}

// EnsureDeadLetterStream declares DeadLetterStream, which every Consume
// publishes to when it gives up on a message, with replicas copies (0 means
// 1): give it the replicas of the service's own streams. Call it at
// start-up before consuming; like EnsureStream it may be retried.
func EnsureDeadLetterStream(ctx context.Context, js jetstream.JetStream, replicas int) (jetstream.Stream, error) {
	return EnsureStream(ctx, js, StreamConfig{
		Name:     DeadLetterStream,
		Subjects: []string{DeadLetterSubjects},
		MaxAge:   deadLetterMaxAge,
		Replicas: replicas,
	})
}

// checkName applies JetStream's rules for stream and consumer names.
func checkName(what, name string) error {
	if name == "" {
		return fmt.Errorf("%s is required", what)
	}
	if strings.ContainsAny(name, ".*> \t\r\n/\\") {
		return fmt.Errorf("%s %q must not contain '.', '*', '>', '/', '\\' or whitespace", what, name)
	}
	return nil
}

func checkSubject(s string) error {
	if s == "" {
		return errors.New("empty subject")
	}
	if strings.ContainsAny(s, " \t\r\n") {
		return fmt.Errorf("subject %q contains whitespace", s)
	}
	for _, tok := range strings.Split(s, ".") {
		if tok == "" {
			return fmt.Errorf("subject %q has an empty token", s)
		}
	}
	return nil
}

// withDefaultTimeout gives ctx a deadline unless it already has one.
func withDefaultTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, d)
}
