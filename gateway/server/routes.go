package server

import (
	"bufio"
	"bytes"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/gemella/gemella/proto/gemella"
)

// route is one HTTP binding of an RPC: which message the request fills and
// which part of it comes from the body.
type route struct {
	method   string // HTTP method
	template string // path template, variables as {name}
	rpc      protoreflect.MethodDescriptor
	// body is "" (no body), "*" (the whole request) or the name of the
	// request field that the body fills.
	body string
	// pathFields are the request fields that the path fills, e.g. "id" or
	// "practice.id".
	pathFields []string
}

// bodyMessage is the message the body is decoded into, nil without a body.
func (rt *route) bodyMessage() protoreflect.MessageDescriptor {
	switch rt.body {
	case "":
		return nil
	case "*":
		return rt.rpc.Input()
	}
	fd := rt.rpc.Input().Fields().ByName(protoreflect.Name(rt.body))
	if fd == nil || fd.Message() == nil {
		return nil
	}
	return fd.Message()
}

// routeTable finds the route of a request by its method and the path
// template grpc-gateway matched.
type routeTable map[string]*route

var templateVariable = regexp.MustCompile(`\{([^}=]+)(=[^}]*)?\}`)

// normaliseTemplate writes every variable as {name}, as http.yaml does and
// grpc-gateway's Pattern.String does not ({name=*}).
func normaliseTemplate(t string) string {
	return templateVariable.ReplaceAllString(t, "{$1}")
}

func routeKey(method, template string) string { return method + " " + normaliseTemplate(template) }

// loadRoutes reads the HTTP rules of http.yaml and resolves each selector to
// its RPC in the registry of the generated code.
func loadRoutes() (routeTable, error) {
	rules, err := parseHTTPRules(gemella.HTTPConfig)
	if err != nil {
		return nil, err
	}
	table := routeTable{}
	for _, r := range rules {
		d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(r.selector))
		if err != nil {
			return nil, fmt.Errorf("http rule %s: %w", r.selector, err)
		}
		md, ok := d.(protoreflect.MethodDescriptor)
		if !ok {
			return nil, fmt.Errorf("http rule %s: not an RPC", r.selector)
		}
		rt := &route{method: r.method, template: r.path, rpc: md, body: r.body}
		for _, m := range templateVariable.FindAllStringSubmatch(r.path, -1) {
			rt.pathFields = append(rt.pathFields, m[1])
		}
		if r.body != "" && r.body != "*" && rt.bodyMessage() == nil {
			return nil, fmt.Errorf("http rule %s: body %q is not a message field of %s", r.selector, r.body, md.Input().FullName())
		}
		table[routeKey(r.method, r.path)] = rt
		// And as grpc-gateway's Pattern.String writes it ({id=*}), so that
		// a request finds its route without a regular expression.
		table[r.method+" "+templateVariable.ReplaceAllString(normaliseTemplate(r.path), "{$1=*}")] = rt
	}
	return table, nil
}

type httpRule struct {
	selector, method, path, body string
}

// parseHTTPRules reads the subset of the gRPC API configuration YAML that
// http.yaml uses: a list of rules, each a selector, one method: path pair
// and an optional body.
func parseHTTPRules(config []byte) ([]httpRule, error) {
	var rules []httpRule
	sc := bufio.NewScanner(bytes.NewReader(config))
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		key, value, ok := strings.Cut(strings.TrimPrefix(text, "- "), ":")
		if !ok {
			continue
		}
		value = strings.Trim(strings.TrimSpace(value), `"`)
		switch key {
		case "selector":
			if !strings.HasPrefix(text, "- ") {
				return nil, fmt.Errorf("http.yaml line %d: a selector starts a rule", line)
			}
			rules = append(rules, httpRule{selector: value})
		case "get", "post", "patch", "put", "delete":
			if len(rules) == 0 {
				return nil, fmt.Errorf("http.yaml line %d: %s before any selector", line, key)
			}
			rules[len(rules)-1].method, rules[len(rules)-1].path = strings.ToUpper(key), value
		case "body":
			if len(rules) == 0 {
				return nil, fmt.Errorf("http.yaml line %d: body before any selector", line)
			}
			rules[len(rules)-1].body = value
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read http.yaml: %w", err)
	}
	for _, r := range rules {
		if r.method == "" || !strings.HasPrefix(r.path, "/") {
			return nil, fmt.Errorf("http rule %s has no method and path", r.selector)
		}
	}
	return rules, nil
}

// unique lists each route once (the table holds each under two keys).
func (t routeTable) unique() []*route {
	seen := map[*route]bool{}
	var out []*route
	for _, rt := range t {
		if !seen[rt] {
			seen[rt] = true
			out = append(out, rt)
		}
	}
	return out
}

// lookup is the route of a request that grpc-gateway matched, nil for the
// gateway's own paths.
func (t routeTable) lookup(r *http.Request, template string) *route {
	if rt, ok := t[r.Method+" "+template]; ok {
		return rt
	}
	return t[routeKey(r.Method, template)]
}

// Binding is one HTTP binding of the API: method, path template (variables
// as {name}, named as the request fields they fill) and body ("" none,
// "*" the whole request, else the request field the body fills).
type Binding struct {
	Method, Template, Body string
	// RPC is the full name of the gRPC method, e.g.
	// gemella.catalog.v1.CatalogService.GetPractice.
	RPC string
	// PathFields are the request fields the path fills.
	PathFields []string
}

// Bindings lists every HTTP binding the gateway serves, for tests and tools.
func Bindings() ([]Binding, error) {
	routes, err := loadRoutes()
	if err != nil {
		return nil, err
	}
	out := make([]Binding, 0, len(routes))
	for _, rt := range routes.unique() {
		out = append(out, Binding{Method: rt.method, Template: normaliseTemplate(rt.template), Body: rt.body,
			RPC: string(rt.rpc.FullName()), PathFields: append([]string(nil), rt.pathFields...)})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Template != out[j].Template {
			return out[i].Template < out[j].Template
		}
		return out[i].Method < out[j].Method
	})
	return out, nil
}
