package practice

import (
	"time"

	"github.com/gemella/gemella/services/platform/apperr"
)

// Delete removes a draft: work nobody but its owners' editors has seen.
// What was submitted went to the coordinators and what was published is
// public and may be named by twinnings, so those are archived instead,
// never deleted.
//
// The practice becomes a tombstone (status Deleted, content cleared, the
// slug freed) rather than disappearing: its event travels in the same
// document write, as every event does, and no read returns it.
func (p *Practice) Delete(actor string, now time.Time) error {
	if !p.Status.allows(MoveDelete) {
		return ErrNotDeletable(p.ID, p.Status)
	}
	owners := append([]string(nil), p.OwnerOrganizationIDs...)
	p.Content = Content{Slug: "deleted-" + p.ID, OwnerOrganizationIDs: owners}
	p.Status = Deleted
	p.UpdatedAt = now
	p.record(Change{Type: EventDeleted, Actor: actor, At: now})
	return nil
}

// ErrNotDeletable is the FailedPrecondition for deleting a practice that
// is no longer a draft.
func ErrNotDeletable(id string, s Status) error {
	return apperr.FailedPrecondition("practice %s is %s: only a draft can be deleted; a published practice is archived, never deleted", id, s).
		WithReason(apperr.ReasonPracticeNotDeletable).WithMetadata("status", s.String())
}
