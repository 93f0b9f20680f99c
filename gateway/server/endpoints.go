package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"google.golang.org/grpc/health/grpc_health_v1"
)

// readinessTimeout bounds each backend health check behind /readyz?verbose.
const readinessTimeout = time.Second

func (s *Server) serveOpenAPI(w http.ResponseWriter, _ *http.Request, _ map[string]string) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(s.openAPI)
}

// serveHealthz says the process is up; it deliberately checks nothing else.
func (s *Server) serveHealthz(w http.ResponseWriter, r *http.Request, _ map[string]string) {
	s.writeJSON(w, r, http.StatusOK, map[string]string{"status": "ok"})
}

// serveReadyz says whether this gateway can take traffic: it is up and
// serving, and its configuration was valid (New refuses an invalid one).
// It deliberately does not depend on the backends: they are shared by
// every gateway replica, so one backend outage would otherwise take every
// replica out of the load balancer at once, and the routes of the
// backends that still work with them; a call to a backend that is down
// answers 503 by itself. With ?verbose it also asks every backend's gRPC
// health service, concurrently, and lists their states for operators,
// still answering 200.
func (s *Server) serveReadyz(w http.ResponseWriter, r *http.Request, _ map[string]string) {
	body := struct {
		Status   string            `json:"status"`
		Backends map[string]string `json:"backends,omitempty"`
	}{Status: "ready"}
	if _, verbose := r.URL.Query()["verbose"]; verbose {
		body.Backends = s.backendStates(r.Context())
	}
	s.writeJSON(w, r, http.StatusOK, body)
}

// backendStates is each backend's health status, by backend name.
func (s *Server) backendStates(ctx context.Context) map[string]string {
	states := make(map[string]string, len(s.backends))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, b := range s.backends {
		wg.Go(func() {
			state := s.checkBackend(ctx, b)
			mu.Lock()
			states[b.name] = state
			mu.Unlock()
		})
	}
	wg.Wait()
	return states
}

// checkBackend returns the backend's health status name (SERVING,
// NOT_SERVING, …) or UNREACHABLE when the check itself failed.
func (s *Server) checkBackend(ctx context.Context, b backendConn) string {
	ctx, cancel := context.WithTimeout(ctx, readinessTimeout)
	defer cancel()
	// The empty service name asks about the backend server as a whole.
	resp, err := b.health.Check(ctx, &grpc_health_v1.HealthCheckRequest{})
	if err != nil {
		s.logger.WarnContext(ctx, "backend health check failed",
			slog.String("request_id", requestIDFrom(ctx)),
			slog.String("backend", b.name),
			slog.String("error", err.Error()))
		return "UNREACHABLE"
	}
	return resp.GetStatus().String()
}

func (s *Server) writeJSON(w http.ResponseWriter, r *http.Request, httpStatus int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(httpStatus)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		s.logger.DebugContext(r.Context(), "write response body", slog.String("error", err.Error()))
	}
}

// errorSchema describes errorBody in the OpenAPI document, in place of the
// google.rpc.Status that grpc-gateway's generator assumes.
const errorSchema = `{
  "type": "object",
  "description": "The body of every error answer.",
  "properties": {
    "error": {
      "type": "object",
      "properties": {
        "code": {"type": "integer", "format": "int32", "description": "The HTTP status code."},
        "status": {"type": "string", "description": "The canonical gRPC code name, e.g. INVALID_ARGUMENT, NOT_FOUND, ABORTED."},
        "message": {"type": "string", "description": "What went wrong, for people."},
        "field_violations": {
          "type": "array",
          "description": "Every invalid field of the request and the rule it breaks.",
          "items": {
            "type": "object",
            "properties": {
              "field": {"type": "string"},
              "description": {"type": "string"}
            }
          }
        },
        "request_id": {"type": "string", "description": "The X-Request-Id of the request, for support."}
      }
    }
  }
}`

const (
	generatedErrorRef = `"#/definitions/rpcStatus"`
	errorRef          = `"#/definitions/Error"`
	anyRef            = `"#/definitions/protobufAny"`
)

// patchOpenAPI gives the generated document its API title and version and
// makes its error responses describe the body the gateway really sends.
func patchOpenAPI(doc []byte) ([]byte, error) {
	doc = bytes.ReplaceAll(doc, []byte(generatedErrorRef), []byte(errorRef))

	var top map[string]json.RawMessage
	if err := json.Unmarshal(doc, &top); err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	info := map[string]any{}
	if raw, ok := top["info"]; ok {
		if err := json.Unmarshal(raw, &info); err != nil {
			return nil, fmt.Errorf("parse info: %w", err)
		}
	}
	info["title"] = "Gemella API"
	info["version"] = "v1"
	var err error
	if top["info"], err = json.Marshal(info); err != nil {
		return nil, fmt.Errorf("encode info: %w", err)
	}

	definitions := map[string]json.RawMessage{}
	if raw, ok := top["definitions"]; ok {
		if err := json.Unmarshal(raw, &definitions); err != nil {
			return nil, fmt.Errorf("parse definitions: %w", err)
		}
	}
	delete(definitions, "rpcStatus")
	definitions["Error"] = json.RawMessage(errorSchema)
	// protobufAny was there for rpcStatus.details only, unless something else uses it.
	if !refersTo(anyRef, top, definitions) {
		delete(definitions, "protobufAny")
	}
	if top["definitions"], err = json.Marshal(definitions); err != nil {
		return nil, fmt.Errorf("encode definitions: %w", err)
	}

	out, err := json.MarshalIndent(top, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	return out, nil
}

// refersTo reports whether any part of the document other than the
// definition itself contains ref.
func refersTo(ref string, top, definitions map[string]json.RawMessage) bool {
	for key, raw := range top {
		if key != "definitions" && bytes.Contains(raw, []byte(ref)) {
			return true
		}
	}
	for name, raw := range definitions {
		if `"#/definitions/`+name+`"` != ref && bytes.Contains(raw, []byte(ref)) {
			return true
		}
	}
	return false
}
