package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// The OpenAPI document is generated from the protos (protoc-gen-openapiv2,
// with the field behaviours) and completed here with what the generator
// cannot know: the bearer security scheme and which operations need it,
// every operation's error answers with the google.rpc.Status schema, the
// headers the gateway reads and writes, one path template per resource,
// and the endpoints outside grpc-gateway (/v1/events, /healthz, /readyz,
// /openapi.json). buildOpenAPI is deterministic: the same input gives the
// same bytes, which gateway/openapi/gemella.swagger.json keeps for the
// linter (TestOpenAPIDocumentIsCurrent).

type docObject = map[string]any

// sessionNeed says whether an operation needs a session token.
type sessionNeed int

const (
	sessionOptional sessionNeed = iota // public reads: a session may see more
	sessionRequired
	sessionNone // log-in and sign-up act as nobody
)

func sessionNeedOf(httpMethod, rpc string) sessionNeed {
	switch {
	case strings.HasSuffix(rpc, ".CreateSession"), strings.HasSuffix(rpc, ".RegisterMember"):
		return sessionNone
	case strings.HasSuffix(rpc, ".GetMyProfile"), strings.HasSuffix(rpc, ".ListReportedPosts"),
		strings.HasSuffix(rpc, ".ListModerationLog"), strings.HasSuffix(rpc, ".ListAffiliationRequests"),
		strings.HasPrefix(rpc, "gemella.notification.v1.NotificationService."):
		return sessionRequired
	case httpMethod == http.MethodGet:
		return sessionOptional
	}
	return sessionRequired
}

const securityName = "bearer"

var dottedParam = regexp.MustCompile(`\{([a-z_]+)\.([a-z_]+)\}`)

// buildOpenAPI completes the generated Swagger 2.0 document.
func buildOpenAPI(generated []byte, routes routeTable) ([]byte, error) {
	var doc docObject
	if err := json.Unmarshal(generated, &doc); err != nil {
		return nil, fmt.Errorf("parse the generated document: %w", err)
	}
	doc["info"] = docObject{
		"title":   "Gemella API",
		"version": "v1",
		"description": "The REST API of Gemella: the practice catalogue, twinnings and the community.\n\n" +
			"Authentication: POST /v1/sessions answers a token; send it as `Authorization: Bearer <token>`. " +
			"Reads are public (a session may see more, e.g. drafts of one's own organisation); writes need a session.\n\n" +
			"Errors: every failure is a `google.rpc.Status` (definition Status) with details: an ErrorInfo with a " +
			"stable `reason` (domain gemella.eu), a BadRequest naming each bad field (snake_case, as in the JSON), " +
			"a PreconditionFailure listing the allowed moves of an illegal state move, a RetryInfo with 429 and 503, " +
			"and a RequestInfo with the request id (also the X-Request-Id header).\n\n" +
			"Caching: GETs answer an ETag; send it back in If-None-Match for a 304. Updates take the etag in If-Match " +
			"(or the body's etag field) and answer 412 when it is stale.",
	}
	doc["securityDefinitions"] = docObject{securityName: docObject{
		"type": "apiKey", "in": "header", "name": "Authorization",
		"description": "`Bearer <token>`, the token of POST /v1/sessions. Browsers may use the session cookie instead (then writes need X-CSRF-Token).",
	}}
	doc["parameters"] = sharedParameters()
	doc["responses"] = sharedResponses()

	definitions, _ := doc["definitions"].(docObject)
	if definitions == nil {
		definitions = docObject{}
	}
	delete(definitions, "rpcStatus")
	definitions["Status"] = statusSchema()
	definitions["protobufAny"] = docObject{
		"type":                 "object",
		"description":          "One detail of an error: @type names it (e.g. type.googleapis.com/google.rpc.BadRequest), the other fields are its content.",
		"properties":           docObject{"@type": docObject{"type": "string"}},
		"required":             []any{"@type"},
		"additionalProperties": docObject{},
	}
	for name, schema := range gatewayDefinitions() {
		definitions[name] = schema
	}
	doc["definitions"] = definitions

	byOperation := map[string]*route{}
	for _, rt := range routes {
		byOperation[operationID(rt.rpc)] = rt
	}
	paths, _ := doc["paths"].(docObject)
	out := docObject{}
	for _, template := range sortedKeys(paths) {
		item, _ := paths[template].(docObject)
		for _, method := range sortedKeys(item) {
			op, ok := item[method].(docObject)
			if !ok {
				continue
			}
			id, _ := op["operationId"].(string)
			rt := byOperation[id]
			if rt == nil {
				return nil, fmt.Errorf("operation %s has no HTTP rule", id)
			}
			completeOperation(op, rt)
			target := dottedParam.ReplaceAllString(template, "{$2}")
			renameDottedParams(op)
			dst, _ := out[target].(docObject)
			if dst == nil {
				dst = docObject{}
				out[target] = dst
			}
			if _, dup := dst[method]; dup {
				return nil, fmt.Errorf("two %s operations on %s", method, target)
			}
			dst[method] = op
		}
	}
	for path, item := range gatewayPaths() {
		out[path] = item
	}
	doc["paths"] = out
	return json.MarshalIndent(doc, "", "  ")
}

// operationID is protoc-gen-openapiv2's operation id: Service_Method.
func operationID(md protoreflect.MethodDescriptor) string {
	return string(md.Parent().Name()) + "_" + string(md.Name())
}

func sortedKeys(m docObject) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// renameDottedParams names path variables as the resource's own: the
// template /v1/practices/{practice.id} of an update becomes
// /v1/practices/{id}, the one of the GET beside it.
func renameDottedParams(op docObject) {
	params, _ := op["parameters"].([]any)
	for _, p := range params {
		param, _ := p.(docObject)
		if param["in"] != "path" {
			continue
		}
		name, _ := param["name"].(string)
		if resource, field, ok := strings.Cut(name, "."); ok {
			param["name"] = field
			param["description"] = "The " + field + " of the " + strings.ReplaceAll(resource, "_", " ") + "."
		}
	}
}

func ref(kind, name string) docObject { return docObject{"$ref": "#/" + kind + "/" + name} }

// completeOperation adds security, headers and error answers to one
// operation of the generated document.
func completeOperation(op docObject, rt *route) {
	switch sessionNeedOf(rt.method, string(rt.rpc.FullName())) {
	case sessionRequired:
		op["security"] = []any{docObject{securityName: []any{}}}
	case sessionOptional:
		op["security"] = []any{docObject{}, docObject{securityName: []any{}}}
	case sessionNone:
		op["security"] = []any{}
	}
	params, _ := op["parameters"].([]any)
	params = append(params, ref("parameters", "XRequestId"))
	write := rt.method != http.MethodGet
	if write && hasEtag(rt) {
		params = append(params, ref("parameters", "IfMatch"))
	}
	if write && hasUpdateMask(rt) {
		params = append(params, docObject{"name": "update_mask", "in": "query", "required": false, "type": "string",
			"description": "The fields to change, comma-separated as the JSON names them (e.g. summary,themes); without it every field of the body is written."})
	}
	if !write {
		params = append(params, ref("parameters", "IfNoneMatch"))
	}
	op["parameters"] = params

	responses, _ := op["responses"].(docObject)
	if responses == nil {
		responses = docObject{}
	}
	delete(responses, "default")
	if ok, _ := responses["200"].(docObject); ok != nil {
		headers := docObject{"X-Request-Id": docObject{"type": "string", "description": "The request id, for support."}}
		if !write {
			headers["ETag"] = docObject{"type": "string", "description": "The resource's etag, or a hash of a list; send it in If-None-Match."}
			headers["Cache-Control"] = docObject{"type": "string", "description": "public, max-age=… for anonymous reads; private when a session is present."}
		} else {
			headers["RateLimit"] = docObject{"type": "string", "description": "The write budget left (IETF draft RateLimit header fields)."}
			headers["RateLimit-Policy"] = docObject{"type": "string", "description": "The write limit that applies."}
		}
		ok["headers"] = headers
	}
	codes := []string{"400", "401", "403", "404", "500", "503", "504"}
	if write {
		codes = append(codes, "409", "412", "413", "429")
	} else {
		responses["304"] = ref("responses", "NotModified")
	}
	for _, c := range codes {
		responses[c] = ref("responses", errorResponseName[c])
	}
	op["responses"] = responses
}

// hasEtag reports whether the request (or the resource in its body) has an
// etag, which If-Match may carry instead.
func hasEtag(rt *route) bool {
	in := rt.rpc.Input()
	if in.Fields().ByName("etag") != nil {
		return true
	}
	if md := rt.bodyMessage(); md != nil && md.Fields().ByName("etag") != nil {
		return true
	}
	return false
}

// hasUpdateMask reports a write whose body is the resource and whose
// request names the fields to change (update_mask, a query parameter).
func hasUpdateMask(rt *route) bool {
	fd := rt.rpc.Input().Fields().ByName("update_mask")
	return fd != nil && rt.body != "" && rt.body != "*" && fd.Message() != nil && fd.Message().FullName() == "google.protobuf.FieldMask"
}

var errorResponseName = map[string]string{
	"400": "BadRequest", "401": "Unauthenticated", "403": "PermissionDenied", "404": "NotFound",
	"409": "Conflict", "412": "PreconditionFailed", "413": "PayloadTooLarge", "429": "TooManyRequests",
	"500": "Internal", "503": "Unavailable", "504": "DeadlineExceeded",
}

func sharedParameters() docObject {
	return docObject{
		"XRequestId": docObject{"name": "X-Request-Id", "in": "header", "required": false, "type": "string",
			"description": "An id for this request (letters, digits, -_.:, at most 128); echoed back and in error bodies. The gateway makes one when absent."},
		"IfMatch": docObject{"name": "If-Match", "in": "header", "required": false, "type": "string",
			"description": "The etag the change is based on (instead of the body's etag field); a stale one answers 412."},
		"IfNoneMatch": docObject{"name": "If-None-Match", "in": "header", "required": false, "type": "string",
			"description": "The ETag of an earlier answer; the same content answers 304 without a body."},
		"LastEventID": docObject{"name": "Last-Event-ID", "in": "header", "required": false, "type": "string",
			"description": "The id of the last event received; the feed first sends what came after it."},
	}
}

func errorResponse(description string, extraHeaders docObject) docObject {
	headers := docObject{"X-Request-Id": docObject{"type": "string", "description": "The request id, also in the body's RequestInfo."}}
	for k, v := range extraHeaders {
		headers[k] = v
	}
	return docObject{"description": description, "schema": ref("definitions", "Status"), "headers": headers}
}

func sharedResponses() docObject {
	retry := docObject{
		"Retry-After": docObject{"type": "integer", "description": "Seconds to wait before retrying (also the body's RetryInfo)."},
	}
	limited := docObject{
		"Retry-After":      retry["Retry-After"],
		"RateLimit":        docObject{"type": "string", "description": "IETF draft RateLimit: the budget left and when it refills."},
		"RateLimit-Policy": docObject{"type": "string", "description": "IETF draft RateLimit-Policy: the limit that applies."},
	}
	return docObject{
		"BadRequest":         errorResponse("Bad input: the BadRequest detail names every bad field (INVALID_ARGUMENT).", nil),
		"Unauthenticated":    errorResponse("No valid session token (UNAUTHENTICATED); WWW-Authenticate: Bearer.", nil),
		"PermissionDenied":   errorResponse("The caller may not do this (PERMISSION_DENIED).", nil),
		"NotFound":           errorResponse("No such resource (NOT_FOUND).", nil),
		"Conflict":           errorResponse("A conflict with what exists (ALREADY_EXISTS) or an illegal state move (FAILED_PRECONDITION, with a PreconditionFailure listing the allowed moves).", nil),
		"PreconditionFailed": errorResponse("The etag sent is stale (ABORTED, reason STALE_ETAG): reload and retry.", nil),
		"PayloadTooLarge":    errorResponse("The body is larger than the gateway accepts (reason BODY_TOO_LARGE).", nil),
		"TooManyRequests":    errorResponse("A rate limit is reached (RESOURCE_EXHAUSTED).", limited),
		"Internal":           errorResponse("An unexpected failure (INTERNAL); the request id helps support.", nil),
		"Unavailable":        errorResponse("A service is temporarily unavailable (UNAVAILABLE).", retry),
		"DeadlineExceeded":   errorResponse("The request took too long (DEADLINE_EXCEEDED).", nil),
		"NotModified": docObject{"description": "The content has not changed since the ETag in If-None-Match.",
			"headers": docObject{"ETag": docObject{"type": "string"}}},
	}
}

func statusSchema() docObject {
	return docObject{
		"type": "object",
		"description": "The body of every error answer: a google.rpc.Status. Its details are, by @type: " +
			"google.rpc.ErrorInfo {reason, domain, metadata} (always; the reasons are listed in the README), " +
			"google.rpc.BadRequest {field_violations: [{field, description, reason}]} (400), " +
			"google.rpc.PreconditionFailure {violations: [{type, subject, description}]} (illegal state moves: one ALLOWED_MOVE per move allowed), " +
			"google.rpc.RetryInfo {retry_delay} (429, 503), google.rpc.RequestInfo {request_id} (always).",
		"properties": docObject{
			"code":    docObject{"type": "integer", "format": "int32", "description": "The gRPC code (google.rpc.Code), e.g. 3 INVALID_ARGUMENT, 5 NOT_FOUND."},
			"message": docObject{"type": "string", "description": "What went wrong, for people; programs read the ErrorInfo reason."},
			"details": docObject{"type": "array", "items": ref("definitions", "protobufAny")},
		},
		"required": []any{"code", "message", "details"},
	}
}

// gatewayPaths are the endpoints the gateway serves itself.
func gatewayPaths() docObject {
	plain := func(summary, id, description string, codes ...string) docObject {
		responses := docObject{}
		for _, c := range codes {
			switch c {
			case "200":
				responses["200"] = docObject{"description": description, "schema": ref("definitions", "GatewayHealth"),
					"headers": docObject{"X-Request-Id": docObject{"type": "string"}}}
			case "503":
				responses["503"] = docObject{"description": "A backend is not serving.", "schema": ref("definitions", "GatewayHealth")}
			default:
				responses[c] = ref("responses", errorResponseName[c])
			}
		}
		return docObject{"get": docObject{
			"summary": summary, "operationId": id, "tags": []any{"Gateway"}, "security": []any{},
			"produces": []any{"application/json"}, "responses": responses,
		}}
	}
	return docObject{
		"/healthz": plain("The gateway process is up (it checks nothing else).", "Gateway_Healthz", "Up.", "200", "500"),
		"/readyz":  plain("The gateway takes traffic (503 while it is still starting). It does not depend on the backends: a call to one that is down answers 503 by itself; ?verbose lists each backend's gRPC health.", "Gateway_Readyz", "Ready.", "200", "503"),
		"/openapi.json": docObject{"get": docObject{
			"summary": "This document.", "operationId": "Gateway_OpenAPI", "tags": []any{"Gateway"}, "security": []any{},
			"produces": []any{"application/json"},
			"responses": docObject{"200": docObject{"description": "The Swagger 2.0 document.", "schema": docObject{"type": "object"}},
				"500": ref("responses", "Internal")},
		}},
		"/v1/events": docObject{"get": docObject{
			"summary": "The live feed: public events of every service as Server-Sent Events.",
			"description": "Each event has `id:` (the feed's sequence; send the last one back in Last-Event-ID, header or " +
				"last_event_id parameter, to get what was missed), `event:` (its type, e.g. twinning.transfer.status_changed) " +
				"and `data:` (a FeedEvent in JSON). An idle feed sends a comment line as heartbeat.",
			"operationId": "Gateway_Events", "tags": []any{"Gateway"},
			"security": []any{docObject{}, docObject{securityName: []any{}}},
			"produces": []any{"text/event-stream", "application/json"},
			"parameters": []any{
				ref("parameters", "LastEventID"),
				docObject{"name": "last_event_id", "in": "query", "required": false, "type": "string", "description": "As the Last-Event-ID header, for clients that cannot set it."},
				docObject{"name": "twinning_id", "in": "query", "required": false, "type": "string", "description": "Only the events of this twinning."},
				docObject{"name": "practice_id", "in": "query", "required": false, "type": "string", "description": "Only the events of this practice."},
				ref("parameters", "XRequestId"),
			},
			"responses": docObject{
				"200": docObject{"description": "A stream of events (text/event-stream); each data line is a FeedEvent.", "schema": ref("definitions", "FeedEvent")},
				"400": ref("responses", "BadRequest"), "500": ref("responses", "Internal"), "503": ref("responses", "Unavailable"),
			},
		}},
		searchPath: docObject{"get": docObject{
			"summary": "Search everything: practices, twinnings, threads, posts, stories, needs and organisations, grouped by kind.",
			"description": "The gateway asks each service's own search in parallel (GET /v1/search/practices, /twinnings, " +
				"/threads, /posts, /stories, /needs, /organizations) within 2 s and merges the answers: each kind with its count and first " +
				"hits, highlighted (HTML fragments whose only markup is <mark>). A kind whose service is down or slow has " +
				"status `unavailable` and is listed in `unavailable`; the answer is still 200. Filtering by territory or " +
				"theme leaves out the kinds that have none (threads, posts, stories; organisations have a territory but no theme): status `skipped`.",
			"operationId": "Gateway_Search", "tags": []any{"Gateway"},
			"security": []any{docObject{}, docObject{securityName: []any{}}},
			"produces": []any{"application/json"},
			"parameters": []any{
				docObject{"name": "q", "in": "query", "required": false, "type": "string", "maxLength": 500, "description": "The words, analysed in Italian and English."},
				docObject{"name": "kind", "in": "query", "required": false, "type": "array", "items": docObject{"type": "string", "enum": []any{"practice", "twinning", "thread", "post", "story", "need", "organization"}}, "collectionFormat": "multi", "description": "Only these kinds (repeated, or separated by commas)."},
				docObject{"name": "territory", "in": "query", "required": false, "type": "string", "description": "An ISTAT/NUTS territory code."},
				docObject{"name": "theme", "in": "query", "required": false, "type": "string", "description": "A theme, e.g. lavoro."},
				docObject{"name": "page_size", "in": "query", "required": false, "type": "integer", "minimum": 1, "maximum": 50, "description": "Hits per kind (5)."},
				ref("parameters", "XRequestId"),
			},
			"responses": docObject{
				"200": docObject{"description": "The kinds, in order, each with its count and first hits.", "schema": ref("definitions", "SearchResults")},
				"400": ref("responses", "BadRequest"), "500": ref("responses", "Internal"),
			},
		}},
		notificationsLivePath: docObject{"get": docObject{
			"summary": "The caller's own notifications, live, as Server-Sent Events.",
			"description": "Needs a session (bearer token or the session cookie). First an `unread` event " +
				"(`data: {\"unread_count\": n}`), then for every new notification a `notification` event whose `id:` is its " +
				"cursor and whose data is a Notification in JSON, each followed by an `unread` event; an idle stream repeats " +
				"`unread` every 15 s. Send the last id back in Last-Event-ID (or last_event_id) to get what was missed.",
			"operationId": "Gateway_NotificationsLive", "tags": []any{"NotificationService"},
			"security": []any{docObject{securityName: []any{}}},
			"produces": []any{"text/event-stream", "application/json"},
			"parameters": []any{
				ref("parameters", "LastEventID"),
				docObject{"name": "last_event_id", "in": "query", "required": false, "type": "string", "description": "As the Last-Event-ID header, for clients that cannot set it."},
				ref("parameters", "XRequestId"),
			},
			"responses": docObject{
				"200": docObject{"description": "A stream of notifications (text/event-stream).", "schema": ref("definitions", "v1Notification")},
				"400": ref("responses", "BadRequest"), "401": ref("responses", "Unauthenticated"), "500": ref("responses", "Internal"), "503": ref("responses", "Unavailable"),
			},
		}},
		unsubscribePath: docObject{
			"get": docObject{
				"summary":     "The e-mails' unsubscribe link: a page with a button that turns e-mail off.",
				"operationId": "Gateway_UnsubscribePage", "tags": []any{"NotificationService"}, "security": []any{},
				"produces":   []any{"text/html"},
				"parameters": []any{docObject{"name": "token", "in": "query", "required": true, "type": "string", "description": "The signed token of the e-mail's link."}},
				"responses": docObject{"200": docObject{"description": "The page.", "schema": docObject{"type": "string"}},
					"400": ref("responses", "BadRequest"), "500": ref("responses", "Internal")},
			},
			"post": docObject{
				"summary":     "One-click unsubscribe (RFC 8058): turns the member's e-mail off.",
				"description": "The body (List-Unsubscribe=One-Click, form-encoded) is ignored: the signed token says who.",
				"operationId": "Gateway_Unsubscribe", "tags": []any{"NotificationService"}, "security": []any{},
				"consumes":   []any{"application/x-www-form-urlencoded"},
				"produces":   []any{"application/json", "text/html"},
				"parameters": []any{docObject{"name": "token", "in": "query", "required": true, "type": "string", "description": "The signed token of the e-mail's link."}},
				"responses": docObject{
					"200": docObject{"description": "E-mail is off.", "schema": docObject{"type": "object", "properties": docObject{"email": docObject{"type": "string", "description": "EMAIL_FREQUENCY_NEVER."}}}},
					"400": ref("responses", "BadRequest"), "403": ref("responses", "PermissionDenied"), "500": ref("responses", "Internal"), "503": ref("responses", "Unavailable"),
				},
			},
		},
	}
}

// gatewayDefinitions are the schemas of the gateway's own endpoints.
func gatewayDefinitions() docObject {
	return docObject{
		"GatewayHealth": docObject{"type": "object", "properties": docObject{
			"status":   docObject{"type": "string", "description": "ok, ready or not_ready."},
			"backends": docObject{"type": "object", "additionalProperties": docObject{"type": "string"}, "description": "Each backend's health status (SERVING, NOT_SERVING, UNREACHABLE)."},
		}, "required": []any{"status"}},
		"SearchResults": docObject{"type": "object", "properties": docObject{
			"q":           docObject{"type": "string"},
			"total":       docObject{"type": "integer", "format": "int32", "description": "The hits of every kind."},
			"counts":      docObject{"type": "object", "additionalProperties": docObject{"type": "integer", "format": "int32"}, "description": "Hits per kind."},
			"unavailable": docObject{"type": "array", "items": docObject{"type": "string"}, "description": "The kinds whose service did not answer."},
			"kinds": docObject{"type": "array", "items": docObject{"type": "object", "properties": docObject{
				"kind":   docObject{"type": "string"},
				"status": docObject{"type": "string", "enum": []any{"ok", "unavailable", "skipped"}},
				"total":  docObject{"type": "integer", "format": "int32"},
				"hits": docObject{"type": "array", "items": docObject{"type": "object", "properties": docObject{
					"kind":    docObject{"type": "string"},
					"id":      docObject{"type": "string"},
					"title":   docObject{"type": "string"},
					"context": docObject{"type": "string", "description": "Where it is: a territory, a twinning's code, a post's author."},
					"link":    docObject{"type": "string", "description": "Its page on the portal."},
					"score":   docObject{"type": "number", "format": "double"},
					"highlights": docObject{"type": "array", "items": docObject{"type": "object", "properties": docObject{
						"field":     docObject{"type": "string"},
						"fragments": docObject{"type": "array", "items": docObject{"type": "string"}},
					}}},
				}, "required": []any{"kind", "id", "title", "link"}}},
			}, "required": []any{"kind", "status", "total", "hits"}}},
		}, "required": []any{"q", "kinds", "total", "counts", "unavailable"}},
		"FeedEvent": docObject{"type": "object", "properties": docObject{
			"id":             docObject{"type": "integer", "format": "int64"},
			"type":           docObject{"type": "string"},
			"occurred_at":    docObject{"type": "string", "format": "date-time"},
			"aggregate_type": docObject{"type": "string"},
			"aggregate_id":   docObject{"type": "string"},
			"twinning_id":    docObject{"type": "string"},
			"practice_id":    docObject{"type": "string"},
			"title":          docObject{"type": "string"},
			"summary":        docObject{"type": "string"},
			"link":           docObject{"type": "string"},
		}, "required": []any{"id", "type", "occurred_at", "aggregate_type", "aggregate_id", "title"}},
	}
}

var dottedOrPlain = regexp.MustCompile(`\{[^}]+\}`)
