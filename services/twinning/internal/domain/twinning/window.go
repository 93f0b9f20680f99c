package twinning

import "fmt"

// A twinning's history, its transfers' notes and its activity log grow
// with its life; its document must not (a MongoDB document is read and
// written whole, and is capped at 16 MB). So the aggregate keeps of each
// only a window of the latest entries and a count of them all; every
// entry is also kept, in full, in the twinning's log (the repository's
// second collection), from which the lists page. The aggregate decides
// what enters and leaves a window; the repository copies to the log what
// entered (after the write) and what left (before the write that drops
// it), so that the log never holds an entry the twinning does not have and
// the twinning never forgets one the log has not got yet.

// Window sizes: how many of the latest entries the twinning itself keeps.
const (
	// RecentHistory is how many status changes GetTwinning shows.
	RecentHistory = 10
	// RecentNotes is how many progress notes each transfer shows.
	RecentNotes = 3
	// RecentActivities is how many of the last logged or changed
	// activities the twinning shows; ListActivities pages them all.
	RecentActivities = 10
)

// seqKey is the sort key of the n-th entry of a log.
func seqKey(n int) string { return fmt.Sprintf("%010d", n) }

// SortKey orders the history, oldest first.
func (c StatusChange) SortKey() string { return seqKey(c.Seq) }

// SortKey orders a transfer's notes, oldest first.
func (n Note) SortKey() string { return seqKey(n.Seq) }

// keepLast drops the oldest entries of a window beyond size.
func keepLast[T any](window []T, size int) []T {
	if len(window) <= size {
		return window
	}
	return append([]T(nil), window[len(window)-size:]...)
}

// appendHistory numbers the change and adds it to the history window.
func (t *Twinning) appendHistory(c StatusChange) StatusChange {
	t.HistoryCount++
	c.Seq = t.HistoryCount
	t.History = keepLast(append(t.History, c), RecentHistory)
	return c
}

// addNote numbers the note and adds it to the transfer's window.
func (tr *Transfer) addNote(n Note) {
	tr.NoteCount++
	n.Seq = tr.NoteCount
	tr.Notes = keepLast(append(tr.Notes, n), RecentNotes)
}

// putActivity makes a the latest entry of the activity window, written by
// the version this write of the twinning will have, and returns it there.
func (t *Twinning) putActivity(a Activity) *Activity {
	a.Rev = t.Version + 1
	window := make([]Activity, 0, len(t.Activities)+1)
	for _, w := range t.Activities {
		if w.ID != a.ID {
			window = append(window, w)
		}
	}
	t.Activities = keepLast(append(window, a), RecentActivities)
	return &t.Activities[len(t.Activities)-1]
}

// Recall brings an activity read from the log back into the window, so
// that it can be changed: the repository finds there what changed. One
// already in the window is left as it is.
func (t *Twinning) Recall(a Activity) {
	if _, ok := t.Activity(a.ID); ok {
		return
	}
	t.Activities = keepLast(append(t.Activities, a), RecentActivities)
}
