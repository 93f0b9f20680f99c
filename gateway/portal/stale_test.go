package portal

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	catalogv1 "github.com/gemella/gemella/proto/gemella/catalog/v1"
	twinningv1 "github.com/gemella/gemella/proto/gemella/twinning/v1"
)

func staleEtag(what, sent, current string) error {
	st, _ := status.New(codes.Aborted, what+" was changed by someone else (etag "+sent+", current "+current+"): reload and retry").
		WithDetails(&errdetails.ErrorInfo{Reason: "STALE_ETAG", Domain: "gemella.eu"})
	return st.Err()
}

// UpdateTwinning updates a twinning only with its current etag.
func (f *fakeTwinning) UpdateTwinning(_ context.Context, req *twinningv1.UpdateTwinningRequest, _ ...grpc.CallOption) (*twinningv1.Twinning, error) {
	for _, tw := range f.twinnings {
		if tw.GetId() == req.GetTwinning().GetId() {
			if req.GetTwinning().GetEtag() != tw.GetEtag() {
				return nil, staleEtag("twinning "+tw.GetCode(), req.GetTwinning().GetEtag(), tw.GetEtag())
			}
			f.updated = append(f.updated, req.GetTwinning())
			return req.GetTwinning(), nil
		}
	}
	return nil, status.Error(codes.NotFound, "no such twinning")
}

// UpdatePractice updates a practice only with its current etag, as the
// catalogue does, and keeps what it saved.
func (c *fakeCatalog) UpdatePractice(_ context.Context, req *catalogv1.UpdatePracticeRequest, _ ...grpc.CallOption) (*catalogv1.Practice, error) {
	for _, p := range c.practices {
		if p.GetId() != req.GetPractice().GetId() {
			continue
		}
		if req.GetPractice().GetEtag() != p.GetEtag() {
			return nil, staleEtag("practice "+p.GetId(), req.GetPractice().GetEtag(), p.GetEtag())
		}
		c.updated = append(c.updated, req.GetPractice())
		return req.GetPractice(), nil
	}
	return nil, status.Error(codes.NotFound, "no such practice")
}

// An edit refused because a colleague saved in between keeps what the
// member wrote, says what saving again does, and a second save goes
// through on the current version (it failed again, for good, before).
func TestAStaleEditKeepsTheTypingForASecondSave(t *testing.T) {
	w := newWorld()
	draft := &catalogv1.Practice{Id: "p-bozza", Slug: "bozza", Title: "Bozza", Status: catalogv1.PracticeStatus_PRACTICE_STATUS_DRAFT,
		OwnerOrganizationIds: []string{"toscana"}, Etag: `"5"`}
	w.catalog.practices = append(w.catalog.practices, draft)
	cat := w.catalog
	b := startPortal(t, w)
	b.logIn("editor")
	form := url.Values{csrfField: {b.token("/manage/practices/p-bozza")}, "etag": {`"4"`}, "title": {"Il mio titolo nuovo"},
		"owner_organization_ids": {"toscana"}}
	a := b.post("/manage/practices/p-bozza", form)
	if a.status == http.StatusSeeOther || len(cat.updated) != 0 {
		t.Fatalf("a stale edit was saved: %d", a.status)
	}
	mustContain(t, a, "Il mio titolo nuovo", "salva di nuovo per sostituire le sue modifiche", `name="etag" value="&#34;5&#34;"`)
	if strings.Contains(a.body, `name="etag" value="&#34;4&#34;"`) {
		t.Error("the form still carries the stale etag: saving again would fail again")
	}
	form.Set("etag", `"5"`)
	if again := b.post("/manage/practices/p-bozza", form); again.status != http.StatusSeeOther || len(cat.updated) != 1 || cat.updated[0].GetTitle() != "Il mio titolo nuovo" {
		t.Fatalf("the second save: %d, saved %v", again.status, cat.updated)
	}
}

// The twinning form keeps the typing after a stale save too.
func TestAStaleTwinningEditKeepsTheTypingForASecondSave(t *testing.T) {
	w := newWorld()
	for _, tw := range w.twinning.twinnings {
		if tw.GetId() == "t-draft" {
			tw.Etag = `"7"`
		}
	}
	b := startPortal(t, w)
	b.logIn("editor")
	form := url.Values{csrfField: {b.token("/manage/twinnings/t-draft")}, "etag": {`"6"`}, "code": {"NEW-1"}, "title": {"Il titolo che ho scritto"}}
	a := b.post("/manage/twinnings/t-draft", form)
	if a.status == http.StatusSeeOther || len(w.twinning.updated) != 0 {
		t.Fatalf("a stale edit was saved: %d", a.status)
	}
	mustContain(t, a, "Il titolo che ho scritto", "salva di nuovo per sostituire le sue modifiche", `name="etag" value="&#34;7&#34;"`)
	form.Set("etag", `"7"`)
	if again := b.post("/manage/twinnings/t-draft", form); again.status != http.StatusSeeOther || len(w.twinning.updated) != 1 {
		t.Fatalf("the second save: %d %.400s", again.status, again.body)
	}
}
