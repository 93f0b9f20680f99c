package opendata

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestJSONStringsRoundTrip(t *testing.T) {
	for _, s := range []string{
		"", "plain", `with "quotes" and \backslashes\`, "line\nbreak\r\ttab", "\x00\x01\x1f control",
		"accenti: perché è così", "emoji 🇮🇹", "<script>&</script>", "line\u2028separator\u2029", "bad \xff utf-8",
	} {
		b := appendJSONString(nil, s)
		var got string
		if err := json.Unmarshal(b, &got); err != nil {
			t.Errorf("%q encodes as %s, which is not JSON: %v", s, b, err)
			continue
		}
		want := strings.ToValidUTF8(s, "\ufffd")
		if got != want {
			t.Errorf("%q round-trips as %q", s, got)
		}
		if bytes.ContainsAny(b, "\n\r\u2028\u2029") {
			t.Errorf("%q encodes with a raw line break: %s", s, b)
		}
	}
}

func TestCSVFieldsRoundTrip(t *testing.T) {
	cols := []Column{col("a", String, "", ""), col("n", Integer, "", ""), col("b", Boolean, "", ""), col("t", DateTime, "", ""), col("d", Date, "", ""), col("l", List, "", "")}
	var buf bytes.Buffer
	enc := newCSVEncoder(&buf, len(cols))
	if err := enc.header(cols); err != nil {
		t.Fatal(err)
	}
	r := record{}
	r.text("virgole, \"virgolette\"\ne a capo")
	r.integer(-42)
	r.boolean(true)
	r.datetime(ts(time.Date(2024, 5, 1, 10, 30, 0, 123_000_000, time.FixedZone("CEST", 2*3600))))
	r.date("")
	r.list([]string{"x", "y"})
	if err := enc.row(r.vals); err != nil {
		t.Fatal(err)
	}
	if err := enc.flush(); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"virgole, \"virgolette\"\ne a capo", "-42", "true", "2024-05-01T08:30:00.123Z", "", "x|y"}
	if len(rows) != 2 || strings.Join(rows[1], "\x00") != strings.Join(want, "\x00") {
		t.Errorf("rows %q, want header and %q", rows, want)
	}
}

func TestConfigurationReportsEveryProblem(t *testing.T) {
	cfg := DefaultConfig()
	if err := cfg.Validate(); err != nil {
		t.Fatalf("the defaults do not validate: %v", err)
	}
	cfg.BaseURL, cfg.PublisherName, cfg.PublisherID, cfg.ContactEmail = "ftp://x/y", " ", "not an ipa code", "nobody"
	cfg.Frequency, cfg.ExportTimeout, cfg.CallTimeout, cfg.MaxExports, cfg.CacheTTL = "SOMETIMES", 0, 0, 0, -1
	err := cfg.Validate()
	if err == nil {
		t.Fatal("a bad configuration validated")
	}
	for _, name := range []string{"BASE_URL", "PUBLISHER_NAME", "PUBLISHER_ID", "CONTACT_EMAIL", "FREQUENCY", "EXPORT_TIMEOUT", "CALL_TIMEOUT", "MAX_EXPORTS", "CACHE_TTL"} {
		if !strings.Contains(err.Error(), "GEMELLA_OPENDATA_"+name) {
			t.Errorf("the error does not name GEMELLA_OPENDATA_%s: %v", name, err)
		}
	}
}
