package app

import (
	"context"
	"time"
	_ "time/tzdata" // the days of a period are days in Europe/Rome on any host

	"github.com/gemella/gemella/services/discussion/internal/domain/post"
	"github.com/gemella/gemella/services/discussion/internal/domain/story"
	"github.com/gemella/gemella/services/discussion/internal/domain/thread"
	"github.com/gemella/gemella/services/discussion/internal/domain/validate"
	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/paging"
)

// TwinningFigures asks what a twinning's discussion did in a period; an
// empty day leaves that end of the period open.
type TwinningFigures struct {
	TwinningID         string
	StartDate, EndDate string
}

// Figures are the counts of a twinning's discussion in a period.
type Figures struct {
	Threads, Posts, Participants, Stories int
	ThreadTitles, StoryTitles             []string
}

// Bounds of one count: pages of figuresPage, at most figuresPages of
// threads, of each thread's posts and of stories; at most maxFigureTitles
// titles of each.
const (
	figuresPage     = 100
	figuresPages    = 50
	maxFigureTitles = 20
)

// TwinningFiguresHandler counts a twinning's discussion in a period: the
// figures a twinning's report gives (the twinning service asks). Only what
// anyone may read is counted: visible posts, published stories.
type TwinningFiguresHandler struct{ d Deps }

var rome = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Rome")
	if err != nil {
		return time.UTC
	}
	return loc
}()

func validDay(v *apperr.Violations, field, s string) {
	if s == "" {
		return
	}
	if _, err := time.Parse(time.DateOnly, s); err != nil {
		v.Add(field, "must be a date YYYY-MM-DD")
	}
}

// Handle counts.
func (h TwinningFiguresHandler) Handle(ctx context.Context, q TwinningFigures) (Figures, error) {
	var v apperr.Violations
	validate.ID(&v, "twinning_id", q.TwinningID, true)
	validDay(&v, "start_date", q.StartDate)
	validDay(&v, "end_date", q.EndDate)
	if q.StartDate != "" && q.EndDate != "" && q.EndDate < q.StartDate {
		v.Add("end_date", "must not be before start_date")
	}
	if err := v.Err(); err != nil {
		return Figures{}, err
	}
	// An open end counts from the first post, or to the last.
	if q.StartDate == "" {
		q.StartDate = "0000-01-01"
	}
	if q.EndDate == "" {
		q.EndDate = "9999-12-31"
	}
	in := func(t time.Time) bool {
		d := t.In(rome).Format(time.DateOnly)
		return d >= q.StartDate && d <= q.EndDate
	}
	var out Figures
	people := map[string]bool{}
	f := thread.Filter{Scope: thread.Twinning, ScopeID: q.TwinningID}
	threads, err := pages(figuresPages, func(after *cursor) ([]*thread.Thread, error) {
		return h.d.Threads.List(ctx, f, after, figuresPage)
	}, (*thread.Thread).SortKey, func(t *thread.Thread) string { return t.ID })
	if err != nil {
		return Figures{}, err
	}
	for _, t := range threads {
		// Threads come by last activity, newest first: the rest is older.
		if !t.LastActivityAt.IsZero() && t.LastActivityAt.In(rome).Format(time.DateOnly) < q.StartDate {
			break
		}
		active := false
		if in(t.CreatedAt) && t.AuthorID != "" {
			active = true
			out.Posts++
			people[t.AuthorID] = true
		}
		pf := post.Filter{ThreadID: t.ID}
		posts, err := pages(figuresPages, func(after *cursor) ([]*post.Post, error) {
			return h.d.Posts.List(ctx, pf, after, figuresPage)
		}, (*post.Post).SortKey, func(p *post.Post) string { return p.ID })
		if err != nil {
			return Figures{}, err
		}
		for _, p := range posts {
			if p.State == post.Visible && in(p.CreatedAt) {
				active = true
				out.Posts++
				people[p.AuthorID] = true
			}
		}
		if active {
			out.Threads++
			if len(out.ThreadTitles) < maxFigureTitles {
				out.ThreadTitles = append(out.ThreadTitles, t.Title)
			}
		}
	}
	delete(people, "")
	out.Participants = len(people)
	sf := story.Filter{Status: story.Published, TwinningID: q.TwinningID}
	stories, err := pages(figuresPages, func(after *cursor) ([]*story.Story, error) {
		return h.d.Stories.List(ctx, sf, after, figuresPage)
	}, (*story.Story).SortKey, func(s *story.Story) string { return s.ID })
	if err != nil {
		return Figures{}, err
	}
	for _, s := range stories {
		when := s.PublishedAt
		if when.IsZero() {
			when = s.CreatedAt
		}
		if in(when) {
			out.Stories++
			if len(out.StoryTitles) < maxFigureTitles {
				out.StoryTitles = append(out.StoryTitles, s.Title)
			}
		}
	}
	return out, nil
}

type cursor = paging.Cursor

// pages reads up to max pages of a keyset list, each after the last item
// of the one before.
func pages[T any](max int, list func(after *cursor) ([]T, error), key func(T) string, id func(T) string) ([]T, error) {
	var out []T
	var after *cursor
	for range max {
		items, err := list(after)
		if err != nil {
			return nil, err
		}
		out = append(out, items...)
		if len(items) < figuresPage {
			break
		}
		last := items[len(items)-1]
		after = &cursor{Key: key(last), ID: id(last)}
	}
	return out, nil
}
