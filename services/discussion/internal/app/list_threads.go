package app

import (
	"context"

	"github.com/gemella/gemella/services/discussion/internal/domain/thread"
	"github.com/gemella/gemella/services/discussion/internal/domain/validate"
	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/paging"
)

// ListThreads is a page of threads, optionally of one twinning or practice.
type ListThreads struct {
	Scope      thread.Scope
	TwinningID string
	PracticeID string
	PageSize   int32
	PageToken  string
}

// ThreadPage is one page and the token of the next.
type ThreadPage struct {
	Items         []*thread.Thread
	NextPageToken string
}

// ListThreadsHandler lists threads by last activity, newest first.
type ListThreadsHandler struct{ d Deps }

// Handle turns the request's filters into one: a twinning id means the
// twinning scope, a practice id the practice scope.
func (h ListThreadsHandler) Handle(ctx context.Context, q ListThreads) (ThreadPage, error) {
	size, err := paging.Size(q.PageSize)
	if err != nil {
		return ThreadPage{}, err
	}
	f, err := threadFilter(q)
	if err != nil {
		return ThreadPage{}, err
	}
	after, err := paging.Decode(q.PageToken, f.Hash())
	if err != nil {
		return ThreadPage{}, err
	}
	items, err := h.d.Threads.List(ctx, f, after, size+1)
	if err != nil {
		return ThreadPage{}, err
	}
	page := ThreadPage{Items: items}
	if len(items) > size {
		page.Items = items[:size]
		last := page.Items[size-1]
		page.NextPageToken = paging.Encode(paging.Cursor{Key: last.SortKey(), ID: last.ID}, f.Hash())
	}
	return page, nil
}

func threadFilter(q ListThreads) (thread.Filter, error) {
	var v apperr.Violations
	validate.ID(&v, "twinning_id", q.TwinningID, false)
	validate.ID(&v, "practice_id", q.PracticeID, false)
	f := thread.Filter{Scope: q.Scope}
	switch {
	case q.TwinningID != "" && q.PracticeID != "":
		v.Add("practice_id", "must be empty when twinning_id is set")
	case q.TwinningID != "":
		f.ScopeID = q.TwinningID
		if f.Scope.IsZero() {
			f.Scope = thread.Twinning
		}
	case q.PracticeID != "":
		f.ScopeID = q.PracticeID
		if f.Scope.IsZero() {
			f.Scope = thread.Practice
		}
	}
	if (q.TwinningID != "" && f.Scope != thread.Twinning) || (q.PracticeID != "" && f.Scope != thread.Practice) {
		v.Add("scope", "does not match the twinning_id or practice_id filter")
	}
	return f, v.Err()
}
