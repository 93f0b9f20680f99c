package twinning

import (
	"strings"
	"time"

	"github.com/gemella/gemella/services/platform/apperr"
)

// Deleted is a draft twinning its parties' editors deleted: a tombstone
// that no read returns. It is not in Statuses: no API names it.
var Deleted = Status{"deleted"}

// MoveDelete removes a draft that was never proposed.
const MoveDelete Move = "delete"

// EventDeleted is the event of a deleted draft.
const EventDeleted EventType = "twinning.twinning.deleted"

// Delete removes a draft twinning: it was never proposed, so nobody but
// its parties' editors (and coordinators) has seen it. A proposed
// twinning is cancelled instead, never deleted, and the statuses after
// draft never lead back to it.
//
// The twinning becomes a tombstone (status Deleted, texts cleared, the
// code freed) rather than disappearing, so that its event is written in
// the same document update as every event is. Its parties stay, for the
// event; its transfers stay, for the practices they name.
func (t *Twinning) Delete(actor string, now time.Time) error {
	if !t.Status.Allows(MoveDelete) {
		return apperr.FailedPrecondition("twinning %s is %s: only a draft that was never proposed can be deleted; a proposed twinning is cancelled, never deleted", t.Code, t.Status).
			WithReason(apperr.ReasonTwinningNotDeletable).WithMetadata("status", t.Status.String())
	}
	from := t.Status
	t.Code = strings.ReplaceAll(t.ID, "-", "")
	t.Title, t.Summary, t.LiveStreamURL = "", "", ""
	t.Objectives, t.ExpectedResults = nil, nil
	t.Status = Deleted
	t.UpdatedAt = now
	t.record(Change{Type: EventDeleted, Actor: actor, At: now, StatusChange: StatusChange{From: from, To: Deleted, Actor: actor, At: now}})
	return nil
}
