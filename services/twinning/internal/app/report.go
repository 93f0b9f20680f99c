package app

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/auth"
	"github.com/gemella/gemella/services/platform/paging"
	"github.com/gemella/gemella/services/twinning/internal/domain/report"
	"github.com/gemella/gemella/services/twinning/internal/domain/twinning"
)

// Discussion is what a report asks the discussion service: the figures
// and highlights of a twinning's discussion in a period.
type Discussion interface {
	// Period covers the days from and to (YYYY-MM-DD, both included).
	Period(ctx context.Context, twinningID, from, to string) (DiscussionPeriod, error)
}

// DiscussionPeriod is what happened in a twinning's discussion in a period.
type DiscussionPeriod struct {
	Threads, Posts, Participants, Stories int
	// ThreadTitles are the threads with posts in the period; StoryTitles
	// the stories published in it.
	ThreadTitles, StoryTitles []string
}

// Reports are the use cases of the twinnings' reports.
//
// Who may: CreateReport and UpdateReport an editor of a party or a
// coordinator; SubmitReport an editor of a party; Approve and Return a
// coordinator. An approved report of a twinning one can see is public; any
// other report is seen only by the parties' editors and the coordinators,
// and is NotFound to anyone else.
type Reports struct {
	d          Deps
	reports    report.Repository
	discussion Discussion
}

// NewReports wires the report use cases on the twinning service's deps.
// discussion may be nil: the draft then says its figures are missing.
func NewReports(d Deps, reports report.Repository, discussion Discussion) *Reports {
	if d.Now == nil {
		d.Now = func() time.Time { return time.Now().Truncate(time.Millisecond).In(Location) }
	}
	if d.NewID == nil {
		d.NewID = NewID
	}
	return &Reports{d: d, reports: reports, discussion: discussion}
}

// CreateReport drafts a report.
type CreateReport struct {
	TwinningID string
	Kind       report.Kind
	Quarter    string
	RequestID  string
	Actor      string
}

// insider reports whether the caller sees every report of t.
func insider(c auth.Caller, t *twinning.Twinning) bool {
	return isCoordinator(c) || editsAnyOf(c, t.OrganizationIDs())
}

// Create drafts the report of a period from what the twinning recorded.
func (h *Reports) Create(ctx context.Context, cmd CreateReport) (*report.Report, error) {
	caller := auth.CallerFrom(ctx)
	if err := requireMember(caller); err != nil {
		return nil, err
	}
	if err := validateRequestID(cmd.RequestID); err != nil {
		return nil, err
	}
	t, err := h.d.getVisible(ctx, caller, cmd.TwinningID)
	if err != nil {
		return nil, err
	}
	if err := decide(caller, t, insider(caller, t), "only an editor of a party, or a coordinator, may draft its reports"); err != nil {
		return nil, notFound(cmd.TwinningID, err)
	}
	r := report.Report{TwinningID: t.ID, TwinningCode: t.Code, TwinningTitle: t.Title, Kind: cmd.Kind, Quarter: cmd.Quarter}
	switch cmd.Kind {
	case report.Quarterly:
		if cmd.Quarter != "" {
			if r.PeriodStart, r.PeriodEnd, err = report.QuarterPeriod(cmd.Quarter); err != nil {
				return nil, err
			}
		}
	case report.Final:
		r.PeriodStart, r.PeriodEnd = t.StartDate, t.EndDate
		if r.PeriodStart == "" {
			r.PeriodStart = t.CreatedAt.In(Location).Format(time.DateOnly)
		}
		if today := h.d.Now().Format(time.DateOnly); r.PeriodEnd == "" || r.PeriodEnd > today {
			r.PeriodEnd = today
		}
		if r.PeriodEnd < r.PeriodStart {
			r.PeriodEnd = r.PeriodStart
		}
	}
	if r.PeriodStart == "" {
		// New names what is missing.
		if _, err := report.New(r, cmd.Actor, h.d.Now()); err != nil {
			return nil, err
		}
	}
	r.ID = h.d.childID(ctx, t.ID, "report", cmd.RequestID)
	if cmd.RequestID != "" {
		if existing, err := h.reports.Get(ctx, r.ID); err == nil {
			return existing, nil
		}
	}
	sections, figures, err := h.draft(ctx, t, r.PeriodStart, r.PeriodEnd)
	if err != nil {
		return nil, err
	}
	r.Sections, r.Discussion = sections, figures
	drafted, err := report.New(r, cmd.Actor, h.d.Now())
	if err != nil {
		return nil, err
	}
	if err := h.reports.Create(ctx, drafted); err != nil {
		if apperr.KindOf(err) == apperr.KindAlreadyExists && cmd.RequestID != "" {
			return h.reports.Get(ctx, r.ID)
		}
		return nil, err
	}
	return drafted, nil
}

// load returns the twinning and its report as the caller may see them.
func (h *Reports) load(ctx context.Context, c auth.Caller, twinningID, id string) (*twinning.Twinning, *report.Report, error) {
	if id == "" {
		return nil, nil, apperr.Invalid("id", "is required")
	}
	t, err := h.d.getVisible(ctx, c, twinningID)
	if err != nil {
		return nil, nil, err
	}
	r, err := h.reports.Get(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	if r.TwinningID != t.ID || (r.State != report.Approved && !insider(c, t)) {
		return nil, nil, report.ErrNotFound(id)
	}
	return t, r, nil
}

// Get returns a report the caller may see.
func (h *Reports) Get(ctx context.Context, twinningID, id string) (*report.Report, error) {
	_, r, err := h.load(ctx, auth.CallerFrom(ctx), twinningID, id)
	return r, err
}

// ReportPage is one page of a twinning's reports.
type ReportPage struct {
	Items         []*report.Report
	NextPageToken string
}

// List returns a page of a twinning's reports: all of them to its
// parties' editors and coordinators, the approved ones to anyone else.
func (h *Reports) List(ctx context.Context, twinningID string, pageSize int32, pageToken string) (ReportPage, error) {
	size, err := paging.Size(pageSize)
	if err != nil {
		return ReportPage{}, err
	}
	caller := auth.CallerFrom(ctx)
	t, err := h.d.getVisible(ctx, caller, twinningID)
	if err != nil {
		return ReportPage{}, err
	}
	approvedOnly := !insider(caller, t)
	filter := paging.FilterHash("reports", t.ID, strconv.FormatBool(approvedOnly))
	after, err := paging.Decode(pageToken, filter)
	if err != nil {
		return ReportPage{}, err
	}
	items, err := h.reports.List(ctx, t.ID, approvedOnly, after, size+1)
	if err != nil {
		return ReportPage{}, err
	}
	page := ReportPage{Items: items}
	if len(items) > size {
		page.Items = items[:size]
		last := page.Items[size-1]
		page.NextPageToken = paging.Encode(paging.Cursor{Key: last.SortKey(), ID: last.ID}, filter)
	}
	return page, nil
}

// UpdateReport rewrites sections of a draft.
type UpdateReport struct {
	TwinningID, ID, Etag string
	Sections             []report.Section
}

// Update rewrites the sections of a draft.
func (h *Reports) Update(ctx context.Context, cmd UpdateReport) (*report.Report, error) {
	caller := auth.CallerFrom(ctx)
	if err := requireMember(caller); err != nil {
		return nil, err
	}
	t, _, err := h.load(ctx, caller, cmd.TwinningID, cmd.ID)
	if err != nil {
		return nil, err
	}
	if err := decide(caller, t, insider(caller, t), "only an editor of a party, or a coordinator, may edit its reports"); err != nil {
		return nil, notFound(cmd.TwinningID, err)
	}
	return h.reports.Update(ctx, cmd.ID, func(r *report.Report) error {
		if err := r.CheckEtag(cmd.Etag); err != nil {
			return err
		}
		return r.Edit(cmd.Sections, h.d.Now())
	})
}

// MoveReport is a state move of a report.
type MoveReport struct {
	TwinningID, ID, Etag string
	Move                 report.Move
	Reason               string
	Actor                string
}

// mayMoveReport: an editor of a party submits; a coordinator approves or
// returns.
func mayMoveReport(c auth.Caller, t *twinning.Twinning, m report.Move) error {
	switch m {
	case report.MoveSubmit:
		return decide(c, t, editsAnyOf(c, t.OrganizationIDs()), "only an editor of a party may submit its reports")
	case report.MoveApprove, report.MoveReturn:
		return decide(c, t, isCoordinator(c), "only a coordinator may "+string(m)+" a report")
	}
	return decide(c, t, false, "unknown move "+string(m))
}

// Move makes a state move: the policy first, then the report's state.
func (h *Reports) Move(ctx context.Context, cmd MoveReport) (*report.Report, error) {
	caller := auth.CallerFrom(ctx)
	if err := requireMember(caller); err != nil {
		return nil, err
	}
	t, _, err := h.load(ctx, caller, cmd.TwinningID, cmd.ID)
	if errors.Is(err, errHidden) {
		err = report.ErrNotFound(cmd.ID)
	}
	if err != nil {
		return nil, err
	}
	if err := mayMoveReport(caller, t, cmd.Move); err != nil {
		return nil, notFound(cmd.TwinningID, err)
	}
	return h.reports.Update(ctx, cmd.ID, func(r *report.Report) error {
		if err := r.CheckEtag(cmd.Etag); err != nil {
			return err
		}
		return r.Move(cmd.Move, cmd.Actor, cmd.Reason, h.d.Now())
	})
}
