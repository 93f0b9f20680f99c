package app

import (
	"errors"
	"slices"

	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/auth"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/need"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/offer"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/organization"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/practice"
)

// Who may do what in the catalog: the one place that decides it. Handlers
// take the caller from the context (auth.CallerFrom) and ask here before
// they change anything. An editor of an organisation is a member whose
// affiliation to it is verified.
//
//	CreateOrganization                   an administrator or a coordinator
//	UpdateOrganization                   an editor of it, or an administrator
//	CreatePractice                       an editor of every owner it names
//	UpdatePractice, SubmitPractice,
//	RevisePractice                       an editor of an owner (and of every owner a change adds)
//	PublishPractice                      a coordinator
//	ArchivePractice                      a coordinator, or an editor of an owner
//	DeletePractice (a draft only)        an editor of an owner
//	CreateNeed, UpdateNeed               an editor of the requesting organisation
//	CloseNeed                            an editor of the requesting organisation, or a coordinator
//	CreateOffer, CloseOffer              an editor of the offering organisation
//	ApplyTransferEvent, MarkNeedMatched  the catalog itself, as auth.System(ServiceName): its
//	                                     consumers of twinning events, and nobody over the API
//
// A practice must name every owner's editor at creation so that nobody
// claims another organisation's work; the coordinator who publishes it is
// the second pair of eyes. Anyone reads organisations, needs, offers and
// published (or archived) practices. A draft or submitted practice is seen
// only by its owners' editors and by coordinators: to anyone else it does
// not exist (NotFound, also when they try to change it), and lists leave
// it out. A write without a session is Unauthenticated; by a member without
// the right, PermissionDenied.

// ServiceName is the catalog as a System caller.
const ServiceName = "practice-catalog"

// requireMember refuses a caller without a session: every write needs one.
func requireMember(c auth.Caller) error {
	if !c.IsMember() {
		return apperr.Unauthenticated("log in first: changing the catalog needs a session token")
	}
	return nil
}

func isCoordinator(c auth.Caller) bool { return c.HasRole(auth.RoleCoordinator) }

func editsAnyOf(c auth.Caller, orgs []string) bool { return slices.ContainsFunc(orgs, c.IsEditorOf) }

// errHidden is a policy's answer for a practice the caller cannot see; the
// handler answers the NotFound it would answer for a practice that does not
// exist.
var errHidden = errors.New("practice hidden from the caller")

// hiddenAsNotFound turns errHidden into the NotFound for idOrSlug.
func hiddenAsNotFound(idOrSlug string, err error) error {
	if errors.Is(err, errHidden) {
		return practice.ErrNotFound(idOrSlug)
	}
	return err
}

// allow turns a rule's verdict into the answer.
func allow(c auth.Caller, allowed bool, format string, args ...any) error {
	if err := requireMember(c); err != nil {
		return err
	}
	if !allowed {
		return apperr.PermissionDenied(format, args...)
	}
	return nil
}

// mayCreateOrganization: administrators and coordinators register
// organisations.
func mayCreateOrganization(c auth.Caller) error {
	return allow(c, c.HasRole(auth.RoleAdministrator) || isCoordinator(c),
		"only an administrator or a coordinator may register an organisation")
}

// mayUpdateOrganization: its editors, and administrators.
func mayUpdateOrganization(c auth.Caller, o *organization.Organization) error {
	return allow(c, c.IsEditorOf(o.ID) || c.HasRole(auth.RoleAdministrator),
		"only an editor of organisation %s, or an administrator, may change it", o.ID)
}

// canSeePractice reports whether the practice exists for the caller.
func canSeePractice(c auth.Caller, p *practice.Practice) bool {
	if p.Status == practice.Deleted {
		// A deleted draft's tombstone exists for nobody.
		return false
	}
	return p.Status.IsPublic() || isCoordinator(c) || editsAnyOf(c, p.OwnerOrganizationIDs)
}

// unpublishedVisibleTo is which unpublished practices a list may show.
func unpublishedVisibleTo(c auth.Caller) practice.Visibility {
	if isCoordinator(c) {
		return practice.Visibility{}
	}
	v := practice.Visibility{Restricted: true}
	if c.HasRole(auth.RoleEditor) {
		v.Of = slices.Clone(c.Organizations)
	}
	return v
}

// decidePractice is allow for a practice the caller may not see: errHidden.
func decidePractice(c auth.Caller, p *practice.Practice, allowed bool, rule string) error {
	if err := requireMember(c); err != nil {
		return err
	}
	if !canSeePractice(c, p) {
		return errHidden
	}
	if !allowed {
		return apperr.PermissionDenied("practice %s: %s", p.ID, rule)
	}
	return nil
}

// mayCreatePractice: an editor of every owner named.
func mayCreatePractice(c auth.Caller, owners []string) error {
	if err := requireMember(c); err != nil {
		return err
	}
	for _, o := range owners {
		if !c.IsEditorOf(o) {
			return apperr.PermissionDenied("only an editor of every owner may create a practice: you do not speak for %s", o).WithReason(apperr.ReasonNotAnEditor)
		}
	}
	if len(owners) == 0 && !c.HasRole(auth.RoleEditor) {
		// The practice is invalid without owners anyway; say what matters.
		return apperr.PermissionDenied("only an editor of its owners may create a practice").WithReason(apperr.ReasonNotAnEditor)
	}
	return nil
}

// mayEditPractice: an editor of an owner edits, submits and revises; an
// owner that next adds must be one the caller edits too.
func mayEditPractice(c auth.Caller, p *practice.Practice, next *practice.Content) error {
	if err := decidePractice(c, p, editsAnyOf(c, p.OwnerOrganizationIDs), "only an editor of an owner may change it"); err != nil {
		return err
	}
	if next == nil {
		return nil
	}
	for _, o := range next.OwnerOrganizationIDs {
		if !slices.Contains(p.OwnerOrganizationIDs, o) && !c.IsEditorOf(o) {
			return apperr.PermissionDenied("practice %s: you cannot name %s an owner: you do not speak for it", p.ID, o)
		}
	}
	return nil
}

// mayMovePractice decides submit, publish and archive.
func mayMovePractice(c auth.Caller, p *practice.Practice, m practice.Move) error {
	switch m {
	case practice.MoveSubmit:
		return mayEditPractice(c, p, nil)
	case practice.MovePublish:
		return decidePractice(c, p, isCoordinator(c), "only a coordinator may validate and publish it")
	case practice.MoveArchive:
		return decidePractice(c, p, isCoordinator(c) || editsAnyOf(c, p.OwnerOrganizationIDs),
			"only a coordinator or an editor of an owner may archive it")
	}
	return decidePractice(c, p, false, "unknown move")
}

// mayDeletePractice: an editor of an owner deletes its draft; nobody
// else, coordinators included: they have not seen a draft.
func mayDeletePractice(c auth.Caller, p *practice.Practice) error {
	return decidePractice(c, p, editsAnyOf(c, p.OwnerOrganizationIDs), "only an editor of an owner may delete it")
}

// mayWriteNeed: the requesting organisation's editors open and edit it.
func mayWriteNeed(c auth.Caller, orgID string) error {
	return allow(c, c.IsEditorOf(orgID), "only an editor of organisation %s may write its needs", orgID)
}

// mayCloseNeed: its organisation's editors, or a coordinator.
func mayCloseNeed(c auth.Caller, n *need.Need) error {
	return allow(c, c.IsEditorOf(n.OrganizationID) || isCoordinator(c),
		"only an editor of organisation %s, or a coordinator, may close its need", n.OrganizationID)
}

// mayWriteOffer: the offering organisation's editors open and close it.
func mayWriteOffer(c auth.Caller, orgID string) error {
	return allow(c, c.IsEditorOf(orgID), "only an editor of organisation %s may write its offers", orgID)
}

// mayCloseOffer is mayWriteOffer for a stored offer.
func mayCloseOffer(c auth.Caller, o *offer.Offer) error { return mayWriteOffer(c, o.OrganizationID) }

// mayApplyTwinningEvents: only the catalog's own consumers of twinning
// events keep adoption figures and mark needs matched.
func mayApplyTwinningEvents(c auth.Caller) error {
	if !c.IsService(ServiceName) {
		return apperr.PermissionDenied("only the catalog's consumer of twinning events may do this")
	}
	return nil
}
