package portal

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"
)

// The live feed shows an approved report in words: its kind in the label,
// the quarter (or words) in the link, in either language; portal.js
// listens to the event and picks the label by the report's kind.
func TestTheLiveFeedSaysAReportWasApproved(t *testing.T) {
	want := map[Lang]map[string]string{
		Italian: {"twinning.report": "Relazione approvata", "twinning.report.quarterly": "Relazione trimestrale approvata",
			"twinning.report.final": "Relazione finale approvata", "twinning.report.open": "apri la relazione"},
		English: {"twinning.report": "Report approved", "twinning.report.quarterly": "Quarterly report approved",
			"twinning.report.final": "Final report approved", "twinning.report.open": "open the report"},
	}
	checkLiveLabels(t, want)
	js, err := os.ReadFile("static/portal.js")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{`"twinning.report.approved"`, `labels[kind + "." + ev.summary]`, `labels["twinning.report.open"]`} {
		if !strings.Contains(string(js), s) {
			t.Errorf("portal.js does not have %s", s)
		}
	}
	if strings.Contains(string(js), `"twinning.report.submitted"`) || strings.Contains(string(js), `"twinning.report.created"`) {
		t.Error("portal.js listens to a report event that is never public")
	}
}

// A transfer's line in the live feed says its model and new status in
// words (portal.js reads them from the event's model_code and status).
func TestTheLiveFeedSaysATransfersStatusInWords(t *testing.T) {
	want := map[Lang]map[string]string{
		Italian: {"twinning.transfer.model": "modello", "twinning.transfer.TRANSFER_STATUS_ADOPTED": "adottato", "twinning.transfer.TRANSFER_STATUS_IN_PROGRESS": "in corso"},
		English: {"twinning.transfer.model": "model", "twinning.transfer.TRANSFER_STATUS_ADOPTED": "adopted", "twinning.transfer.TRANSFER_STATUS_DROPPED": "dropped"},
	}
	checkLiveLabels(t, want)
}

// checkLiveLabels compares the live feed's labels of each language with want.
func checkLiveLabels(t *testing.T, want map[Lang]map[string]string) {
	t.Helper()
	for lang, labels := range want {
		var got map[string]string
		if err := json.Unmarshal([]byte(newLocale(lang, time.Now).LiveLabels()), &got); err != nil {
			t.Fatal(err)
		}
		for k, v := range labels {
			if got[k] != v {
				t.Errorf("%s: label %s is %q, want %q", lang, k, got[k], v)
			}
		}
	}
}
