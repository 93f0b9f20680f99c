package twinning

import (
	"strings"

	"github.com/gemella/gemella/services/platform/apperr"
)

// Status is where a twinning is in its life. The zero value is not a
// status: ParseStatus and the variables below are the only values.
type Status struct{ s string }

var (
	Draft     = Status{"draft"}
	Proposed  = Status{"proposed"}
	Approved  = Status{"approved"}
	Active    = Status{"active"}
	Suspended = Status{"suspended"}
	Completed = Status{"completed"}
	Cancelled = Status{"cancelled"}
)

// Statuses lists every status in the order of the life of a twinning.
var Statuses = []Status{Draft, Proposed, Approved, Active, Suspended, Completed, Cancelled}

func (s Status) String() string { return s.s }

// IsZero reports an unset status.
func (s Status) IsZero() bool { return s.s == "" }

// ParseStatus returns the status named s, or false.
func ParseStatus(s string) (Status, bool) {
	for _, st := range Statuses {
		if st.s == s {
			return st, true
		}
	}
	if s == Deleted.s {
		return Deleted, true
	}
	return Status{}, false
}

// Move is what a caller asks of a twinning: a state move or an operation
// that only some states allow.
type Move string

const (
	MovePropose  Move = "propose"
	MoveApprove  Move = "approve"
	MoveActivate Move = "activate"
	MoveSuspend  Move = "suspend"
	MoveResume   Move = "resume"
	MoveComplete Move = "complete"
	MoveCancel   Move = "cancel"

	MoveUpdate         Move = "update"
	MoveAddTransfer    Move = "add_transfer"
	MoveUpdateTransfer Move = "update_transfer"
	MoveLogActivity    Move = "log_activity"
)

// StateMoves are the moves that change the status, in the order of the life.
var StateMoves = []Move{MovePropose, MoveApprove, MoveActivate, MoveSuspend, MoveResume, MoveComplete, MoveCancel}

// allowed is the state machine: which moves each status accepts. Transfers
// change status only while the twinning is active; a suspended twinning
// keeps them as they are. Completed and cancelled are final. A draft is
// deleted, not cancelled: a cancelled twinning is public (its history,
// its dropped transfers counted in the practices' figures), and one never
// proposed was never meant to be.
var allowed = map[Status][]Move{
	Draft:     {MoveUpdate, MoveAddTransfer, MoveLogActivity, MovePropose, MoveDelete},
	Proposed:  {MoveUpdate, MoveAddTransfer, MoveLogActivity, MoveApprove, MoveCancel},
	Approved:  {MoveUpdate, MoveAddTransfer, MoveLogActivity, MoveActivate, MoveCancel},
	Active:    {MoveUpdate, MoveAddTransfer, MoveUpdateTransfer, MoveLogActivity, MoveSuspend, MoveComplete, MoveCancel},
	Suspended: {MoveUpdate, MoveLogActivity, MoveResume, MoveCancel},
	Completed: {},
	Cancelled: {},
	Deleted:   {},
}

// target is where each state move leads.
var target = map[Move]Status{
	MovePropose: Proposed, MoveApprove: Approved, MoveActivate: Active, MoveSuspend: Suspended,
	MoveResume: Active, MoveComplete: Completed, MoveCancel: Cancelled,
}

// Allows reports whether the status accepts the move.
func (s Status) Allows(m Move) bool {
	for _, a := range allowed[s] {
		if a == m {
			return true
		}
	}
	return false
}

// AllowedMoves lists the moves the status accepts.
func (s Status) AllowedMoves() []Move { return append([]Move(nil), allowed[s]...) }

// ErrIllegalMove is the FailedPrecondition error for a move the status
// refuses; it names the current status and the moves allowed from it.
func ErrIllegalMove(code string, s Status, m Move) error {
	var names []string
	for _, a := range allowed[s] {
		names = append(names, string(a))
	}
	allowedText := "none"
	if len(names) > 0 {
		allowedText = strings.Join(names, ", ")
	}
	return apperr.FailedPrecondition("twinning %s is %s: %s is not allowed (allowed from %s: %s)", code, s, m, s, allowedText).
		WithMove("twinnings/"+code, s.String(), string(m), names...)
}

// Origin is how a twinning started.
type Origin struct{ s string }

var (
	FromNeed  = Origin{"need"}
	FromOffer = Origin{"offer"}
	Direct    = Origin{"direct"}
)

// Origins lists every origin.
var Origins = []Origin{FromNeed, FromOffer, Direct}

func (o Origin) String() string { return o.s }

// IsZero reports an unset origin.
func (o Origin) IsZero() bool { return o.s == "" }

// ParseOrigin returns the origin named s, or false.
func ParseOrigin(s string) (Origin, bool) {
	for _, o := range Origins {
		if o.s == s {
			return o, true
		}
	}
	return Origin{}, false
}

// TransferStatus is where the transfer of one model stands.
type TransferStatus struct{ s string }

var (
	Planned          = TransferStatus{"planned"}
	InProgress       = TransferStatus{"in_progress"}
	Adopted          = TransferStatus{"adopted"}
	PartiallyAdopted = TransferStatus{"partially_adopted"}
	Dropped          = TransferStatus{"dropped"}
)

// TransferStatuses lists every transfer status.
var TransferStatuses = []TransferStatus{Planned, InProgress, Adopted, PartiallyAdopted, Dropped}

func (s TransferStatus) String() string { return s.s }

// IsZero reports an unset transfer status.
func (s TransferStatus) IsZero() bool { return s.s == "" }

// IsFinal reports an outcome: adopted, partially adopted or dropped.
func (s TransferStatus) IsFinal() bool {
	return s == Adopted || s == PartiallyAdopted || s == Dropped
}

// ParseTransferStatus returns the transfer status named s, or false.
func ParseTransferStatus(s string) (TransferStatus, bool) {
	for _, st := range TransferStatuses {
		if st.s == s {
			return st, true
		}
	}
	return TransferStatus{}, false
}

// transferNext is the transfer's state machine.
var transferNext = map[TransferStatus][]TransferStatus{
	Planned:    {InProgress, Dropped},
	InProgress: {Adopted, PartiallyAdopted, Dropped},
}

func (s TransferStatus) allows(to TransferStatus) bool {
	for _, n := range transferNext[s] {
		if n == to {
			return true
		}
	}
	return false
}

// ErrIllegalTransferMove is the FailedPrecondition error for a transfer
// status the current one cannot move to; it names the transfer's model,
// which is how people tell the transfers of a twinning apart.
func ErrIllegalTransferMove(id, modelCode string, from, to TransferStatus) error {
	var names []string
	for _, n := range transferNext[from] {
		names = append(names, n.String())
	}
	allowedText := "none"
	if len(names) > 0 {
		allowedText = strings.Join(names, ", ")
	}
	return apperr.FailedPrecondition("transfer %s of model %s is %s: it cannot become %s (allowed from %s: %s)", id, modelCode, from, to, from, allowedText).
		WithMove("transfers/"+id, from.String(), to.String(), names...)
}

// ActivityKind is what sort of entry an activity is.
type ActivityKind struct{ s string }

var (
	Workshop        = ActivityKind{"workshop"}
	StudyVisit      = ActivityKind{"study_visit"}
	Training        = ActivityKind{"training"}
	Webinar         = ActivityKind{"webinar"}
	LiveStream      = ActivityKind{"live_stream"}
	SteeringMeeting = ActivityKind{"steering_meeting"}
	Report          = ActivityKind{"report"}
	MilestoneKind   = ActivityKind{"milestone"}
)

// ActivityKinds lists every kind.
var ActivityKinds = []ActivityKind{Workshop, StudyVisit, Training, Webinar, LiveStream, SteeringMeeting, Report, MilestoneKind}

func (k ActivityKind) String() string { return k.s }

// IsZero reports an unset kind.
func (k ActivityKind) IsZero() bool { return k.s == "" }

// ParseActivityKind returns the kind named s, or false.
func ParseActivityKind(s string) (ActivityKind, bool) {
	for _, k := range ActivityKinds {
		if k.s == s {
			return k, true
		}
	}
	return ActivityKind{}, false
}

// MilestoneState is how a milestone stands on a given day.
type MilestoneState struct{ s string }

var (
	NotAMilestone = MilestoneState{}
	MilestoneDone = MilestoneState{"done"}
	MilestoneDue  = MilestoneState{"due"}
	// MilestoneOverdue is a milestone not done after its due date.
	MilestoneOverdue = MilestoneState{"overdue"}
)

func (m MilestoneState) String() string { return m.s }
