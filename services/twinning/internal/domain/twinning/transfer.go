package twinning

import (
	"time"

	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/validate"
)

// Note is a progress note on a transfer.
type Note struct {
	// Seq numbers the note among its transfer's, from 1.
	Seq    int
	Text   string
	Author string
	At     time.Time
}

// Transfer is one model of a practice moving from an offering party to a
// receiving party.
type Transfer struct {
	ID                 string
	PracticeID         string
	ModelCode          string
	FromOrganizationID string
	ToOrganizationID   string
	Status             TransferStatus
	// Notes are the window of the latest progress notes, oldest first;
	// NoteCount counts them all (see window.go).
	Notes     []Note
	NoteCount int
	StartDate string
	EndDate   string
	// PracticeTitle and ModelTitle are copied from the catalogue when the
	// transfer is added, so that a page shows them without calling it.
	PracticeTitle string
	ModelTitle    string
	UpdatedAt     time.Time
}

// NewTransfer is a transfer to add. The application has checked it against
// the catalogue (practice published, model exists, the offering party owns
// the practice or the model); the aggregate checks it against itself.
type NewTransfer struct {
	ID                 string
	PracticeID         string
	ModelCode          string
	FromOrganizationID string
	ToOrganizationID   string
	StartDate          string
	EndDate            string
	PracticeTitle      string
	ModelTitle         string
}

// Validate checks the fields of the request alone, reporting every problem.
func (n NewTransfer) Validate() error {
	var v apperr.Violations
	n.validateInto(&v)
	return v.Err()
}

func (n NewTransfer) validateInto(v *apperr.Violations) {
	if n.PracticeID == "" {
		v.Add("practice_id", "is required")
	} else {
		validate.ID(v, "practice_id", n.PracticeID)
	}
	validate.Text(v, "model_code", n.ModelCode, true, 3)
	if n.FromOrganizationID == "" {
		v.Add("from_organization_id", "is required: an offering party of the twinning")
	}
	if n.ToOrganizationID == "" {
		v.Add("to_organization_id", "is required: a receiving party of the twinning")
	}
	validate.Date(v, "start_date", n.StartDate, false)
	validate.Date(v, "end_date", n.EndDate, false)
	if n.StartDate != "" && n.EndDate != "" && n.EndDate < n.StartDate {
		v.Add("end_date", "must not be before start_date")
	}
}

// Transfer returns the transfer with id, or false.
func (t *Twinning) Transfer(id string) (*Transfer, bool) {
	for i := range t.Transfers {
		if t.Transfers[i].ID == id {
			return &t.Transfers[i], true
		}
	}
	return nil, false
}

// ErrTransferNotFound is the NotFound error for a transfer of a twinning.
func ErrTransferNotFound(code, id string) error {
	return apperr.NotFound("twinning %s has no transfer %q", code, id).WithReason(apperr.ReasonTransferNotFound)
}

// AddTransfer adds a planned transfer. The offering party must be an
// offering party of the twinning, the receiving one a receiving party, and
// the same model of the same practice goes to one receiving party once
// (unless an earlier transfer of it was dropped).
func (t *Twinning) AddTransfer(n NewTransfer, actor string, now time.Time) (*Transfer, error) {
	if !t.Status.Allows(MoveAddTransfer) {
		return nil, ErrIllegalMove(t.Code, t.Status, MoveAddTransfer)
	}
	var v apperr.Violations
	n.validateInto(&v)
	if n.FromOrganizationID != "" && !set(t.OfferingOrganizationIDs)[n.FromOrganizationID] {
		v.Addf("from_organization_id", "organisation %q is not an offering party of twinning %s", n.FromOrganizationID, t.Code)
	}
	if n.ToOrganizationID != "" && !set(t.ReceivingOrganizationIDs)[n.ToOrganizationID] {
		v.Addf("to_organization_id", "organisation %q is not a receiving party of twinning %s", n.ToOrganizationID, t.Code)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	for _, tr := range t.Transfers {
		if tr.PracticeID == n.PracticeID && tr.ModelCode == n.ModelCode && tr.ToOrganizationID == n.ToOrganizationID && tr.Status != Dropped {
			return nil, apperr.AlreadyExists("twinning %s already transfers model %s of practice %s to %s (transfer %s)", t.Code, n.ModelCode, n.PracticeID, n.ToOrganizationID, tr.ID).WithReason(apperr.ReasonTransferDuplicate)
		}
	}
	if len(t.Transfers) >= MaxTransfers {
		return nil, apperr.FailedPrecondition("twinning %s has %d transfers, the most one twinning may have", t.Code, MaxTransfers).WithReason(apperr.ReasonLimitReached)
	}
	tr := Transfer{
		ID: n.ID, PracticeID: n.PracticeID, ModelCode: n.ModelCode,
		FromOrganizationID: n.FromOrganizationID, ToOrganizationID: n.ToOrganizationID,
		Status: Planned, StartDate: n.StartDate, EndDate: n.EndDate,
		PracticeTitle: n.PracticeTitle, ModelTitle: n.ModelTitle, UpdatedAt: now,
	}
	t.Transfers = append(t.Transfers, tr)
	t.UpdatedAt = now
	t.record(Change{Type: EventTransferStatusChanged, Actor: actor, At: now, TransferID: tr.ID, TransferTo: Planned})
	return &t.Transfers[len(t.Transfers)-1], nil
}

// TransferPatch is a change to a transfer; zero fields change nothing.
type TransferPatch struct {
	// Status is the status to move to; zero keeps it.
	Status TransferStatus
	// Note is a progress note to add.
	Note string
	// StartDate and EndDate replace the dates when not nil.
	StartDate *string
	EndDate   *string
}

// UpdateTransfer moves a transfer's status and/or adds a note or dates.
// Transfers change only while the twinning is active. Moving to in
// progress dates the start, moving to an outcome dates the end, unless
// they are set. changed is false when the patch asks for nothing new, as a
// retried request does.
func (t *Twinning) UpdateTransfer(id string, p TransferPatch, actor string, now time.Time) (tr *Transfer, changed bool, err error) {
	tr, ok := t.Transfer(id)
	if !ok {
		return nil, false, ErrTransferNotFound(t.Code, id)
	}
	moves := !p.Status.IsZero() && p.Status != tr.Status
	dates := (p.StartDate != nil && *p.StartDate != tr.StartDate) || (p.EndDate != nil && *p.EndDate != tr.EndDate)
	if !moves && !dates && p.Note == "" {
		return tr, false, nil
	}
	if !t.Status.Allows(MoveUpdateTransfer) {
		return nil, false, ErrIllegalMove(t.Code, t.Status, MoveUpdateTransfer)
	}
	if moves && !tr.Status.allows(p.Status) {
		return nil, false, ErrIllegalTransferMove(tr.ID, tr.ModelCode, tr.Status, p.Status)
	}
	next := *tr
	if p.StartDate != nil {
		next.StartDate = *p.StartDate
	}
	if p.EndDate != nil {
		next.EndDate = *p.EndDate
	}
	var v apperr.Violations
	validate.Text(&v, "note", p.Note, false, 4000)
	validate.Date(&v, "start_date", next.StartDate, false)
	validate.Date(&v, "end_date", next.EndDate, false)
	if next.StartDate != "" && next.EndDate != "" && next.EndDate < next.StartDate {
		v.Add("end_date", "must not be before start_date")
	}
	if err := v.Err(); err != nil {
		return nil, false, err
	}
	tr.StartDate, tr.EndDate = next.StartDate, next.EndDate
	if moves {
		t.setTransferStatus(tr, p.Status, actor, p.Note, now)
	} else if p.Note != "" {
		tr.addNote(Note{Text: p.Note, Author: actor, At: now})
	}
	tr.UpdatedAt = now
	t.UpdatedAt = now
	return tr, true, nil
}

// setTransferStatus moves tr, notes why, and records the event.
func (t *Twinning) setTransferStatus(tr *Transfer, to TransferStatus, actor, note string, now time.Time) {
	from := tr.Status
	tr.Status = to
	if to == InProgress && tr.StartDate == "" {
		tr.StartDate = dateOf(now)
	}
	if to.IsFinal() && tr.EndDate == "" {
		tr.EndDate = dateOf(now)
		if tr.StartDate > tr.EndDate {
			tr.EndDate = tr.StartDate
		}
	}
	if note != "" {
		tr.addNote(Note{Text: note, Author: actor, At: now})
	}
	tr.UpdatedAt = now
	t.UpdatedAt = now
	t.record(Change{Type: EventTransferStatusChanged, Actor: actor, At: now, TransferID: tr.ID, TransferFrom: from, TransferTo: to, Note: note})
}
