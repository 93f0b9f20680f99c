package browsertest

import (
	"strings"
	"testing"

	"github.com/gemella/gemella/deploy/devstack/demo"
)

// The home page's live feed says what became of a transfer, in words and
// in the reader's language: which model, and its new status. Calabria's
// editor starts the planned model C of Tos.Ca. from the API while the
// page is open.
func TestTheLiveFeedSaysWhatBecameOfATransfer(t *testing.T) {
	tb := newTab(t)
	tb.visit("/")
	tb.waitFor("the live feed to connect", `document.getElementById("live-feed").getAttribute("data-live") === "open"`)

	editor := apiLogIn(t, "editor.calabria@demo.gemella.test", demo.AccountPassword)
	var tw struct {
		ID        string `json:"id"`
		Transfers []struct {
			ID        string `json:"id"`
			ModelCode string `json:"model_code"`
			Status    string `json:"status"`
		} `json:"transfers"`
	}
	api(t, "GET", "/v1/twinnings/"+demo.TosCaCode, "", nil, &tw)
	var transfer string
	for _, tr := range tw.Transfers {
		if tr.ModelCode == "C" && tr.Status == "TRANSFER_STATUS_PLANNED" {
			transfer = tr.ID
		}
	}
	if transfer == "" {
		tb.fatalf("Tos.Ca. has no planned model C: %+v", tw.Transfers)
	}
	api(t, "PATCH", "/v1/twinnings/"+tw.ID+"/transfers/"+transfer, editor.Token,
		map[string]any{"transfer": map[string]any{"status": "TRANSFER_STATUS_IN_PROGRESS"}, "note": "Avviato dopo il comitato."}, nil)

	tb.waitFor("the transfer in the live feed", `(document.getElementById("live-events").textContent || "").includes("modello C: in corso")`)
	line := tb.text("#live-events li")
	if !strings.Contains(line, "Trasferimento") || strings.Contains(line, "in_progress") || strings.Contains(line, "TRANSFER_STATUS") {
		tb.errorf("the live line reads %q", line)
	}
	tb.screenshot("live-transfer")
}
