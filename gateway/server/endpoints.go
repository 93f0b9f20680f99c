package server

import (
	"context"
	"encoding/json"
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
//
// While a hold (HoldReadiness) is on, it answers 503 with the status
// "starting" instead.
func (s *Server) serveReadyz(w http.ResponseWriter, r *http.Request, _ map[string]string) {
	body := struct {
		Status   string            `json:"status"`
		Backends map[string]string `json:"backends,omitempty"`
	}{Status: "ready"}
	code := http.StatusOK
	if s.holds.Load() > 0 {
		body.Status, code = "starting", http.StatusServiceUnavailable
	}
	if _, verbose := r.URL.Query()["verbose"]; verbose {
		body.Backends = s.backendStates(r.Context())
	}
	s.writeJSON(w, r, code, body)
}

// HoldReadiness makes /readyz answer 503 "starting" until release is
// called (once or more; only the first counts), for a process that
// serves the gateway but has work of its own to finish before it takes
// traffic: the devstack loads its demo data through the services while
// the gateway already listens, and a client that logged in at the first
// 200 would find no demo account yet. Holds add up: readiness returns
// when every one is released.
func (s *Server) HoldReadiness() (release func()) {
	s.holds.Add(1)
	var once sync.Once
	return func() { once.Do(func() { s.holds.Add(-1) }) }
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
