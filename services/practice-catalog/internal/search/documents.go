package search

import (
	"fmt"
	"strings"

	"google.golang.org/protobuf/proto"

	catalogv1 "github.com/gemella/gemella/proto/gemella/catalog/v1"
	"github.com/gemella/gemella/services/platform/markdown"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/matching"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/need"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/practice"
	"github.com/gemella/gemella/services/practice-catalog/internal/protoconv"
)

// Document ids carry their kind, so a practice and a need never collide.
func practiceDocID(id string) string { return "p:" + id }
func needDocID(id string) string     { return "n:" + id }

// versionKey stores the version of an organisation the index knows: an
// older event changes nothing.
func versionKey(docID string) []byte { return []byte("v:" + docID) }

// orgKindKey stores an organisation's kind, which a practice's owner-kind
// facet needs.
func orgKindKey(id string) []byte { return []byte("org:" + id) }
func orgDocID(id string) string   { return "o:" + id }

// practiceTexts are the texts of a practice that search reads and
// highlights, by field name as the API calls them. The description, the
// problem, the results and the models' descriptions are Markdown, shown
// rendered: search reads their words (markdown.Text), so that a hit's
// snippet reads as the page does, without asterisks or link addresses.
func practiceTexts(p *practice.Practice) []namedText {
	var models []string
	for _, m := range p.Models {
		models = append(models, strings.TrimSpace(m.Code+" "+m.Title+"\n"+markdown.Text(m.Description)))
	}
	return []namedText{
		{"title", p.Title}, {"summary", p.Summary}, {"models", strings.Join(models, "\n\n")},
		{"problem", markdown.Text(p.Problem)}, {"description", markdown.Text(p.Description)}, {"results", markdown.Text(p.Results)},
	}
}

// needTexts are the texts of a need; its problem is Markdown.
func needTexts(n *need.Need) []namedText {
	return []namedText{{"title", n.Title}, {"problem", markdown.Text(n.Problem)}}
}

type namedText struct{ field, text string }

// leadAndText joins the texts into the two indexed fields: the lead is
// the title, the summary and the models' titles.
func leadAndText(texts []namedText, lead ...string) (string, string) {
	var l, all []string
	for _, t := range texts {
		if t.text == "" {
			continue
		}
		all = append(all, t.text)
		for _, f := range lead {
			if f == t.field {
				l = append(l, t.text)
			}
		}
	}
	return strings.Join(l, "\n"), strings.Join(all, "\n\n")
}

// practiceDoc is what the index keeps of a published practice.
func practiceDoc(p *practice.Practice, ownerKinds []string) (map[string]interface{}, error) {
	lang := languageOf(first(p.Languages))
	var modelTitles []string
	for _, m := range p.Models {
		modelTitles = append(modelTitles, m.Title)
	}
	lead, text := leadAndText(practiceTexts(p), "title", "summary")
	lead = strings.TrimSpace(lead + "\n" + strings.Join(modelTitles, "\n"))
	doc := map[string]interface{}{
		fieldKind:       kindPractice,
		fieldThemes:     p.Themes,
		fieldSectors:    p.Sectors,
		fieldThemeKeys:  foldLabels(p.Themes),
		fieldSectorKeys: foldLabels(p.Sectors),
		fieldOwnerIDs:   p.OwnerOrganizationIDs,
		fieldSortTime:   float64(p.PublishedAt.Unix()),
		textFieldOf(kindPractice, fieldLead, lang): lead,
		textFieldOf(kindPractice, fieldText, lang): text,
	}
	if len(ownerKinds) > 0 {
		doc[fieldOwnerKind] = ownerKinds
	}
	if p.Territory.Code != "" {
		doc[fieldTerritory] = p.Territory.Code
	}
	doc[fieldFacets] = facetValues(p.Themes, p.Sectors, p.Territory.Code, ownerKinds)
	src, err := encodeSource(protoconv.Practice(p))
	if err != nil {
		return nil, fmt.Errorf("index practice %s: %w", p.ID, err)
	}
	doc[fieldSource] = src
	return doc, nil
}

// needDoc is what the index keeps of an open need.
func needDoc(n *need.Need) (map[string]interface{}, error) {
	lang := languageOf(n.Language)
	lead, text := leadAndText(needTexts(n), "title")
	doc := map[string]interface{}{
		fieldKind:                              kindNeed,
		fieldThemes:                            n.Themes,
		fieldSectors:                           n.Sectors,
		fieldThemeKeys:                         foldLabels(n.Themes),
		fieldSectorKeys:                        foldLabels(n.Sectors),
		fieldOwnerIDs:                          []string{n.OrganizationID},
		fieldSortTime:                          float64(n.CreatedAt.Unix()),
		textFieldOf(kindNeed, fieldLead, lang): lead,
		textFieldOf(kindNeed, fieldText, lang): text,
	}
	if n.Territory.Code != "" {
		doc[fieldTerritory] = n.Territory.Code
	}
	doc[fieldFacets] = facetValues(n.Themes, n.Sectors, n.Territory.Code, nil)
	src, err := encodeSource(protoconv.Need(n))
	if err != nil {
		return nil, fmt.Errorf("index need %s: %w", n.ID, err)
	}
	doc[fieldSource] = src
	return doc, nil
}

// encodeSource is the stored source of a document: its protobuf bytes,
// kept as they are (a field that is stored and not indexed is never
// analysed, so it may hold any bytes).
func encodeSource(m proto.Message) (string, error) {
	b, err := proto.Marshal(m)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

func decodeSource(fields map[string]interface{}, into proto.Message) error {
	s, ok := fields[fieldSource].(string)
	if !ok {
		return fmt.Errorf("document has no stored source")
	}
	return decodeSourceBytes([]byte(s), into)
}

func decodeSourceBytes(b []byte, into proto.Message) error {
	if len(b) == 0 {
		return fmt.Errorf("document has no stored source")
	}
	if err := proto.Unmarshal(b, into); err != nil {
		return fmt.Errorf("stored source: %w", err)
	}
	return nil
}

func practiceFromSource(fields map[string]interface{}) (*practice.Practice, error) {
	var m catalogv1.Practice
	if err := decodeSource(fields, &m); err != nil {
		return nil, err
	}
	return protoconv.PracticeFromMessage(&m), nil
}

func practiceFromBytes(b []byte) (*practice.Practice, error) {
	var m catalogv1.Practice
	if err := decodeSourceBytes(b, &m); err != nil {
		return nil, err
	}
	return protoconv.PracticeFromMessage(&m), nil
}

func needFromSource(fields map[string]interface{}) (*need.Need, error) {
	var m catalogv1.Need
	if err := decodeSource(fields, &m); err != nil {
		return nil, err
	}
	return protoconv.NeedFromMessage(&m), nil
}

func needFromBytes(b []byte) (*need.Need, error) {
	var m catalogv1.Need
	if err := decodeSourceBytes(b, &m); err != nil {
		return nil, err
	}
	return protoconv.NeedFromMessage(&m), nil
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

func foldLabels(labels []string) []string {
	out := make([]string, len(labels))
	for i, l := range labels {
		out[i] = matching.FoldLabel(l)
	}
	return out
}

// facetSep joins a facet's name and value in fieldFacets.
const facetSep = "\x1f"

func facetValues(themes, sectors []string, territory string, ownerKinds []string) []string {
	var out []string
	add := func(facet string, values ...string) {
		for _, v := range values {
			if v != "" {
				out = append(out, facet+facetSep+v)
			}
		}
	}
	add("theme", themes...)
	add("sector", sectors...)
	add("territory", territory)
	add("owner_kind", ownerKinds...)
	return out
}
