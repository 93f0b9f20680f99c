package portal

import (
	"net/http"
	"slices"
	"strings"

	"github.com/gemella/gemella/gateway/sitesearch"
)

// searchData is the results page of the site-wide search.
type searchData struct {
	Q, Kind, Territory, Theme string
	Kinds                     []string
	// Territories are the territories of the organisations, for the
	// territory filter: people choose a place by its name, not its code.
	Territories []territory
	// Asked is false before anything was searched: the page shows the
	// form alone.
	Asked   bool
	Invalid bool
	Results sitesearch.Results
}

// Shown are the kinds the page lists: those asked and answered or down.
func (d searchData) Shown() []sitesearch.KindResult {
	var out []sitesearch.KindResult
	for _, k := range d.Results.Kinds {
		if k.Status != sitesearch.StatusSkipped {
			out = append(out, k)
		}
	}
	return out
}

// search is the results page of the header's search box: every kind,
// grouped, each with its count, highlighted; filtered by kind, territory
// and theme. A kind whose service is down says so; the others are shown.
func (p *Portal) search(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	d := searchData{
		Q: strings.TrimSpace(q.Get("q")), Kind: q.Get("kind"), Territory: strings.TrimSpace(q.Get("territory")),
		Theme: strings.TrimSpace(q.Get("theme")), Kinds: sitesearch.Kinds,
	}
	query := sitesearch.Query{Q: d.Q, Territory: d.Territory, Theme: d.Theme, PerKind: 5}
	if d.Kind != "" {
		query.Kinds = []string{d.Kind}
	}
	d.Asked = d.Q != "" || d.Kind != "" || d.Territory != "" || d.Theme != ""
	status := http.StatusOK
	if err := query.Validate(); err != nil {
		d.Invalid, d.Asked, status = true, false, http.StatusBadRequest
	}
	if d.Asked {
		ctx, cancel := p.call(r)
		defer cancel()
		d.Results = sitesearch.Search(ctx, sitesearch.Backends{Catalog: p.b.Catalog, Twinning: p.b.Twinning, Discussion: p.b.Discussion}, query)
	}
	d.Territories = territories(p.organizations(r))
	if d.Territory != "" && !slices.ContainsFunc(d.Territories, func(t territory) bool { return t.Code == d.Territory }) {
		// A code no organisation lies in (a link, a NUTS region) stays
		// chosen, shown as it is.
		d.Territories = append(d.Territories, territory{Code: d.Territory, Name: d.Territory})
	}
	p.render(w, r, status, "search", "search.title", d)
}
