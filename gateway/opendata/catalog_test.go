package opendata

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// The catalogue parses as JSON, types a dcat:Dataset (and a
// dcatapit:Dataset) per table, and every distribution it names answers.
func TestTheCatalogueDescribesEveryTableAndItsDistributionsAnswer(t *testing.T) {
	base := startService(t, newFakes(t).backends())
	r := get(t, "GET", base+CatalogPath, nil)
	if r.status != 200 || r.header.Get("Content-Type") != "application/ld+json" {
		t.Fatalf("GET %s: %d %s", CatalogPath, r.status, r.header.Get("Content-Type"))
	}
	var cat map[string]any
	if err := json.Unmarshal([]byte(r.body), &cat); err != nil {
		t.Fatalf("the catalogue is not JSON: %v", err)
	}
	ctx, _ := cat["@context"].(map[string]any)
	for prefix, iri := range map[string]string{"dcat": "http://www.w3.org/ns/dcat#", "dct": "http://purl.org/dc/terms/", "dcatapit": "http://dati.gov.it/onto/dcatapit#"} {
		if ctx[prefix] != iri {
			t.Errorf("@context %s = %v, want %s", prefix, ctx[prefix], iri)
		}
	}
	if types := strings.Join(asStrings(cat["@type"]), " "); types != "dcat:Catalog dcatapit:Catalog" {
		t.Errorf("catalogue @type %q", types)
	}
	datasets, _ := cat["dcat:dataset"].([]any)
	var identifiers []string
	for _, d := range datasets {
		ds := d.(map[string]any)
		if types := asStrings(ds["@type"]); !slices.Contains(types, "dcat:Dataset") || !slices.Contains(types, "dcatapit:Dataset") {
			t.Errorf("dataset %v has @type %v", ds["dct:identifier"], types)
		}
		identifiers = append(identifiers, ds["dct:identifier"].(string))
		for _, key := range []string{"dct:title", "dct:description", "dct:publisher", "dct:rightsHolder", "dct:license", "dct:accrualPeriodicity", "dcat:theme", "dct:modified"} {
			if ds[key] == nil {
				t.Errorf("dataset %s has no %s", ds["dct:identifier"], key)
			}
		}
		if freq := ds["dct:accrualPeriodicity"].(map[string]any)["@id"]; freq != "http://publications.europa.eu/resource/authority/frequency/UPDATE_CONT" {
			t.Errorf("dataset %s frequency %v", ds["dct:identifier"], freq)
		}
		if lic := ds["dct:license"].(map[string]any)["@id"]; lic != licenceCCBY40 {
			t.Errorf("dataset %s licence %v, want CC BY 4.0", ds["dct:identifier"], lic)
		}
		dists, _ := ds["dcat:distribution"].([]any)
		if len(dists) != len(Formats) {
			t.Errorf("dataset %s has %d distributions, want %d", ds["dct:identifier"], len(dists), len(Formats))
		}
		for _, di := range dists {
			dist := di.(map[string]any)
			for _, key := range []string{"dcat:accessURL", "dcat:downloadURL"} {
				url := dist[key].(map[string]any)["@id"].(string)
				if !strings.HasPrefix(url, base+"/opendata/") {
					t.Errorf("%s %s is not under %s/opendata/", key, url, base)
				}
				if got := get(t, "GET", url, nil); got.status != 200 {
					t.Errorf("%s %s answers %d", key, url, got.status)
				}
			}
			for _, key := range []string{"dcat:mediaType", "dct:format", "dct:license"} {
				if dist[key] == nil {
					t.Errorf("a distribution of %s has no %s", ds["dct:identifier"], key)
				}
			}
		}
	}
	var want []string
	for _, info := range Tables() {
		want = append(want, "gemella:gemella-"+info.Name)
	}
	if !slices.Equal(identifiers, want) {
		t.Errorf("datasets %v, want one per table %v", identifiers, want)
	}
	if e := r.header.Get("ETag"); e == "" || get(t, "GET", base+CatalogPath, map[string]string{"If-None-Match": e}).status != 304 {
		t.Errorf("the catalogue's ETag %q does not answer a conditional request with 304", e)
	}
}

func TestTheCatalogueNamesTheConfiguredPublisherAndAddress(t *testing.T) {
	cfg := DefaultConfig()
	cfg.BaseURL, cfg.PublisherName, cfg.PublisherID, cfg.ContactEmail = "https://gemella.regione.example.it", "Regione Toscana", "r_toscan", "opendata@regione.example.it"
	s, err := New(cfg, newFakes(t).backends(), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(s.catalog("https://gemella.regione.example.it", nil))
	for _, want := range []string{`"foaf:name":"Regione Toscana"`, `"dct:identifier":"r_toscan:gemella-practices"`, `"@id":"https://gemella.regione.example.it/opendata/practices.csv"`, `"@id":"mailto:opendata@regione.example.it"`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("the catalogue lacks %s", want)
		}
	}
}

func asStrings(v any) []string {
	var out []string
	switch x := v.(type) {
	case string:
		out = append(out, x)
	case []any:
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
	}
	return out
}
