package apitest

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protojson"

	gateway "github.com/gemella/gemella/gateway/server"
	"github.com/gemella/gemella/services/platform/apperr"
)

// TestEveryRouteAnswersOnlyItsOwnMethods: on every path of the API, each
// method the path does not have is a 405 with an Allow header naming the
// methods it has and the google.rpc.Status body, also sent as a form POST
// (what curl -d sends), which grpc-gateway once served as the GET.
func TestEveryRouteAnswersOnlyItsOwnMethods(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the services and the gateway")
	}
	a := startAPI(t)
	bindings, err := gateway.Bindings()
	if err != nil {
		t.Fatal(err)
	}
	// The gateway's own routes, which http.yaml does not list.
	bindings = append(bindings,
		gateway.Binding{Method: http.MethodGet, Template: "/v1/twinnings/{twinning_id}/reports/{id}/download"},
		gateway.Binding{Method: http.MethodGet, Template: "/v1/search"})
	methods := map[string][]string{}
	targets := map[string]string{}
	for _, b := range bindings {
		// {id} and {practice.id} are the same path.
		shape := pathVariable.ReplaceAllString(b.Template, "{}")
		methods[shape] = append(methods[shape], b.Method)
		if _, ok := targets[shape]; !ok {
			targets[shape] = a.fill(b, "", "")
		}
	}
	staff := map[string]string{"Authorization": "Bearer " + a.admin, "Content-Type": "application/x-www-form-urlencoded"}
	checked := 0
	for template, own := range methods {
		slices.Sort(own)
		wantAllow := strings.Join(own, ", ")
		for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
			if slices.Contains(own, m) {
				continue
			}
			checked++
			r := a.send(t, m, targets[template], "a=b", staff)
			if r.status != http.StatusMethodNotAllowed {
				t.Errorf("%s %s: %d, want 405; body %.200s", m, targets[template], r.status, r.body)
				continue
			}
			if got := r.header.Get("Allow"); got != wantAllow {
				t.Errorf("%s %s: Allow %q, want %q", m, targets[template], got, wantAllow)
			}
			var st spb.Status
			if err := protojson.Unmarshal(r.body, &st); err != nil {
				t.Errorf("%s %s: body is not a google.rpc.Status: %v: %s", m, targets[template], err, r.body)
				continue
			}
			reason := ""
			for _, d := range st.GetDetails() {
				if m, err := d.UnmarshalNew(); err == nil {
					if info, ok := m.(*errdetails.ErrorInfo); ok {
						reason = info.GetReason()
					}
				}
			}
			if codes.Code(st.GetCode()) != codes.Unimplemented || reason != string(apperr.ReasonMethodNotAllowed) {
				t.Errorf("%s %s: code %d reason %q, want 12 %s", m, targets[template], st.GetCode(), reason, apperr.ReasonMethodNotAllowed)
			}
		}
	}
	if checked < 150 {
		t.Fatalf("only %d requests", checked)
	}
	t.Logf("%d requests with a method their path does not have, over %d paths, each a 405", checked, len(methods))
}
