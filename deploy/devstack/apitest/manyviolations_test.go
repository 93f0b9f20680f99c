package apitest

import (
	"encoding/json"
	"strings"
	"testing"
)

// A body well under the size limit can hold a hundred thousand bad list
// entries: the answer is a 400 of bounded size that says how many more
// problems it does not list, never a 500 (the violations overflowed the
// gRPC trailer between service and gateway) nor a 503 (the connection
// was torn down), with or without a token.
func TestThousandsOfBadEntriesAnswerABounded400(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the services and the gateway")
	}
	a := startAPI(t)
	org := a.ids["organization"]
	themes, _ := json.Marshal(strings.Split(strings.Repeat("t,", 150000), ",")[:150000])
	var models strings.Builder
	models.WriteString("[")
	for i := range 100000 {
		if i > 0 {
			models.WriteString(",")
		}
		models.WriteString("{}")
	}
	models.WriteString("]")
	bodies := map[string]string{
		"150,000 duplicate themes": `{"title":"a","owner_organization_ids":["` + org + `"],"themes":` + string(themes) + `}`,
		"100,000 empty models":     `{"title":"a","owner_organization_ids":["` + org + `"],"models":` + models.String() + `}`,
	}
	for name, body := range bodies {
		for _, token := range []string{"", a.admin} {
			header := map[string]string{}
			if token != "" {
				header["Authorization"] = "Bearer " + token
			}
			r := a.send(t, "POST", "/v1/practices", body, header)
			if r.status != 400 {
				t.Errorf("%s (token %v): %d %.300s", name, token != "", r.status, r.body)
				continue
			}
			if len(r.body) > 64<<10 {
				t.Errorf("%s: a 400 of %d bytes", name, len(r.body))
			}
			if !strings.Contains(messageEnd(r.body), " more") || !strings.Contains(string(r.body), "unlisted_violations") {
				t.Errorf("%s: the answer does not say how many problems it leaves out: listed=%v unlisted=%v %s", name, strings.Contains(messageEnd(r.body), " more"), strings.Contains(string(r.body), "unlisted_violations"), messageEnd(r.body))
			}
		}
	}
}

func messageEnd(body []byte) string {
	var st struct {
		Message string `json:"message"`
	}
	_ = json.Unmarshal(body, &st)
	return st.Message[max(0, len(st.Message)-200):]
}
