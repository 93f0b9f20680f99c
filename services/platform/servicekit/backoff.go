package servicekit

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"time"
)

const (
	minRetryWait = 250 * time.Millisecond
	maxRetryWait = 5 * time.Second
)

// backoff spaces the attempts to reach a dependency: doubling from
// minRetryWait to maxRetryWait, with a fifth of jitter so that the
// replicas of a service do not knock in step.
type backoff struct{ next time.Duration }

func newBackoff() *backoff { return &backoff{next: minRetryWait} }

// wait sleeps before the next attempt; false when ctx ended first.
func (b *backoff) wait(ctx context.Context) bool {
	d := b.next + time.Duration(rand.Int64N(int64(b.next)/5+1))
	b.next = min(2*b.next, maxRetryWait)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// Retry calls attempt until it succeeds or ctx ends, waiting between
// attempts as the kit waits for its own dependencies, and logs the first
// failure at warn, the others at debug. It returns ctx's error when ctx
// ends first. For workers that must set something up before they run.
func Retry(ctx context.Context, logger *slog.Logger, what string, attempt func(ctx context.Context) error) error {
	b := newBackoff()
	for n := 1; ; n++ {
		err := attempt(ctx)
		if err == nil {
			if n > 1 {
				logger.Info(what+": succeeded", slog.Int("attempts", n))
			}
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		level := slog.LevelDebug
		if n == 1 {
			level = slog.LevelWarn
		}
		logger.Log(ctx, level, what+": failed; retrying", slog.Int("attempt", n), slog.Any("error", err))
		if !b.wait(ctx) {
			return ctx.Err()
		}
	}
}
