package app

import (
	"context"
	"time"

	"github.com/gemella/gemella/services/discussion/internal/domain/thread"
	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/auth"
)

// OpenTwinningThread opens the general thread of an approved twinning; the
// twinning service's approval event asks for it.
type OpenTwinningThread struct {
	TwinningID    string
	TwinningTitle string
	// ApprovedAt dates the thread; now when zero.
	ApprovedAt time.Time
}

// Texts of a twinning's general thread, as on the portal.
const (
	generalThreadTitlePrefix = "Discussione generale relativa al gemellaggio "
	generalThreadBody        = "Questa è una discussione generale relativa al gemellaggio. Partecipa anche tu e lascia la tua testimonianza."
	platformAuthorName       = "Gemella"
)

// GeneralThreadID is the id of a twinning's general thread. It is derived
// from the twinning id, so that a second approval event (a redelivery, a
// replay) inserts the same id and finds it taken: one thread per twinning
// without any lookup first.
func GeneralThreadID(twinningID string) string {
	return NewID("twinning-general-thread\x00" + twinningID)
}

// OpenTwinningThreadHandler handles OpenTwinningThread.
type OpenTwinningThreadHandler struct{ d Deps }

// Handle opens the thread exactly once; opened reports whether this call
// opened it (false: it was there already). The caller in ctx must be the
// service itself (auth.System(ServiceName)): its consumer of approvals.
func (h OpenTwinningThreadHandler) Handle(ctx context.Context, cmd OpenTwinningThread) (t *thread.Thread, opened bool, err error) {
	if err := mayOpenTwinningThread(auth.CallerFrom(ctx)); err != nil {
		return nil, false, err
	}
	if cmd.TwinningID == "" {
		return nil, false, apperr.Invalid("twinning_id", "is required")
	}
	at := cmd.ApprovedAt.UTC().Truncate(time.Millisecond)
	if at.IsZero() {
		at = h.d.Now()
	}
	title := cmd.TwinningTitle
	if title == "" {
		title = cmd.TwinningID
	}
	id := GeneralThreadID(cmd.TwinningID)
	t, err = thread.New(id, thread.Details{
		Scope: thread.Twinning, ScopeID: cmd.TwinningID, Title: generalThreadTitlePrefix + title, Body: generalThreadBody,
	}, "", platformAuthorName, SystemActor, at)
	if err != nil {
		return nil, false, err
	}
	if err := h.d.Threads.Create(ctx, t); err != nil {
		if apperr.KindOf(err) == apperr.KindAlreadyExists {
			existing, gerr := h.d.Threads.Get(ctx, id)
			return existing, false, gerr
		}
		return nil, false, err
	}
	return t, true, nil
}
