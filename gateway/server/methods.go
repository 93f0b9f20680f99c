package server

import (
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
)

// A route answers only its own methods. grpc-gateway would otherwise
//   - serve a POST with a form body (Content-Type
//     application/x-www-form-urlencoded, what curl -d sends) on a GET route
//     as if it were the GET ("path length fallback"), and let
//     X-HTTP-Method-Override turn such a POST into any method: New turns
//     both off (runtime.WithDisablePathLengthFallback);
//   - match a custom verb's path (/v1/twinnings/{id}:approve, POST) with
//     the plain route of another method (GET /v1/twinnings/{id}, the id
//     then being "x:approve"): onlyOwnMethods answers those before the mux.
// So any method a path does not have gets a 405 with the usual error body
// and an Allow header listing the methods it has (RFC 9110 §15.5.6).

// pathMethods knows, for every path template the gateway serves, its
// methods, so that a 405 can say which methods are allowed.
type pathMethods struct {
	patterns []methodPattern
}

type methodPattern struct {
	method string
	// strict matches a variable in the last segment only without a colon
	// (which would start a custom verb such as :render); loose is
	// grpc-gateway's own matching, where it may.
	strict, loose *regexp.Regexp
}

// add records a path template (as http.yaml writes it: {name},
// {name=*}, {name=**}, an optional :verb) served for method.
func (p *pathMethods) add(method, template string) {
	p.patterns = append(p.patterns, methodPattern{method: method,
		strict: templateRegexp(template, true), loose: templateRegexp(template, false)})
}

// templateRegexp matches the paths of a template.
func templateRegexp(template string, strict bool) *regexp.Regexp {
	path, verb := template, ""
	if i := strings.LastIndex(template, ":"); i > strings.LastIndex(template, "}") {
		path, verb = template[:i], template[i+1:]
	}
	segments := strings.Split(strings.TrimPrefix(path, "/"), "/")
	var b strings.Builder
	b.WriteString("^")
	for i, seg := range segments {
		b.WriteString("/")
		m := templateVariable.FindStringSubmatch(seg)
		switch {
		case m == nil:
			b.WriteString(regexp.QuoteMeta(seg))
		case m[2] == "=**":
			b.WriteString(".+")
		case strict && verb == "" && i == len(segments)-1:
			b.WriteString("[^/:]+")
		default:
			b.WriteString("[^/]+")
		}
	}
	if verb != "" {
		b.WriteString(regexp.QuoteMeta(":" + verb))
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}

// own lists the methods of the templates path strictly matches.
func (p *pathMethods) own(path string) []string {
	var out []string
	for _, mp := range p.patterns {
		if mp.strict.MatchString(path) {
			out = append(out, mp.method)
		}
	}
	return out
}

// allowed lists the methods path has, sorted, "" when it has none.
func (p *pathMethods) allowed(path string) string {
	methods := p.own(path)
	if len(methods) == 0 {
		for _, mp := range p.patterns {
			if mp.loose.MatchString(path) {
				methods = append(methods, mp.method)
			}
		}
	}
	if len(methods) == 0 {
		return ""
	}
	slices.Sort(methods)
	return strings.Join(slices.Compact(methods), ", ")
}

// handlePath registers a route of the gateway's own on mux and records
// its method for the Allow header.
func (s *Server) handlePath(mux *runtime.ServeMux, method, template string, h runtime.HandlerFunc) error {
	if err := mux.HandlePath(method, template, h); err != nil {
		return err
	}
	s.methods.add(method, template)
	return nil
}

// onlyOwnMethods answers 405 to a method a path of the API does not have,
// before the mux could match it with the route of another path.
func (s *Server) onlyOwnMethods(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if own := s.methods.own(r.URL.Path); len(own) > 0 && !slices.Contains(own, r.Method) {
			s.handleRoutingError(r.Context(), nil, nil, w, r, http.StatusMethodNotAllowed)
			return
		}
		next.ServeHTTP(w, r)
	})
}
