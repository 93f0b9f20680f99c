package app

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/auth"
	"github.com/gemella/gemella/services/platform/idempotency"
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
	if r.Kind == report.Quarterly {
		if err := h.withinTwinning(t, r.PeriodStart, r.PeriodEnd); err != nil {
			return nil, err
		}
	}
	// One report per quarter, and one final report: the id is the
	// period's, so that two replicas drafting the same quarter at once
	// cannot both succeed (the second insert finds the id taken).
	r.ID = h.d.NewID(t.ID + "/report/" + string(r.Kind) + "/" + r.Quarter)
	r.RequestKey = requestKey(ctx, cmd.RequestID)
	if existing, err := h.existing(ctx, t, r); err != nil || existing != nil {
		return existing, err
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
		if apperr.KindOf(err) == apperr.KindAlreadyExists {
			if existing, err := h.existing(ctx, t, r); err != nil || existing != nil {
				return existing, err
			}
		}
		return nil, err
	}
	return drafted, nil
}

// requestKey is what a report keeps of the request that drafted it: the
// caller and their request id (AIP-155), empty without a request id.
func requestKey(ctx context.Context, requestID string) string {
	if requestID == "" {
		return ""
	}
	return idempotency.CallerID(auth.CallerFrom(ctx)) + "/" + requestID
}

// existing is the report of r's period that t has already: the same
// caller's retry (same request id) gets it back, anyone else is refused
// with AlreadyExists. Reports drafted before the period's id was the
// report's id are found by listing the twinning's reports.
func (h *Reports) existing(ctx context.Context, t *twinning.Twinning, r report.Report) (*report.Report, error) {
	found, err := h.reports.Get(ctx, r.ID)
	switch {
	case apperr.KindOf(err) == apperr.KindNotFound:
		found = nil
		if found, err = h.samePeriod(ctx, t.ID, r); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, err
	}
	if found == nil {
		return nil, nil
	}
	if r.RequestKey != "" && found.RequestKey == r.RequestKey {
		return found, nil
	}
	if r.Kind == report.Final {
		return nil, apperr.AlreadyExists("twinning %s has a final report already: edit it", t.Code).WithReason(apperr.ReasonReportExists)
	}
	return nil, apperr.AlreadyExists("twinning %s has a report for %s already: edit it", t.Code, r.Quarter).WithReason(apperr.ReasonReportExists)
}

// samePeriod is a report of t for r's kind and quarter, nil when none.
func (h *Reports) samePeriod(ctx context.Context, twinningID string, r report.Report) (*report.Report, error) {
	var after *paging.Cursor
	for {
		page, err := h.reports.List(ctx, twinningID, false, after, 100)
		if err != nil {
			return nil, err
		}
		for _, p := range page {
			if p.Kind == r.Kind && p.Quarter == r.Quarter {
				return p, nil
			}
		}
		if len(page) < 100 {
			return nil, nil
		}
		last := page[len(page)-1]
		after = &paging.Cursor{Key: last.SortKey(), ID: last.ID}
	}
}

// withinTwinning refuses a quarter that ends before the twinning began or
// begins after today. The planned end date is no bound: a twinning that
// runs past it reports on its quarters all the same.
func (h *Reports) withinTwinning(t *twinning.Twinning, start, end string) error {
	first := t.StartDate
	if first == "" {
		first = t.CreatedAt.In(Location).Format(time.DateOnly)
	}
	last := h.d.Now().Format(time.DateOnly)
	if last < first {
		last = first
	}
	if end < first || start > last {
		return apperr.Invalid("quarter", fmt.Sprintf("must be a quarter of the twinning, from %s to %s", report.QuarterOf(first), report.QuarterOf(last)))
	}
	return nil
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
