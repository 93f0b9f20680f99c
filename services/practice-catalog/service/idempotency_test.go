package service_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/gemella/gemella/services/platform/auth"
)

// Over the real stack (gateway, catalog, the embedded FerretDB): a
// request id belongs to its caller. The same caller's retry gets the first
// practice, the same request id with another body is a 409 naming
// request_id, and another caller's identical request id makes their own.
func TestRequestIDsAreScopedByCallerOverREST(t *testing.T) {
	e := start(t)
	org := e.do(t, "POST", "/v1/organizations?request_id=org-1", `{"name":"Regione Umbria","kind":"ORGANIZATION_KIND_REGION"}`)
	if org.status != http.StatusOK {
		t.Fatalf("create organisation: %d %v", org.status, org.body)
	}
	orgID := org.body["id"].(string)
	testStaff.saw(orgID) // the staff edits what it creates
	if again := e.do(t, "POST", "/v1/organizations?request_id=org-1", `{"name":"Regione Umbria","kind":"ORGANIZATION_KIND_REGION"}`); again.body["id"] != orgID {
		t.Fatalf("retried organisation: %d %v, want %s", again.status, again.body, orgID)
	}
	body := func(title string) string {
		return fmt.Sprintf(`{"title":%q,"owner_organization_ids":[%q]}`, title, orgID)
	}
	first := e.do(t, "POST", "/v1/practices?request_id=p-1", body("Umbria in rete"))
	if first.status != http.StatusOK {
		t.Fatalf("create practice: %d %v", first.status, first.body)
	}
	again := e.do(t, "POST", "/v1/practices?request_id=p-1", body("Umbria in rete"))
	if again.status != http.StatusOK || again.body["id"] != first.body["id"] {
		t.Fatalf("the same caller's retry: %d %v, want practice %v", again.status, again.body, first.body["id"])
	}
	other := e.do(t, "POST", "/v1/practices?request_id=p-1", body("Umbria in rete, altro"))
	if other.status != http.StatusConflict || fmt.Sprint(other.errorFields()) != "[request_id]" {
		t.Fatalf("the same request id with another body: %d %v, want 409 naming request_id", other.status, other.body)
	}
	// Another editor of the organisation, with the same request id.
	colleague := "Bearer " + testStaff.tokenOf(auth.Caller{
		MemberID: "test-colleague", Roles: []string{auth.RoleMember, auth.RoleEditor}, Organizations: []string{orgID},
	})
	theirs := e.do(t, "POST", "/v1/practices?request_id=p-1", body("Umbria in rete, dei colleghi"), "Authorization", colleague)
	if theirs.status != http.StatusOK || theirs.body["id"] == first.body["id"] {
		t.Fatalf("another caller's identical request id: %d %v, want a practice of their own", theirs.status, theirs.body)
	}
}
