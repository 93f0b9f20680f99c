// Package adapters implements the twinning service's ports: the MongoDB
// repository on mongox.AggregateStore, which writes its events into the
// same document (the outbox), its in-memory twin on mongox.MemoryStore for
// tests and benchmarks, the event encoder, and the gRPC client of the
// practice catalogue.
package adapters

import (
	"time"

	"github.com/gemella/gemella/services/twinning/internal/domain/twinning"
)

type objectiveDoc struct {
	Level string `bson:"level"`
	Text  string `bson:"text"`
}

type statusChangeDoc struct {
	Seq    int       `bson:"seq"`
	From   string    `bson:"from,omitempty"`
	To     string    `bson:"to"`
	Actor  string    `bson:"actor"`
	At     time.Time `bson:"at"`
	Reason string    `bson:"reason,omitempty"`
}

type noteDoc struct {
	Seq    int       `bson:"seq"`
	Text   string    `bson:"text"`
	Author string    `bson:"author"`
	At     time.Time `bson:"at"`
}

type transferDoc struct {
	ID                 string    `bson:"id"`
	PracticeID         string    `bson:"practice_id"`
	ModelCode          string    `bson:"model_code"`
	FromOrganizationID string    `bson:"from_organization_id"`
	ToOrganizationID   string    `bson:"to_organization_id"`
	Status             string    `bson:"status"`
	Notes              []noteDoc `bson:"notes,omitempty"`
	NoteCount          int       `bson:"note_count"`
	StartDate          string    `bson:"start_date,omitempty"`
	EndDate            string    `bson:"end_date,omitempty"`
	PracticeTitle      string    `bson:"practice_title,omitempty"`
	ModelTitle         string    `bson:"model_title,omitempty"`
	UpdatedAt          time.Time `bson:"updated_at"`
}

type linkDoc struct {
	Title string `bson:"title"`
	URL   string `bson:"url"`
}

type activityDoc struct {
	ID           string    `bson:"id"`
	Kind         string    `bson:"kind"`
	Title        string    `bson:"title"`
	Description  string    `bson:"description,omitempty"`
	Date         string    `bson:"date,omitempty"`
	Participants []string  `bson:"participants,omitempty"`
	Outcome      string    `bson:"outcome,omitempty"`
	Links        []linkDoc `bson:"links,omitempty"`
	Milestone    bool      `bson:"milestone"`
	DueDate      string    `bson:"due_date,omitempty"`
	Done         bool      `bson:"done"`
	LoggedBy     string    `bson:"logged_by"`
	CreatedAt    time.Time `bson:"created_at"`
	Rev          int64     `bson:"rev"`
}

// twinningDoc is the stored twinning. organization_ids and practice_ids
// are derived, for the list filters and their indexes.
type twinningDoc struct {
	ID                        string            `bson:"_id"`
	SortKey                   string            `bson:"sort_key"`
	Code                      string            `bson:"code"`
	Title                     string            `bson:"title"`
	Summary                   string            `bson:"summary,omitempty"`
	Objectives                []objectiveDoc    `bson:"objectives,omitempty"`
	ExpectedResults           []string          `bson:"expected_results,omitempty"`
	ProgrammeName             string            `bson:"programme_name,omitempty"`
	ProgrammePriorities       []string          `bson:"programme_priorities,omitempty"`
	Origin                    string            `bson:"origin"`
	OriginRef                 string            `bson:"origin_ref,omitempty"`
	OfferingOrganizationIDs   []string          `bson:"offering_organization_ids"`
	ReceivingOrganizationIDs  []string          `bson:"receiving_organization_ids"`
	CoordinatorOrganizationID string            `bson:"coordinator_organization_id,omitempty"`
	StartDate                 string            `bson:"start_date,omitempty"`
	EndDate                   string            `bson:"end_date,omitempty"`
	LiveStreamURL             string            `bson:"live_stream_url,omitempty"`
	TerritoryCodes            []string          `bson:"territory_codes"`
	OrganizationIDs           []string          `bson:"organization_ids"`
	PracticeIDs               []string          `bson:"practice_ids"`
	Status                    string            `bson:"status"`
	History                   []statusChangeDoc `bson:"history"`
	HistoryCount              int               `bson:"history_count"`
	Transfers                 []transferDoc     `bson:"transfers"`
	Activities                []activityDoc     `bson:"activities"`
	ActivityCount             int               `bson:"activity_count"`
	CreatedAt                 time.Time         `bson:"created_at"`
	UpdatedAt                 time.Time         `bson:"updated_at"`
	Version                   int64             `bson:"version"`
}

func clone[T any](s []T) []T {
	if s == nil {
		return nil
	}
	return append(make([]T, 0, len(s)), s...)
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return clone(s)
}

func emptyToNil[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return clone(s)
}

func toTwinningDoc(t *twinning.Twinning) twinningDoc {
	d := twinningDoc{
		ID: t.ID, SortKey: t.SortKey(), Code: t.Code, Title: t.Title, Summary: t.Summary,
		ExpectedResults: clone(t.ExpectedResults), ProgrammeName: t.Programme.Name, ProgrammePriorities: clone(t.Programme.Priorities),
		Origin: t.Origin.String(), OriginRef: t.OriginRef,
		OfferingOrganizationIDs: nonNil(t.OfferingOrganizationIDs), ReceivingOrganizationIDs: nonNil(t.ReceivingOrganizationIDs),
		CoordinatorOrganizationID: t.CoordinatorOrganizationID, StartDate: t.StartDate, EndDate: t.EndDate,
		LiveStreamURL: t.LiveStreamURL, TerritoryCodes: nonNil(t.TerritoryCodes),
		OrganizationIDs: nonNil(t.OrganizationIDs()), PracticeIDs: nonNil(t.PracticeIDs()),
		Status: t.Status.String(), History: []statusChangeDoc{}, HistoryCount: t.HistoryCount, Transfers: []transferDoc{},
		Activities: []activityDoc{}, ActivityCount: t.ActivityCount,
		CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt, Version: t.Version,
	}
	for _, o := range t.Objectives {
		d.Objectives = append(d.Objectives, objectiveDoc(o))
	}
	for _, h := range t.History {
		d.History = append(d.History, toStatusChangeDoc(h))
	}
	for _, tr := range t.Transfers {
		td := transferDoc{
			ID: tr.ID, PracticeID: tr.PracticeID, ModelCode: tr.ModelCode, FromOrganizationID: tr.FromOrganizationID,
			ToOrganizationID: tr.ToOrganizationID, Status: tr.Status.String(), StartDate: tr.StartDate, EndDate: tr.EndDate,
			PracticeTitle: tr.PracticeTitle, ModelTitle: tr.ModelTitle, UpdatedAt: tr.UpdatedAt, NoteCount: tr.NoteCount,
		}
		for _, n := range tr.Notes {
			td.Notes = append(td.Notes, toNoteDoc(n))
		}
		d.Transfers = append(d.Transfers, td)
	}
	for _, a := range t.Activities {
		d.Activities = append(d.Activities, toActivityDoc(a))
	}
	return d
}

func toStatusChangeDoc(h twinning.StatusChange) statusChangeDoc {
	return statusChangeDoc{Seq: h.Seq, From: h.From.String(), To: h.To.String(), Actor: h.Actor, At: h.At, Reason: h.Reason}
}

func (h *statusChangeDoc) toDomain() twinning.StatusChange {
	from, _ := twinning.ParseStatus(h.From)
	to, _ := twinning.ParseStatus(h.To)
	return twinning.StatusChange{Seq: h.Seq, From: from, To: to, Actor: h.Actor, At: h.At.UTC(), Reason: h.Reason}
}

func toNoteDoc(n twinning.Note) noteDoc {
	return noteDoc{Seq: n.Seq, Text: n.Text, Author: n.Author, At: n.At}
}

func (n *noteDoc) toDomain() twinning.Note {
	return twinning.Note{Seq: n.Seq, Text: n.Text, Author: n.Author, At: n.At.UTC()}
}

func toActivityDoc(a twinning.Activity) activityDoc {
	ad := activityDoc{
		ID: a.ID, Kind: a.Kind.String(), Title: a.Title, Description: a.Description, Date: a.Date,
		Participants: clone(a.Participants), Outcome: a.Outcome, Milestone: a.Milestone, DueDate: a.DueDate,
		Done: a.Done, LoggedBy: a.LoggedBy, CreatedAt: a.CreatedAt, Rev: a.Rev,
	}
	for _, l := range a.Links {
		ad.Links = append(ad.Links, linkDoc(l))
	}
	return ad
}

func (ad *activityDoc) toDomain() twinning.Activity {
	kind, _ := twinning.ParseActivityKind(ad.Kind)
	a := twinning.Activity{
		ID: ad.ID, Kind: kind, Title: ad.Title, Description: ad.Description, Date: ad.Date,
		Participants: clone(ad.Participants), Outcome: ad.Outcome, Milestone: ad.Milestone, DueDate: ad.DueDate,
		Done: ad.Done, LoggedBy: ad.LoggedBy, CreatedAt: ad.CreatedAt.UTC(), Rev: ad.Rev,
	}
	for _, l := range ad.Links {
		a.Links = append(a.Links, twinning.Link(l))
	}
	return a
}

// toDomain reads a stored twinning. A document written before the
// windows (window.go) has its whole history, notes and log inline and no
// counts: they count what it has, numbered in order, and its next write
// moves what falls out of the windows into the log.
func (d *twinningDoc) toDomain() *twinning.Twinning {
	status, _ := twinning.ParseStatus(d.Status)
	origin, _ := twinning.ParseOrigin(d.Origin)
	t := &twinning.Twinning{
		ID: d.ID,
		Details: twinning.Details{
			Code: d.Code, Title: d.Title, Summary: d.Summary, ExpectedResults: emptyToNil(d.ExpectedResults),
			Programme: twinning.Programme{Name: d.ProgrammeName, Priorities: emptyToNil(d.ProgrammePriorities)},
			Origin:    origin, OriginRef: d.OriginRef,
			OfferingOrganizationIDs: emptyToNil(d.OfferingOrganizationIDs), ReceivingOrganizationIDs: emptyToNil(d.ReceivingOrganizationIDs),
			CoordinatorOrganizationID: d.CoordinatorOrganizationID, StartDate: d.StartDate, EndDate: d.EndDate,
			LiveStreamURL: d.LiveStreamURL, TerritoryCodes: emptyToNil(d.TerritoryCodes),
		},
		Status: status, HistoryCount: max(d.HistoryCount, len(d.History)), ActivityCount: max(d.ActivityCount, len(d.Activities)),
		CreatedAt: d.CreatedAt.UTC(), UpdatedAt: d.UpdatedAt.UTC(), Version: d.Version,
	}
	for _, o := range d.Objectives {
		t.Objectives = append(t.Objectives, twinning.Objective(o))
	}
	for i := range d.History {
		h := d.History[i].toDomain()
		if h.Seq == 0 {
			h.Seq = i + 1
		}
		t.History = append(t.History, h)
	}
	for _, td := range d.Transfers {
		st, _ := twinning.ParseTransferStatus(td.Status)
		tr := twinning.Transfer{
			ID: td.ID, PracticeID: td.PracticeID, ModelCode: td.ModelCode, FromOrganizationID: td.FromOrganizationID,
			ToOrganizationID: td.ToOrganizationID, Status: st, StartDate: td.StartDate, EndDate: td.EndDate,
			PracticeTitle: td.PracticeTitle, ModelTitle: td.ModelTitle, UpdatedAt: td.UpdatedAt.UTC(),
			NoteCount: max(td.NoteCount, len(td.Notes)),
		}
		for i := range td.Notes {
			n := td.Notes[i].toDomain()
			if n.Seq == 0 {
				n.Seq = i + 1
			}
			tr.Notes = append(tr.Notes, n)
		}
		t.Transfers = append(t.Transfers, tr)
	}
	for i := range d.Activities {
		t.Activities = append(t.Activities, d.Activities[i].toDomain())
	}
	return t
}
