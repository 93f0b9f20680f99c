package opendata

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
)

// The DCAT-AP_IT profile (https://docs.italia.it/italia/daf/linee-guida-cataloghi-dati-dcat-ap-it/)
// on top of DCAT-AP: a catalogue, one dataset per table, one distribution
// per format. Classes are typed twice, dcat:X and dcatapit:X, as the
// profile asks; the controlled vocabularies are the EU ones (data themes,
// frequency, file types, languages) and the Italian licences vocabulary.
const (
	euThemes      = "http://publications.europa.eu/resource/authority/data-theme"
	euFrequency   = "http://publications.europa.eu/resource/authority/frequency/"
	euFileType    = "http://publications.europa.eu/resource/authority/file-type/"
	euLanguageITA = "http://publications.europa.eu/resource/authority/language/ITA"
	euCountryITA  = "http://publications.europa.eu/resource/authority/country/ITA"
	ianaMediaType = "https://www.iana.org/assignments/media-types/"
	// licenceCCBY40 is CC BY 4.0 in the licences vocabulary of the Italian
	// public administration (OntoPiA).
	licenceCCBY40 = "https://w3id.org/italia/controlled-vocabulary/licences/A21_CCBY40"
)

var jsonLDContext = map[string]string{
	"dcat":     "http://www.w3.org/ns/dcat#",
	"dct":      "http://purl.org/dc/terms/",
	"dcatapit": "http://dati.gov.it/onto/dcatapit#",
	"foaf":     "http://xmlns.com/foaf/0.1/",
	"vcard":    "http://www.w3.org/2006/vcard/ns#",
	"xsd":      "http://www.w3.org/2001/XMLSchema#",
	"rdfs":     "http://www.w3.org/2000/01/rdf-schema#",
	"cnt":      "http://www.w3.org/2011/content#",
}

// obj is a JSON-LD node; encoding/json writes its keys sorted, so
// "@context", "@id" and "@type" come first and the document is stable.
type obj = map[string]any

func iri(s string) obj { return obj{"@id": s} }

func texts(t Text) []obj {
	return []obj{{"@language": "it", "@value": t.IT}, {"@language": "en", "@value": t.EN}}
}

func dateTime(t time.Time) obj {
	return obj{"@type": "xsd:dateTime", "@value": t.UTC().Format(time.RFC3339)}
}

// distributionFormats are the catalogue's facts about each format. JSON
// Lines has neither an EU file type nor a registered media type: it is
// described as JSON, with the media type jsonlines.org proposes.
var distributionFormats = map[Format]struct {
	fileType, mediaType string
	name                Text
}{
	CSV:   {fileType: "CSV", mediaType: "text/csv", name: Text{IT: "CSV (UTF-8, separatore virgola, riga di intestazione)", EN: "CSV (UTF-8, comma-separated, header row)"}},
	JSONL: {fileType: "JSON", mediaType: "application/jsonl", name: Text{IT: "JSON Lines (un oggetto JSON per riga)", EN: "JSON Lines (one JSON object per line)"}},
}

// baseURL is where the catalogue's links point.
func (s *Service) baseURL(r *http.Request) string {
	if s.cfg.BaseURL != "" {
		return strings.TrimSuffix(s.cfg.BaseURL, "/")
	}
	scheme := "http"
	if r.TLS != nil || (s.cfg.TrustForwardedProto && strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")) {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// modifiedTimes are the tables' last changes, by table name; a table whose
// service cannot be read is left out (and so has no dct:modified).
func (s *Service) modifiedTimes(ctx context.Context) map[string]time.Time {
	var stats ExportStats
	x := s.run(&stats)
	bySource := map[string]summary{}
	failed := map[string]bool{}
	out := map[string]time.Time{}
	for _, t := range tables {
		name := t.sourceName()
		if !t.available(s.b) || failed[name] {
			continue
		}
		sum, ok := bySource[name]
		if !ok {
			var err error
			if sum, err = t.summarize(ctx, x, s.cache); err != nil {
				s.logger.WarnContext(ctx, "open data catalogue: a list could not be read", slog.String("list", name), slog.Any("err", err))
				failed[name] = true
				continue
			}
			bySource[name] = sum
		}
		if !sum.modified.IsZero() {
			out[t.Info().Name] = sum.modified
		}
	}
	return out
}

// catalog builds the DCAT-AP_IT catalogue.
func (s *Service) catalog(base string, modified map[string]time.Time) obj {
	agent := obj{"@type": []string{"foaf:Agent", "dcatapit:Agent"}, "foaf:name": s.cfg.PublisherName, "dct:identifier": s.cfg.PublisherID}
	licence := obj{
		"@id":          licenceCCBY40,
		"@type":        []string{"dct:LicenseDocument", "dcatapit:LicenseDocument"},
		"dct:type":     iri("http://purl.org/adms/licencetype/Attribution"),
		"foaf:name":    texts(Text{IT: "Creative Commons Attribuzione 4.0 Internazionale (CC BY 4.0)", EN: "Creative Commons Attribution 4.0 International (CC BY 4.0)"}),
		"rdfs:seeAlso": iri(LicenseURL),
	}
	var contact obj
	if s.cfg.ContactEmail != "" {
		contact = obj{"@type": []string{"vcard:Organization", "dcatapit:Organization"}, "vcard:fn": s.cfg.PublisherName, "vcard:hasEmail": iri("mailto:" + s.cfg.ContactEmail)}
	}
	var newest time.Time
	var datasets []obj
	for _, t := range tables {
		info := t.Info()
		landing := base + Prefix + "#" + info.Name
		var dists []obj
		for _, f := range Formats {
			url := base + info.Path(f)
			df := distributionFormats[f]
			d := obj{
				"@id":                   url,
				"@type":                 []string{"dcat:Distribution", "dcatapit:Distribution"},
				"dct:title":             texts(Text{IT: info.Title.IT + " — " + df.name.IT, EN: info.Title.EN + " — " + df.name.EN}),
				"dct:description":       texts(Text{IT: "La tabella " + info.Name + " in " + df.name.IT + ". Colonne documentate su " + base + Prefix + ".", EN: "The " + info.Name + " table in " + df.name.EN + ". Columns documented at " + base + Prefix + "."}),
				"dcat:accessURL":        iri(url),
				"dcat:downloadURL":      iri(url),
				"dcat:mediaType":        iri(ianaMediaType + df.mediaType),
				"dct:format":            iri(euFileType + df.fileType),
				"dct:license":           licence,
				"cnt:characterEncoding": "UTF-8",
			}
			if m, ok := modified[info.Name]; ok {
				d["dct:modified"] = dateTime(m)
			}
			dists = append(dists, d)
		}
		var themes []obj
		for _, th := range info.Themes {
			themes = append(themes, iri(euThemes+"/"+th))
		}
		ds := obj{
			"@id":                    landing,
			"@type":                  []string{"dcat:Dataset", "dcatapit:Dataset"},
			"dct:identifier":         s.cfg.PublisherID + ":gemella-" + info.Name,
			"dct:title":              texts(info.Title),
			"dct:description":        texts(info.Description),
			"dct:publisher":          agent,
			"dct:rightsHolder":       agent,
			"dct:license":            licence,
			"dct:accrualPeriodicity": iri(euFrequency + s.cfg.Frequency),
			"dcat:theme":             themes,
			// The texts are the administrations' own, in Italian; only
			// the column names are English.
			"dct:language":      iri(euLanguageITA),
			"dct:spatial":       iri(euCountryITA),
			"dcat:keyword":      info.Keywords,
			"dcat:landingPage":  iri(landing),
			"dcat:distribution": dists,
		}
		if contact != nil {
			ds["dcat:contactPoint"] = contact
		}
		if m, ok := modified[info.Name]; ok {
			ds["dct:modified"] = dateTime(m)
			if m.After(newest) {
				newest = m
			}
		}
		datasets = append(datasets, ds)
	}
	c := obj{
		"@context":           jsonLDContext,
		"@id":                base + CatalogPath,
		"@type":              []string{"dcat:Catalog", "dcatapit:Catalog"},
		"dct:title":          texts(Text{IT: "Dati aperti di Gemella", EN: "Gemella open data"}),
		"dct:description":    texts(Text{IT: "Le organizzazioni, le buone pratiche e i loro modelli, i gemellaggi con i trasferimenti e i loro esiti, l'adozione, le richieste e le offerte aperte e le storie pubblicate sulla piattaforma Gemella. Licenza CC BY 4.0.", EN: "The organisations, good practices and their models, twinnings with their transfers and outcomes, adoption figures, open needs and offers, and published stories of the Gemella platform. Licence CC BY 4.0."}),
		"dct:publisher":      agent,
		"dct:language":       iri(euLanguageITA),
		"foaf:homepage":      iri(base + Prefix),
		"dcat:themeTaxonomy": iri(euThemes),
		"dcat:dataset":       datasets,
	}
	if !newest.IsZero() {
		c["dct:modified"] = dateTime(newest)
	}
	return c
}

func (s *Service) serveCatalog(w http.ResponseWriter, r *http.Request) {
	release, ok := s.acquire(w, r)
	if !ok {
		return
	}
	defer release()
	ctx, cancel := context.WithTimeout(anonymous(r.Context()), s.cfg.ExportTimeout)
	defer cancel()
	modified := s.modifiedTimes(ctx)
	body, err := json.MarshalIndent(s.catalog(s.baseURL(r), modified), "", "  ")
	if err != nil {
		s.logger.ErrorContext(ctx, "open data catalogue", slog.Any("err", err))
		s.writeError(w, r, http.StatusInternalServerError, codes.Internal, "the catalogue could not be written")
		return
	}
	body = append(body, '\n')
	sum := sha256.Sum256(body)
	h := w.Header()
	h.Set("ETag", `"`+base64.RawURLEncoding.EncodeToString(sum[:18])+`"`)
	var newest time.Time
	for _, m := range modified {
		if m.After(newest) {
			newest = m
		}
	}
	if !newest.IsZero() {
		h.Set("Last-Modified", newest.UTC().Format(http.TimeFormat))
	}
	h.Set("Cache-Control", "public, no-cache")
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Link", licenseLink)
	if notModified(r, h.Get("ETag"), newest) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", "application/ld+json")
	h.Set("X-Content-Type-Options", "nosniff")
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(body)
}
