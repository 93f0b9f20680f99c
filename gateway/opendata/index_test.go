package opendata

import (
	"strings"
	"testing"
)

func TestTheIndexDocumentsEveryTableInTheVisitorsLanguage(t *testing.T) {
	base := startService(t, newFakes(t).backends())
	for _, tc := range []struct {
		name   string
		url    string
		header map[string]string
		lang   string
		words  []string
	}{
		{"Italian by default", base + "/opendata/", nil, "it", []string{"Dati aperti", "Buone pratiche", "Si collega a"}},
		{"the portal's language cookie", base + "/opendata/", map[string]string{"Cookie": "gemella_lang=en"}, "en", []string{"Open data", "Good practices", "Joins to"}},
		{"?lang= over the cookie", base + "/opendata/?lang=it", map[string]string{"Cookie": "gemella_lang=en"}, "it", []string{"Dati aperti"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := get(t, "GET", tc.url, tc.header)
			if r.status != 200 || r.header.Get("Content-Language") != tc.lang || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
				t.Fatalf("%d, Content-Language %q, Content-Type %q", r.status, r.header.Get("Content-Language"), r.header.Get("Content-Type"))
			}
			for _, w := range append(tc.words, "CC BY 4.0", LicenseURL, CatalogPath) {
				if !strings.Contains(r.body, w) {
					t.Errorf("the page lacks %q", w)
				}
			}
			for _, info := range Tables() {
				for _, f := range Formats {
					if !strings.Contains(r.body, `href="`+info.Path(f)+`"`) {
						t.Errorf("no link to %s", info.Path(f))
					}
				}
				for _, c := range info.Columns {
					if !strings.Contains(r.body, "<code>"+c.Name+"</code>") {
						t.Errorf("table %s: column %s is not documented", info.Name, c.Name)
					}
				}
			}
		})
	}
}

// Every column says what it means, in both languages.
func TestEveryColumnIsDescribed(t *testing.T) {
	for _, info := range Tables() {
		if info.Title.IT == "" || info.Title.EN == "" || info.Description.IT == "" || info.Description.EN == "" || info.Order.IT == "" || len(info.Themes) == 0 {
			t.Errorf("table %s lacks a title, description, order or theme", info.Name)
		}
		names := map[string]bool{}
		for _, c := range info.Columns {
			if c.Description.IT == "" || c.Description.EN == "" || c.Kind.Describe("it") == "" {
				t.Errorf("%s.%s is not described", info.Name, c.Name)
			}
			if names[c.Name] {
				t.Errorf("%s has two columns %s", info.Name, c.Name)
			}
			names[c.Name] = true
		}
		for _, k := range info.Key {
			if !names[k] {
				t.Errorf("%s: key column %s does not exist", info.Name, k)
			}
		}
	}
}
