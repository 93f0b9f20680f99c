package server

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"

	"github.com/gemella/gemella/gateway/sitesearch"
	catalogv1 "github.com/gemella/gemella/proto/gemella/catalog/v1"
	discussionv1 "github.com/gemella/gemella/proto/gemella/discussion/v1"
	twinningv1 "github.com/gemella/gemella/proto/gemella/twinning/v1"
	"github.com/gemella/gemella/services/platform/apperr"
)

// searchPath is the search of everything, which the gateway merges from
// the services' own searches (package sitesearch).
const searchPath = "/v1/search"

// searchBackends are the clients sitesearch asks.
func (s *Server) searchBackends() sitesearch.Backends {
	var b sitesearch.Backends
	for _, bc := range s.backends {
		switch bc.name {
		case "catalog":
			b.Catalog = catalogv1.NewCatalogServiceClient(bc.conn)
		case "twinning":
			b.Twinning = twinningv1.NewTwinningServiceClient(bc.conn)
		case "discussion":
			b.Discussion = discussionv1.NewDiscussionServiceClient(bc.conn)
		}
	}
	return b
}

// searchRoute serves GET /v1/search?q=&kind=&territory=&theme=&page_size=.
func (s *Server) searchRoute(mux *runtime.ServeMux) error {
	b := s.searchBackends()
	return s.handlePath(mux, http.MethodGet, searchPath, func(w http.ResponseWriter, r *http.Request, _ map[string]string) {
		q, v := parseSearchQuery(r.URL.RawQuery)
		if len(v) > 0 {
			s.writeViolations(w, r, v)
			return
		}
		s.writeJSON(w, r, http.StatusOK, sitesearch.Search(withAuthorization(r), b, q))
	})
}

// parseSearchQuery reads the parameters strictly: an unknown one, or one
// given twice where once is allowed, is a violation like any other.
func parseSearchQuery(raw string) (sitesearch.Query, violations) {
	var v violations
	values, err := url.ParseQuery(raw)
	if err != nil {
		v.add("query", apperr.ReasonFieldInvalid, "is not a valid query string")
		return sitesearch.Query{}, v
	}
	var q sitesearch.Query
	for name, vals := range values {
		for _, val := range vals {
			if !utf8.ValidString(val) {
				v.add(name, apperr.ReasonFieldInvalidUTF8, "must be valid UTF-8")
			}
		}
		single := func() string {
			if len(vals) > 1 {
				v.add(name, apperr.ReasonFieldInvalid, "must be given once")
			}
			return vals[0]
		}
		switch name {
		case "q":
			q.Q = single()
		case "territory", "territory_code":
			q.Territory = single()
		case "theme":
			q.Theme = single()
		case "kind":
			for _, val := range vals {
				for _, k := range strings.Split(val, ",") {
					if k = strings.TrimSpace(k); k != "" {
						q.Kinds = append(q.Kinds, k)
					}
				}
			}
		case "page_size":
			n, err := strconv.Atoi(single())
			if err != nil || n < 1 || n > 50 {
				v.add(name, apperr.ReasonFieldInvalid, "must be a whole number from 1 to 50")
			}
			q.PerKind = n
		default:
			v.add(name, apperr.ReasonFieldUnknown, "is not a parameter of this search (q, kind, territory, theme, page_size)")
		}
	}
	if len(v) > 0 {
		return q, v
	}
	if utf8.RuneCountInString(q.Q) > sitesearch.MaxQueryLength {
		v.add("q", apperr.ReasonFieldTooLong, "must be at most %d characters", sitesearch.MaxQueryLength)
	}
	for _, k := range q.Kinds {
		if !slices.Contains(sitesearch.Kinds, k) {
			v.add("kind", apperr.ReasonFieldInvalid, "must be one of %s", strings.Join(sitesearch.Kinds, ", "))
			break
		}
	}
	if len(q.Territory) > 64 {
		v.add("territory", apperr.ReasonFieldTooLong, "must be at most 64 characters")
	}
	if len(q.Theme) > 100 {
		v.add("theme", apperr.ReasonFieldTooLong, "must be at most 100 characters")
	}
	return q, v
}
