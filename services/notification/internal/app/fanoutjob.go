package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"slices"
	"time"

	"github.com/gemella/gemella/services/notification/internal/store"
)

// Fan-out jobs: an event's followers are read in pages of fanOutPage
// members, in member id order, and notified a page at a time; after each
// page the job records where it stands, so that a replica that stops
// leaves the rest to another, which goes on from there. A page inserted
// twice (a crash between insert and checkpoint) stores nothing new: the
// ids are hash(event, member).
const (
	fanOutPage  = 500
	fanOutLease = 30 * time.Second
)

// holder names this process among the replicas that take jobs.
var holder = func() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}()

// RunFanOut works on job id for at most budget (0: until done), if no
// other replica holds it. What is left stays for RunFanOuts.
func (a *App) RunFanOut(ctx context.Context, id string, budget time.Duration) error {
	now := a.now()
	ok, err := a.store.ClaimFanOut(ctx, id, holder, now, now.Add(fanOutLease))
	if err != nil || !ok {
		return err
	}
	job, err := a.store.FanOuts.Get(ctx, id)
	if err != nil {
		return err
	}
	start := time.Now()
	next, after := job.Next, job.After
	errBudget := errors.New("out of budget")
	for next < len(job.Sources) {
		src := job.Sources[next]
		err := a.store.FollowersFrom(ctx, src.Kind, src.TargetID, job.Since, after, fanOutPage, func(members []string) error {
			if budget > 0 && time.Since(start) > budget {
				return errBudget
			}
			now := a.now()
			batch := make([]store.Notification, 0, len(members))
			for _, m := range members {
				if !slices.Contains(job.Exclude, m) {
					batch = append(batch, a.notification(job.Template, m, src.Reason, now))
				}
			}
			if _, err := a.store.InsertNotifications(ctx, batch); err != nil {
				return err
			}
			after = members[len(members)-1]
			return a.store.Checkpoint(ctx, id, holder, next, after, false, a.now().Add(fanOutLease))
		})
		if errors.Is(err, errBudget) {
			break
		}
		if err != nil {
			return err
		}
		next, after = next+1, ""
		if err := a.store.Checkpoint(ctx, id, holder, next, after, next >= len(job.Sources), a.now().Add(fanOutLease)); err != nil {
			return err
		}
	}
	if next < len(job.Sources) {
		// Out of budget: let any replica's worker take it at once.
		return a.store.Checkpoint(ctx, id, holder, next, after, false, time.Time{})
	}
	return nil
}

// RunFanOuts takes the jobs nobody holds until ctx ends, polling every
// interval.
func (a *App) RunFanOuts(ctx context.Context, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		ids, err := a.store.OpenFanOuts(ctx, a.now(), 10)
		if err != nil && ctx.Err() == nil {
			a.log.Warn("open fan-outs", "err", err)
		}
		for _, id := range ids {
			if err := a.RunFanOut(ctx, id, 0); err != nil && !errors.Is(err, context.Canceled) {
				a.log.Warn("fan-out", "event", id, "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// backfillRetry is how long BackfillFollowers waits before it tries again.
const backfillRetry = 5 * time.Second

// BackfillFollowers fills the follower buckets from the follows made
// before them, once for the database (store.BackfillFollowerBuckets),
// trying again while another replica holds the work or the store fails;
// it returns when they are filled or ctx ends. Until then the fan-out
// reads the follows collection.
func (a *App) BackfillFollowers(ctx context.Context) error {
	for {
		err := a.store.BackfillFollowerBuckets(ctx, holder)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return nil
		}
		if !errors.Is(err, store.ErrBackfillHeld) {
			a.log.Warn("fill the follower buckets", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backfillRetry):
		}
	}
}
