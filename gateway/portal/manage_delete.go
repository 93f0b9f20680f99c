package portal

import (
	"net/http"
	"net/url"

	catalogv1 "github.com/gemella/gemella/proto/gemella/catalog/v1"
	twinningv1 "github.com/gemella/gemella/proto/gemella/twinning/v1"
)

// Deleting a draft: the button on the manage page leads to a page that
// says what will be lost and asks to confirm (a page rather than a script
// dialog, so it works without JavaScript and reads well to a screen
// reader); its form sends the delete with the etag the member saw. The
// services decide: only a draft, only its editors; published work is
// archived and a proposed twinning cancelled, never deleted.

// confirmDeleteData is the confirmation page.
type confirmDeleteData struct {
	// Kind is "practice" or "twinning": it picks the page's words.
	Kind, Name, Action, Back, Etag string
	Form                           *form
}

// Deletable reports whether the member is offered to delete the practice:
// a draft of an organisation they edit for.
func (d practiceFormData) Deletable(u *user) bool {
	return d.Practice != nil && d.Practice.GetStatus() == catalogv1.PracticeStatus_PRACTICE_STATUS_DRAFT &&
		u.EditsAny(d.Practice.GetOwnerOrganizationIds())
}

// Deletable reports whether the member is offered to delete the twinning:
// a draft, never proposed, of which they edit for a party.
func (d twinningFormData) Deletable(u *user) bool {
	tw := d.Twinning
	return tw != nil && tw.GetStatus() == twinningv1.TwinningStatus_TWINNING_STATUS_DRAFT &&
		u.EditsAny(append(append([]string{}, tw.GetOfferingOrganizationIds()...), tw.GetReceivingOrganizationIds()...))
}

func (p *Portal) confirmDeletePractice(w http.ResponseWriter, r *http.Request) {
	if !p.requireRole(w, r, (*user).CanEdit) {
		return
	}
	ctx, cancel := p.call(r)
	defer cancel()
	pr, err := p.b.Catalog.GetPractice(ctx, &catalogv1.GetPracticeRequest{Id: r.PathValue("id")})
	if err != nil {
		p.fail(w, r, err)
		return
	}
	if !(practiceFormData{Practice: pr}).Deletable(visitOf(r).User) {
		// Only the actions a member may take: back to the page that
		// offers the others.
		http.Redirect(w, r, "/manage/practices/"+url.PathEscape(pr.GetId()), http.StatusSeeOther)
		return
	}
	p.showConfirmDelete(w, r, http.StatusOK, confirmDeleteData{
		Kind: "practice", Name: pr.GetTitle(), Etag: pr.GetEtag(),
		Action: "/manage/practices/" + url.PathEscape(pr.GetId()) + "/delete", Back: "/manage/practices/" + url.PathEscape(pr.GetId()),
	})
}

func (p *Portal) deletePractice(w http.ResponseWriter, r *http.Request) {
	if !p.requireRole(w, r, (*user).CanEdit) {
		return
	}
	f := newForm(formValues(r))
	id := r.PathValue("id")
	ctx, cancel := p.call(r)
	defer cancel()
	if _, err := p.b.Catalog.DeletePractice(ctx, &catalogv1.DeletePracticeRequest{Id: id, Etag: f.Val("etag")}); err != nil {
		current, getErr := p.b.Catalog.GetPractice(ctx, &catalogv1.GetPracticeRequest{Id: id})
		if getErr != nil {
			p.fail(w, r, getErr)
			return
		}
		p.practiceFormFailed(w, r, newForm(practiceToForm(current)).withLabels(practiceLabels), current, err)
		return
	}
	p.redirect(w, r, "/manage", "flash.practice_deleted")
}

func (p *Portal) confirmDeleteTwinning(w http.ResponseWriter, r *http.Request) {
	if !p.requireRole(w, r, (*user).CanEdit) {
		return
	}
	tw, ok := p.loadTwinning(w, r)
	if !ok {
		return
	}
	if !(twinningFormData{Twinning: tw}).Deletable(visitOf(r).User) {
		http.Redirect(w, r, "/manage/twinnings/"+url.PathEscape(tw.GetId()), http.StatusSeeOther)
		return
	}
	p.showConfirmDelete(w, r, http.StatusOK, confirmDeleteData{
		Kind: "twinning", Name: tw.GetTitle(), Etag: tw.GetEtag(),
		Action: "/manage/twinnings/" + url.PathEscape(tw.GetId()) + "/delete", Back: "/manage/twinnings/" + url.PathEscape(tw.GetId()),
	})
}

func (p *Portal) deleteTwinning(w http.ResponseWriter, r *http.Request) {
	if !p.requireRole(w, r, (*user).CanEdit) {
		return
	}
	f := newForm(formValues(r))
	ctx, cancel := p.call(r)
	defer cancel()
	if _, err := p.b.Twinning.DeleteTwinning(ctx, &twinningv1.DeleteTwinningRequest{Id: r.PathValue("id"), Etag: f.Val("etag")}); err != nil {
		p.twinningFailed(w, r, twinningFormData{Move: f}, f, err)
		return
	}
	p.redirect(w, r, "/manage", "flash.twinning_deleted")
}

func (p *Portal) showConfirmDelete(w http.ResponseWriter, r *http.Request, code int, d confirmDeleteData) {
	if d.Form == nil {
		d.Form = newForm(nil)
	}
	p.renderTitled(w, r, code, "confirm-delete", visitOf(r).L.T("manage.delete."+d.Kind+".title", d.Name), d)
}
