package adapters

import (
	"context"
	"log/slog"
	"sort"
	"strings"

	"github.com/gemella/gemella/services/platform/paging"
	"github.com/gemella/gemella/services/twinning/internal/domain/twinning"
)

// LogCollection keeps every entry of the twinnings' histories, transfer
// notes and activity logs, one document each, of which the twinning
// document keeps only a window of the latest (domain/twinning/window.go).
const LogCollection = "twinning_log"

// The kinds of log entries.
const (
	kindHistory  = "history"
	kindNote     = "note"
	kindActivity = "activity"
)

// logEntryDoc is one entry of a twinning's log. Its _id is deterministic
// (twinning, kind, transfer, and the entry's number or the activity's id),
// so that copying it again changes nothing; rev is the version of the
// twinning that wrote this content (0 for a history entry or a note, which
// never change), and a copy never replaces a newer one.
type logEntryDoc struct {
	ID         string `bson:"_id"`
	TwinningID string `bson:"twinning_id"`
	Kind       string `bson:"kind"`
	// Parent is the transfer of a note, empty otherwise.
	Parent   string           `bson:"parent"`
	SortKey  string           `bson:"sort_key"`
	Rev      int64            `bson:"rev"`
	History  *statusChangeDoc `bson:"history,omitempty"`
	Note     *noteDoc         `bson:"note,omitempty"`
	Activity *activityDoc     `bson:"activity,omitempty"`
}

func entryID(twinningID, kind, parent, key string) string {
	return strings.Join([]string{twinningID, kind, parent, key}, "/")
}

func historyEntry(twinningID string, h twinning.StatusChange) logEntryDoc {
	d := toStatusChangeDoc(h)
	return logEntryDoc{ID: entryID(twinningID, kindHistory, "", h.SortKey()), TwinningID: twinningID, Kind: kindHistory, SortKey: h.SortKey(), History: &d}
}

func noteEntry(twinningID, transferID string, n twinning.Note) logEntryDoc {
	d := toNoteDoc(n)
	return logEntryDoc{ID: entryID(twinningID, kindNote, transferID, n.SortKey()), TwinningID: twinningID, Kind: kindNote, Parent: transferID, SortKey: n.SortKey(), Note: &d}
}

func activityEntry(twinningID string, a twinning.Activity) logEntryDoc {
	d := toActivityDoc(a)
	return logEntryDoc{ID: entryID(twinningID, kindActivity, "", a.ID), TwinningID: twinningID, Kind: kindActivity, SortKey: a.SortKey(), Rev: a.Rev, Activity: &d}
}

// windows are the entries of t's windows, in the order of its lists.
func windows(t *twinning.Twinning) []logEntryDoc {
	var out []logEntryDoc
	for _, h := range t.History {
		out = append(out, historyEntry(t.ID, h))
	}
	for _, tr := range t.Transfers {
		for _, n := range tr.Notes {
			out = append(out, noteEntry(t.ID, tr.ID, n))
		}
	}
	for _, a := range t.Activities {
		out = append(out, activityEntry(t.ID, a))
	}
	return out
}

// entryLog is where the entries go: MongoDB or memory. put stores each
// entry unless the log has a newer rev of it; get answers nil for none;
// page lists a twinning's entries of one kind and parent after afterKey,
// by sort key, at most limit (0: all).
type entryLog interface {
	put(ctx context.Context, entries []logEntryDoc) error
	get(ctx context.Context, id string) (*logEntryDoc, error)
	page(ctx context.Context, twinningID, kind, parent, afterKey string, limit int) ([]logEntryDoc, error)
}

// twinningStore is what the aggregate stores (mongox) give a repository.
type twinningStore interface {
	Create(ctx context.Context, t *twinning.Twinning) error
	Get(ctx context.Context, id string) (*twinning.Twinning, error)
	GetByCode(ctx context.Context, code string) (*twinning.Twinning, error)
	Update(ctx context.Context, id string, fn func(*twinning.Twinning) error) (*twinning.Twinning, error)
	List(ctx context.Context, f twinning.Filter, after *paging.Cursor, limit int) ([]*twinning.Twinning, error)
}

// TwinningRepository is the twinning.Repository of both stores: the
// twinning documents in the aggregate store, their logs in an entryLog.
//
// A write of the twinning and a write of its log are two writes, and
// MongoDB gives no transaction across them here; so the twinning document
// is the truth and the log a copy of what left it or will:
//
//   - an entry is first written inside the twinning document, in its
//     window, by the same single-document write that counts it and
//     records its event (atomically, as before the log existed);
//   - after that write, the new or changed entries are copied to the log;
//   - before a write drops entries from a window, they are copied to the
//     log from the document as it was read, which is a committed state.
//
// So the log only ever holds entries of a committed write, never those of
// a write that lost its version race or failed. If the process dies
// between the twinning's write and the copy, the entry stays in its window
// (readers merge the window over the log, which it overrides) until a
// later write copies it before dropping it. The other order, the log first
// with a deterministic id, would need readers to tell entries of failed
// writes from committed ones, and a crash would leave such orphans behind.
type TwinningRepository struct {
	twinningStore
	log entryLog
	// logger tells of copies that failed after a write; slog.Default when nil.
	logger *slog.Logger
}

// WithLogger makes r tell logger of the copies to the log that failed
// after a write (slog.Default otherwise), and returns r.
func (r *TwinningRepository) WithLogger(logger *slog.Logger) *TwinningRepository {
	r.logger = logger
	return r
}

// Create implements twinning.Repository.
func (r *TwinningRepository) Create(ctx context.Context, t *twinning.Twinning) error {
	if err := r.twinningStore.Create(ctx, t); err != nil {
		return err
	}
	r.copyAfter(ctx, t.ID, windows(t))
	return nil
}

// Update implements twinning.Repository.
func (r *TwinningRepository) Update(ctx context.Context, id string, fn func(*twinning.Twinning) error) (*twinning.Twinning, error) {
	var read map[string]logEntryDoc
	t, err := r.twinningStore.Update(ctx, id, func(t *twinning.Twinning) error {
		read = byEntryID(windows(t))
		if err := fn(t); err != nil {
			return err
		}
		// What leaves a window is copied before the write that drops it.
		kept := byEntryID(windows(t))
		var leaving []logEntryDoc
		for _, e := range sortedEntries(read) {
			if _, stays := kept[e.ID]; !stays {
				leaving = append(leaving, e)
			}
		}
		if len(leaving) == 0 {
			return nil
		}
		return r.log.put(ctx, leaving)
	})
	if err != nil {
		return nil, err
	}
	var changed []logEntryDoc
	for _, e := range windows(t) {
		if old, had := read[e.ID]; !had || old.Rev != e.Rev {
			changed = append(changed, e)
		}
	}
	r.copyAfter(ctx, t.ID, changed)
	return t, nil
}

// copyAfter copies the entries a committed write added. A failure is not
// the caller's: the write happened, and the entries wait in their windows
// for the write that drops them (see TwinningRepository).
func (r *TwinningRepository) copyAfter(ctx context.Context, twinningID string, entries []logEntryDoc) {
	if len(entries) == 0 {
		return
	}
	if err := r.log.put(ctx, entries); err != nil {
		logger := r.logger
		if logger == nil {
			logger = slog.Default()
		}
		logger.WarnContext(ctx, "twinning log: copy after the write failed; the entries stay in the twinning until its next write copies them",
			slog.String("twinning", twinningID), slog.Int("entries", len(entries)), slog.Any("error", err))
	}
}

func byEntryID(entries []logEntryDoc) map[string]logEntryDoc {
	out := make(map[string]logEntryDoc, len(entries))
	for _, e := range entries {
		out[e.ID] = e
	}
	return out
}

func sortedEntries(m map[string]logEntryDoc) []logEntryDoc {
	out := make([]logEntryDoc, 0, len(m))
	for _, e := range m {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Activity implements twinning.Repository.
func (r *TwinningRepository) Activity(ctx context.Context, t *twinning.Twinning, id string) (*twinning.Activity, error) {
	if a, ok := t.Activity(id); ok {
		copied := *a
		return &copied, nil
	}
	e, err := r.log.get(ctx, entryID(t.ID, kindActivity, "", id))
	if err != nil {
		return nil, err
	}
	if e == nil || e.Activity == nil {
		return nil, twinning.ErrActivityNotFound(t.Code, id)
	}
	a := e.Activity.toDomain()
	return &a, nil
}

// Activities implements twinning.Repository.
func (r *TwinningRepository) Activities(ctx context.Context, t *twinning.Twinning, after *paging.Cursor, limit int) ([]twinning.Activity, error) {
	entries, err := r.page(ctx, t, kindActivity, "", after, limit)
	return convertPage(entries, err, func(e *logEntryDoc) twinning.Activity { return e.Activity.toDomain() })
}

// History implements twinning.Repository.
func (r *TwinningRepository) History(ctx context.Context, t *twinning.Twinning, after *paging.Cursor, limit int) ([]twinning.StatusChange, error) {
	entries, err := r.page(ctx, t, kindHistory, "", after, limit)
	return convertPage(entries, err, func(e *logEntryDoc) twinning.StatusChange { return e.History.toDomain() })
}

// Notes implements twinning.Repository.
func (r *TwinningRepository) Notes(ctx context.Context, t *twinning.Twinning, transferID string, after *paging.Cursor, limit int) ([]twinning.Note, error) {
	if _, ok := t.Transfer(transferID); !ok {
		return nil, twinning.ErrTransferNotFound(t.Code, transferID)
	}
	entries, err := r.page(ctx, t, kindNote, transferID, after, limit)
	return convertPage(entries, err, func(e *logEntryDoc) twinning.Note { return e.Note.toDomain() })
}

// convertPage converts a page of entries, unless reading it failed.
func convertPage[T any](entries []logEntryDoc, err error, convert func(*logEntryDoc) T) ([]T, error) {
	if err != nil {
		return nil, err
	}
	out := make([]T, len(entries))
	for i := range entries {
		out[i] = convert(&entries[i])
	}
	return out, nil
}

// page reads one page of t's log of one kind, merging t's window over it:
// the window holds the latest of its entries, some perhaps not copied yet,
// and overrides the log's copies, wherever they sort.
func (r *TwinningRepository) page(ctx context.Context, t *twinning.Twinning, kind, parent string, after *paging.Cursor, limit int) ([]logEntryDoc, error) {
	afterKey := ""
	if after != nil {
		afterKey = after.Key
	}
	window := map[string]logEntryDoc{}
	for _, e := range windows(t) {
		if e.Kind == kind && e.Parent == parent {
			window[e.ID] = e
		}
	}
	// limit+len(window) read: dropping the window's ids leaves limit.
	fetch := 0
	if limit > 0 {
		fetch = limit + len(window)
	}
	stored, err := r.log.page(ctx, t.ID, kind, parent, afterKey, fetch)
	if err != nil {
		return nil, err
	}
	var out []logEntryDoc
	for _, e := range stored {
		if _, newer := window[e.ID]; !newer {
			out = append(out, e)
		}
	}
	for _, e := range window {
		if e.SortKey > afterKey {
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].SortKey < out[j].SortKey })
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}
