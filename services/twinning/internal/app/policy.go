package app

import (
	"errors"
	"slices"

	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/auth"
	"github.com/gemella/gemella/services/twinning/internal/domain/twinning"
)

// Who may do what to a twinning: the one place that decides it. Handlers
// take the caller from the context (auth.CallerFrom) and ask here before
// they change anything. A party is an offering or receiving organisation;
// its editor is a member whose affiliation to it is verified.
//
//	CreateTwinning                      an editor of one of its parties, or a coordinator
//	UpdateTwinning, LogActivity,
//	UpdateActivity                      an editor of a party, or a coordinator
//	ProposeTwinning                     an editor of a party
//	DeleteTwinning (a draft only)       an editor of a party
//	Approve/Complete/CancelTwinning     a coordinator
//	Activate/Suspend/ResumeTwinning     a coordinator, or an editor of an offering party
//	AddTransfer                         an editor of the transfer's from-party, or a coordinator
//	UpdateTransfer                      an editor of its to-party (the receiving side reports
//	                                    its adoption) or of its from-party, or a coordinator
//
// Anyone reads twinnings that are not drafts. A draft is seen only by its
// parties' editors and by coordinators: to anyone else it does not exist
// (NotFound, also when they try to change it, so its id tells nothing), and
// lists leave it out. A write without a session is Unauthenticated; by a
// member without the right, PermissionDenied.

// requireMember refuses a caller without a session: every write needs one.
func requireMember(c auth.Caller) error {
	if !c.IsMember() {
		return apperr.Unauthenticated("log in first: changing a twinning needs a session token")
	}
	return nil
}

func isCoordinator(c auth.Caller) bool { return c.HasRole(auth.RoleCoordinator) }

// editsAnyOf reports whether the caller is an editor of one of orgs.
func editsAnyOf(c auth.Caller, orgs []string) bool {
	return slices.ContainsFunc(orgs, c.IsEditorOf)
}

// canSee reports whether the twinning exists for the caller.
func canSee(c auth.Caller, t *twinning.Twinning) bool {
	if t.Status == twinning.Deleted {
		// A deleted draft's tombstone exists for nobody.
		return false
	}
	return t.Status != twinning.Draft || isCoordinator(c) || editsAnyOf(c, t.OrganizationIDs())
}

// draftsVisibleTo is what a list of twinnings may show the caller.
func draftsVisibleTo(c auth.Caller) twinning.DraftVisibility {
	if isCoordinator(c) {
		return twinning.DraftVisibility{}
	}
	v := twinning.DraftVisibility{Restricted: true}
	if c.HasRole(auth.RoleEditor) {
		v.Of = slices.Clone(c.Organizations)
	}
	return v
}

// errHidden is a policy's answer for a twinning the caller cannot see;
// notFound turns it into the NotFound that names what the caller asked
// for, the same answer as for a twinning that does not exist.
var errHidden = errors.New("twinning hidden from the caller")

// notFound turns errHidden into the NotFound for idOrCode.
func notFound(idOrCode string, err error) error {
	if errors.Is(err, errHidden) {
		return twinning.ErrNotFound(idOrCode)
	}
	return err
}

// decide turns a rule's verdict on a twinning into the answer: errHidden
// for a twinning the caller cannot see, PermissionDenied when the rule
// says no.
func decide(c auth.Caller, t *twinning.Twinning, allowed bool, rule string) error {
	if err := requireMember(c); err != nil {
		return err
	}
	if !canSee(c, t) {
		return errHidden
	}
	if !allowed {
		return apperr.PermissionDenied("twinning %s: %s", t.Code, rule)
	}
	return nil
}

// mayCreate: an editor of one of the new twinning's parties, or a
// coordinator.
func mayCreate(c auth.Caller, d twinning.Details) error {
	if err := requireMember(c); err != nil {
		return err
	}
	parties := append(slices.Clone(d.OfferingOrganizationIDs), d.ReceivingOrganizationIDs...)
	if len(parties) == 0 && !isCoordinator(c) {
		// Who may create depends on the parties: an editor who named none
		// is told what to fill in, not that they may not.
		var v apperr.Violations
		v.Add("offering_organization_ids", "is required: name the administrations of the twinning, one of which you are an editor of")
		v.Add("receiving_organization_ids", "is required: name the administrations of the twinning, one of which you are an editor of")
		return v.Err()
	}
	if !isCoordinator(c) && !editsAnyOf(c, parties) {
		return apperr.PermissionDenied("only an editor of one of its parties, or a coordinator, may create a twinning").WithReason(apperr.ReasonNotAnEditor)
	}
	return nil
}

// mayEdit: an editor of a party, or a coordinator, edits the details and
// the activity log.
func mayEdit(c auth.Caller, t *twinning.Twinning) error {
	return decide(c, t, isCoordinator(c) || editsAnyOf(c, t.OrganizationIDs()),
		"only an editor of a party, or a coordinator, may change it")
}

// mayEditDetails is mayEdit for a change of the details to next: an editor
// must stay an editor of a party of the result, so that nobody hands a
// twinning over to organisations they do not speak for.
func mayEditDetails(c auth.Caller, t *twinning.Twinning, next twinning.Details) error {
	if err := mayEdit(c, t); err != nil {
		return err
	}
	parties := append(slices.Clone(next.OfferingOrganizationIDs), next.ReceivingOrganizationIDs...)
	if !isCoordinator(c) && !editsAnyOf(c, parties) {
		return apperr.PermissionDenied("twinning %s: the change would leave none of your organisations among its parties", t.Code)
	}
	return nil
}

// mayMove decides the state moves.
func mayMove(c auth.Caller, t *twinning.Twinning, m twinning.Move) error {
	switch m {
	case twinning.MovePropose:
		return decide(c, t, editsAnyOf(c, t.OrganizationIDs()), "only an editor of a party may propose it")
	case twinning.MoveApprove, twinning.MoveComplete, twinning.MoveCancel:
		return decide(c, t, isCoordinator(c), "only a coordinator may "+string(m)+" it")
	case twinning.MoveActivate, twinning.MoveSuspend, twinning.MoveResume:
		return decide(c, t, isCoordinator(c) || editsAnyOf(c, t.OfferingOrganizationIDs),
			"only a coordinator or an editor of an offering party may "+string(m)+" it")
	}
	return decide(c, t, false, "unknown move "+string(m))
}

// mayDelete: an editor of a party deletes its draft; a coordinator, who
// may see it, did not write it.
func mayDelete(c auth.Caller, t *twinning.Twinning) error {
	return decide(c, t, editsAnyOf(c, t.OrganizationIDs()), "only an editor of a party may delete it")
}

// mayAddTransfer: the offering side transfers its own models.
func mayAddTransfer(c auth.Caller, t *twinning.Twinning, n twinning.NewTransfer) error {
	return decide(c, t, isCoordinator(c) || c.IsEditorOf(n.FromOrganizationID),
		"only an editor of the transfer's offering party, or a coordinator, may add it")
}

// mayUpdateTransfer: either side of the transfer reports its progress (the
// receiving side its adoption), or a coordinator. An unknown transfer is
// judged like the twinning, and the domain then answers NotFound.
func mayUpdateTransfer(c auth.Caller, t *twinning.Twinning, transferID string) error {
	tr, ok := t.Transfer(transferID)
	if !ok {
		return mayEdit(c, t)
	}
	return decide(c, t, isCoordinator(c) || c.IsEditorOf(tr.ToOrganizationID) || c.IsEditorOf(tr.FromOrganizationID),
		"only an editor of the transfer's receiving or offering party, or a coordinator, may update it")
}
