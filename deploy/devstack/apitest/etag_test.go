package apitest

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// An update names the version it is based on in the body's etag, the
// If-Match header, or both; when both are sent they must agree. A stale
// If-Match beside the current body etag used to pass (the body's etag
// won) and overwrote the newer version without a word.
func TestIfMatchAndTheBodysEtagMustAgree(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the services and the gateway")
	}
	a := startAPI(t)
	auth := map[string]string{"Authorization": "Bearer " + a.admin}
	created := a.send(t, http.MethodPost, "/v1/practices", `{"title":"Sportello unico","owner_organization_ids":["`+a.ids["organization"]+`"]}`, auth)
	var p struct {
		ID      string `json:"id"`
		Etag    string `json:"etag"`
		Summary string `json:"summary"`
	}
	if err := json.Unmarshal(created.body, &p); created.status != http.StatusOK || err != nil {
		t.Fatalf("create a draft: %d %s", created.status, created.body)
	}
	patch := func(ifMatch, etag, summary string) reply {
		t.Helper()
		h := map[string]string{"Authorization": auth["Authorization"], "Accept-Language": "it"}
		if ifMatch != "" {
			h["If-Match"] = ifMatch
		}
		body, _ := json.Marshal(map[string]string{"etag": etag, "summary": summary})
		return a.send(t, http.MethodPatch, "/v1/practices/"+p.ID, string(body), h)
	}

	r := patch(`"99"`, p.Etag, "non deve restare")
	if r.status != http.StatusBadRequest {
		t.Fatalf("stale If-Match, current body etag: %d %s; want 400", r.status, r.body)
	}
	checkBadRequest(t, r, "etag")
	if !strings.Contains(string(r.body), "intestazione If-Match") {
		t.Errorf("the answer does not say in Italian which two disagree: %s", r.body)
	}
	if r := patch(p.Etag, `"99"`, "non deve restare"); r.status != http.StatusBadRequest {
		t.Errorf("current If-Match, stale body etag: %d %s; want 400", r.status, r.body)
	}
	got := a.send(t, http.MethodGet, "/v1/practices/"+p.ID, "", auth)
	var now struct {
		Etag    string `json:"etag"`
		Summary string `json:"summary"`
	}
	if err := json.Unmarshal(got.body, &now); err != nil || now.Etag != p.Etag || now.Summary != p.Summary {
		t.Fatalf("after the refused updates the practice is %s, want it unchanged (etag %s)", got.body, p.Etag)
	}
	if r := patch(`"99"`, "", "vecchia versione"); r.status != http.StatusPreconditionFailed {
		t.Errorf("stale If-Match alone: %d %s; want 412", r.status, r.body)
	}
	if r := patch(p.Etag, p.Etag, "aggiornato"); r.status != http.StatusOK {
		t.Errorf("the same etag in both: %d %s; want 200", r.status, r.body)
	}
}
