package portal

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"golang.org/x/text/feature/plural"
	"golang.org/x/text/language"

	catalogv1 "github.com/gemella/gemella/proto/gemella/catalog/v1"
	twinningv1 "github.com/gemella/gemella/proto/gemella/twinning/v1"
)

// The lineage of a practice on its page: where it comes from (the
// practices whose models it adapts), where it went (the practices that
// adapt its models, as a tree), the organisations that received its models
// grouped by region, and, for an editor of an organisation that adopted a
// model, the way to write its own version ("Crea la tua versione"): the
// new-practice form prefilled from the model, which declares the
// adaptation.

//go:embed fragments/lineage.html
var lineageFS embed.FS

var lineageTemplate = template.Must(template.New("lineage").Funcs(templateFuncs).ParseFS(lineageFS, "fragments/lineage.html"))

func init() {
	addMessages(Italian, italian, lineageItalian)
	addMessages(English, english, lineageEnglish)
	ruleWords = append(ruleWords, lineageRuleWords...)
	practiceLabels["adapts"] = "lineage.f.adapts"
	practiceLabels["adapts[]"] = "lineage.f.adapts_n"
	practiceLabels["adapts[].practice_id"] = "lineage.f.adapts_practice"
	practiceLabels["adapts[].model_code"] = "manage.f.model_code"
	practiceLabels["adapts[].twinning_id"] = "lineage.f.adapts_twinning"
}

// addMessages adds a feature's messages to a language's table and to the
// catalogue, which is loaded before the init functions run.
func addMessages(lang Lang, into, table messages) {
	tag := language.Make(string(lang))
	for id, m := range table {
		into[id] = m
		var err error
		switch m := m.(type) {
		case string:
			err = portalCatalogue.SetString(tag, id, m)
		case forms:
			err = portalCatalogue.Set(tag, id, plural.Selectf(1, "%d", plural.One, m.One, plural.Other, m.Other))
		default:
			err = fmt.Errorf("%T is neither a string nor forms", m)
		}
		if err != nil {
			panic(fmt.Sprintf("portal: load message %s (%s): %v", id, lang, err))
		}
	}
}

var lineageRuleWords = []pattern{
	{rx(`must not be the practice itself: a practice cannot adapt its own model`), msg("rule.adapt_self")},
	{rx(`would form a cycle: that practice already adapts this one, directly or through others`), msg("rule.adapt_cycle")},
}

var lineageItalian = messages{
	"lineage.title":                "Da dove viene e dove è andata",
	"lineage.comes_from":           "Da dove viene",
	"lineage.went_to":              "Dove è andata",
	"lineage.this":                 "questa buona pratica",
	"lineage.none":                 "Questa buona pratica non adatta modelli di altre e nessuna la adatta ancora.",
	"lineage.no_ancestors":         "Non adatta modelli di altre buone pratiche.",
	"lineage.no_descendants":       "Nessuna amministrazione ne ha ancora pubblicato una propria versione.",
	"lineage.adapts_one":           "adatta il modello %s",
	"lineage.adapts_many":          "adatta i modelli %s",
	"lineage.descendant_adoptions": forms{"%d adozione delle versioni derivate (seconda generazione e oltre)", "%d adozioni delle versioni derivate (seconda generazione e oltre)"},
	"lineage.truncated":            "La genealogia è più ampia di quanto mostrato.",
	"lineage.tree_label":           "Albero delle versioni derivate",
	"travel.title":                 "Dove ha viaggiato",
	"travel.none":                  "I suoi modelli non sono ancora stati trasferiti.",
	"travel.other":                 "Altri territori",
	"travel.models_one":            "modello %s",
	"travel.models_many":           "modelli %s",
	"travel.orgs":                  forms{"%d amministrazione", "%d amministrazioni"},
	"adapt.title":                  "Crea la tua versione",
	"adapt.offer":                  "%s ha adottato il modello %s: crea la tua versione",
	"adapt.button":                 "Crea la tua versione del modello %s",
	"lineage.form.adapts":          "Questa nuova buona pratica adatta il modello %s di «%s»: il modulo è già compilato con il modello, da rivedere e completare.",
	"lineage.f.adapts":             "Modelli adattati",
	"lineage.f.adapts_n":           "Modello adattato %d",
	"lineage.f.adapts_practice":    "buona pratica di origine",
	"lineage.f.adapts_twinning":    "gemellaggio",
	"rule.adapt_self":              "Una buona pratica non può adattare un proprio modello.",
	"rule.adapt_cycle":             "Quella buona pratica deriva già da questa: la genealogia non può chiudersi su se stessa.",
}

var lineageEnglish = messages{
	"lineage.title":                "Where it comes from and where it went",
	"lineage.comes_from":           "Where it comes from",
	"lineage.went_to":              "Where it went",
	"lineage.this":                 "this practice",
	"lineage.none":                 "This practice adapts no model of another, and none adapts it yet.",
	"lineage.no_ancestors":         "It adapts no model of another practice.",
	"lineage.no_descendants":       "No administration has published its own version yet.",
	"lineage.adapts_one":           "adapts model %s",
	"lineage.adapts_many":          "adapts models %s",
	"lineage.descendant_adoptions": forms{"%d adoption of the derived versions (second generation and beyond)", "%d adoptions of the derived versions (second generation and beyond)"},
	"lineage.truncated":            "The lineage is larger than what is shown.",
	"lineage.tree_label":           "Tree of the derived versions",
	"travel.title":                 "Where it travelled",
	"travel.none":                  "Its models have not been transferred yet.",
	"travel.other":                 "Other territories",
	"travel.models_one":            "model %s",
	"travel.models_many":           "models %s",
	"travel.orgs":                  forms{"%d administration", "%d administrations"},
	"adapt.title":                  "Write your own version",
	"adapt.offer":                  "%s adopted model %s: write your own version",
	"adapt.button":                 "Write your own version of model %s",
	"lineage.form.adapts":          "This new practice adapts model %s of “%s”: the form is filled in from the model, to review and complete.",
	"lineage.f.adapts":             "Adapted models",
	"lineage.f.adapts_n":           "Adapted model %d",
	"lineage.f.adapts_practice":    "practice of origin",
	"lineage.f.adapts_twinning":    "twinning",
	"rule.adapt_self":              "A practice cannot adapt one of its own models.",
	"rule.adapt_cycle":             "That practice already derives from this one: the lineage cannot loop back on itself.",
}

// nuts2Regions are Italy's regions (and autonomous provinces) by their
// NUTS 2 code, the prefix of every NUTS code inside them.
var nuts2Regions = map[string]string{
	"ITC1": "Piemonte", "ITC2": "Valle d'Aosta", "ITC3": "Liguria", "ITC4": "Lombardia",
	"ITH1": "Provincia autonoma di Bolzano", "ITH2": "Provincia autonoma di Trento", "ITH3": "Veneto",
	"ITH4": "Friuli-Venezia Giulia", "ITH5": "Emilia-Romagna",
	"ITI1": "Toscana", "ITI2": "Umbria", "ITI3": "Marche", "ITI4": "Lazio",
	"ITF1": "Abruzzo", "ITF2": "Molise", "ITF3": "Campania", "ITF4": "Puglia", "ITF5": "Basilicata", "ITF6": "Calabria",
	"ITG1": "Sicilia", "ITG2": "Sardegna",
}

// regionOf is the region an organisation lies in: from its NUTS code,
// else from the organisation it is part of (a municipality's region),
// else its own territory when it is a region; "" when unknown.
func regionOf(orgs orgNames, id string) string {
	for range 4 {
		o, ok := orgs[id]
		if !ok {
			return ""
		}
		code := strings.ToUpper(o.GetTerritory().GetCode())
		if len(code) >= 4 {
			if name, ok := nuts2Regions[code[:4]]; ok {
				return name
			}
		}
		if o.GetParentId() == "" {
			if o.GetKind() == catalogv1.OrganizationKind_ORGANIZATION_KIND_REGION {
				return o.GetTerritory().GetName()
			}
			return ""
		}
		id = o.GetParentId()
	}
	return ""
}

type lineageNode struct {
	P        *catalogv1.LineagePractice
	Owners   string
	Via      string
	Children []*lineageNode
}

type travelOrg struct {
	Name string
	// Models names the models it received, in words.
	Models string
}

type travelRegion struct {
	Name string
	Orgs []travelOrg
}

type adaptOffer struct {
	URL   string
	Org   string
	Model string
}

type lineageView struct {
	L           *locale
	Practice    *catalogv1.Practice
	Down        string
	Ancestors   []*lineageNode
	Descendants []*lineageNode
	// Via is what the practice itself adapts, in words.
	Via       string
	Adoptions int32
	Truncated bool
	Regions   []travelRegion
	Offers    []adaptOffer
}

// getLineage asks the catalogue for the practice's lineage.
func (p *Portal) getLineage(r *http.Request, id string) section[*catalogv1.PracticeLineage] {
	ctx, cancel := p.call(r)
	defer cancel()
	l, err := p.b.Catalog.GetPracticeLineage(ctx, &catalogv1.GetPracticeLineageRequest{Id: id})
	if err != nil {
		return section[*catalogv1.PracticeLineage]{Down: p.sectionError(r, err)}
	}
	return section[*catalogv1.PracticeLineage]{Items: l}
}

// lineageSection renders the lineage, the travels and the offers to adapt.
func (p *Portal) lineageSection(r *http.Request, pr *catalogv1.Practice, l section[*catalogv1.PracticeLineage], orgs orgNames, twinnings []*twinningv1.Twinning) template.HTML {
	v := visitOf(r)
	view := lineageView{L: v.L, Practice: pr, Down: l.Down}
	owners := func(ids []string) string {
		names := make([]string, 0, len(ids))
		for _, id := range ids {
			if o, ok := orgs[id]; ok {
				names = append(names, o.GetName())
			}
		}
		return strings.Join(names, ", ")
	}
	if lin := l.Items; lin != nil {
		view.Adoptions, view.Truncated = lin.GetDescendantAdoptions(), lin.GetTruncated()
		titles := map[string]string{lin.GetPractice().GetId(): lin.GetPractice().GetTitle()}
		for _, a := range lin.GetAncestors() {
			titles[a.GetId()] = a.GetTitle()
		}
		for _, d := range lin.GetDescendants() {
			titles[d.GetId()] = d.GetTitle()
		}
		via := func(lp *catalogv1.LineagePractice, parent string) string {
			var codes []string
			for _, a := range lp.GetAdapts() {
				if parent == "" || a.GetPracticeId() == parent {
					codes = append(codes, a.GetModelCode())
				}
			}
			if len(codes) == 0 {
				return ""
			}
			if len(codes) == 1 {
				return v.L.T("lineage.adapts_one", codes[0])
			}
			return v.L.T("lineage.adapts_many", strings.Join(codes, ", "))
		}
		view.Via = via(lin.GetPractice(), "")
		// Ancestors farthest first, down to the practice.
		anc := append([]*catalogv1.LineagePractice(nil), lin.GetAncestors()...)
		sort.SliceStable(anc, func(i, j int) bool { return anc[i].GetGeneration() > anc[j].GetGeneration() })
		for _, a := range anc {
			view.Ancestors = append(view.Ancestors, &lineageNode{P: a, Owners: owners(a.GetOwnerOrganizationIds()), Via: via(a, "")})
		}
		// Descendants as a tree: each under the first practice it adapts
		// that is the practice or a descendant already placed.
		placed := map[string]*lineageNode{}
		for _, d := range lin.GetDescendants() {
			n := &lineageNode{P: d, Owners: owners(d.GetOwnerOrganizationIds())}
			for _, a := range d.GetAdapts() {
				if a.GetPracticeId() == pr.GetId() {
					n.Via = via(d, pr.GetId())
					view.Descendants = append(view.Descendants, n)
					break
				}
				if parent, ok := placed[a.GetPracticeId()]; ok {
					n.Via = via(d, a.GetPracticeId())
					parent.Children = append(parent.Children, n)
					break
				}
			}
			placed[d.GetId()] = n
		}
	}
	view.Regions = travels(v.L, pr, orgs)
	view.Offers = adaptOffers(v, pr, orgs, twinnings)
	var b bytes.Buffer
	if err := lineageTemplate.ExecuteTemplate(&b, "lineage", view); err != nil {
		p.logBackend(r, err)
		return ""
	}
	return template.HTML(b.String())
}

// travels are the organisations that received a model of the practice,
// grouped by region, the regions by name and the unknown last.
func travels(l *locale, pr *catalogv1.Practice, orgs orgNames) []travelRegion {
	models := map[string][]string{}
	for _, m := range pr.GetModels() {
		for _, id := range m.GetAdoption().GetReceivingOrganizationIds() {
			models[id] = append(models[id], m.GetCode())
		}
	}
	byRegion := map[string][]travelOrg{}
	for id, codes := range models {
		name := orgs.Name(id)
		if _, ok := orgs[id]; !ok {
			name = l.T("words.an_organisation")
		}
		region := regionOf(orgs, id)
		label := l.T("travel.models_many", strings.Join(codes, ", "))
		if len(codes) == 1 {
			label = l.T("travel.models_one", codes[0])
		}
		byRegion[region] = append(byRegion[region], travelOrg{Name: name, Models: label})
	}
	var out []travelRegion
	for region, list := range byRegion {
		sort.Slice(list, func(i, j int) bool { return list[i].Name < list[j].Name })
		name := region
		if name == "" {
			name = l.T("travel.other")
		}
		out = append(out, travelRegion{Name: name, Orgs: list})
	}
	sort.Slice(out, func(i, j int) bool {
		if (out[i].Name == l.T("travel.other")) != (out[j].Name == l.T("travel.other")) {
			return out[j].Name == l.T("travel.other")
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// adaptOffers are, for the member's organisations that adopted (or
// partially adopted) a model of the practice in one of its twinnings, the
// links to the new-practice form prefilled from that model.
func adaptOffers(v *visit, pr *catalogv1.Practice, orgs orgNames, twinnings []*twinningv1.Twinning) []adaptOffer {
	if v.User == nil {
		return nil
	}
	seen := map[string]bool{}
	var out []adaptOffer
	for _, tw := range twinnings {
		for _, tr := range tw.GetTransfers() {
			st := tr.GetStatus()
			if tr.GetPracticeId() != pr.GetId() || !v.User.EditorOf(tr.GetToOrganizationId()) ||
				(st != twinningv1.TransferStatus_TRANSFER_STATUS_ADOPTED && st != twinningv1.TransferStatus_TRANSFER_STATUS_PARTIALLY_ADOPTED) {
				continue
			}
			key := tr.GetToOrganizationId() + "/" + tr.GetModelCode()
			if seen[key] {
				continue
			}
			seen[key] = true
			out = append(out, adaptOffer{URL: adaptURL(pr.GetId(), tr.GetModelCode(), tw.GetId(), tr.GetToOrganizationId()), Org: orgs.Name(tr.GetToOrganizationId()), Model: tr.GetModelCode()})
		}
	}
	return out
}

// adaptURL is the new-practice form prefilled to adapt a model.
func adaptURL(practiceID, model, twinningID, owner string) string {
	q := url.Values{"adapts": {practiceID}, "model": {model}}
	if twinningID != "" {
		q.Set("twinning", twinningID)
	}
	if owner != "" {
		q.Set("owner", owner)
	}
	return "/manage/practices/new?" + q.Encode()
}

// prefillAdaptation fills the new-practice form from the model the query
// names (?adapts=<practice>&model=<code>&twinning=<id>&owner=<org>): its
// title and description, the practice's themes, sectors and languages,
// and the adaptation itself. An unknown practice or model fills nothing.
func (p *Portal) prefillAdaptation(r *http.Request, f *form) {
	q := r.URL.Query()
	id, code := q.Get("adapts"), q.Get("model")
	if id == "" || code == "" {
		return
	}
	ctx, cancel := p.call(r)
	defer cancel()
	from, err := p.b.Catalog.GetPractice(ctx, &catalogv1.GetPracticeRequest{Id: id})
	if err != nil {
		p.logBackend(r, err)
		return
	}
	var model *catalogv1.Model
	for _, m := range from.GetModels() {
		if m.GetCode() == code {
			model = m
		}
	}
	if model == nil {
		return
	}
	v := f.Values
	v.Set("title", model.GetTitle())
	v.Set("summary", from.GetSummary())
	v.Set("description", model.GetDescription())
	v.Set("themes", strings.Join(from.GetThemes(), ", "))
	v.Set("sectors", strings.Join(from.GetSectors(), ", "))
	if langs := from.GetLanguages(); len(langs) > 0 {
		v.Set("languages", strings.Join(langs, ", "))
	}
	v.Set("models[0].code", "A")
	v.Set("models[0].title", model.GetTitle())
	v.Set("models[0].description", model.GetDescription())
	if owner := q.Get("owner"); visitOf(r).User.EditorOf(owner) {
		v.Set("owner_organization_ids", owner)
	}
	v.Set("adapts[0].practice_id", from.GetId())
	v.Set("adapts[0].model_code", code)
	v.Set("adapts[0].practice_title", from.GetTitle())
	if tw := q.Get("twinning"); tw != "" {
		v.Set("adapts[0].twinning_id", tw)
	}
}

// adaptsFromForm reads the adaptations the form carries (hidden fields).
func adaptsFromForm(f *form) []*catalogv1.PracticeAdaptation {
	var out []*catalogv1.PracticeAdaptation
	for i := range indexedRows(f.Values, "adapts") {
		pre := fmt.Sprintf("adapts[%d].", i)
		if f.Val(pre+"practice_id") == "" {
			continue
		}
		out = append(out, &catalogv1.PracticeAdaptation{
			PracticeId: f.Val(pre + "practice_id"), ModelCode: f.Val(pre + "model_code"), TwinningId: f.Val(pre + "twinning_id"),
		})
	}
	return out
}
