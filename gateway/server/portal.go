package server

import (
	"fmt"
	"net/http"
	"strings"

	catalogv1 "github.com/gemella/gemella/proto/gemella/catalog/v1"
	discussionv1 "github.com/gemella/gemella/proto/gemella/discussion/v1"
	notificationv1 "github.com/gemella/gemella/proto/gemella/notification/v1"
	twinningv1 "github.com/gemella/gemella/proto/gemella/twinning/v1"

	"github.com/gemella/gemella/gateway/portal"
)

// newPortal builds the web portal over the backend connections the gateway
// already holds; a backend left out answers the portal with UNAVAILABLE.
func (s *Server) newPortal() (*portal.Portal, error) {
	var b portal.Backends
	for _, bc := range s.backends {
		switch bc.name {
		case "catalog":
			b.Catalog = catalogv1.NewCatalogServiceClient(bc.conn)
		case "twinning":
			b.Twinning = twinningv1.NewTwinningServiceClient(bc.conn)
			b.Reports = twinningv1.NewReportServiceClient(bc.conn)
		case "discussion":
			b.Discussion = discussionv1.NewDiscussionServiceClient(bc.conn)
		case "notification":
			b.Notification = notificationv1.NewNotificationServiceClient(bc.conn)
		}
	}
	cfg := s.cfg.Portal
	cfg.SessionCookie = credentialCookie
	cfg.TrustForwardedProto = s.cfg.TrustProxyHeaders
	site, err := portal.New(cfg, b, s.logger.With("component", "portal"))
	if err != nil {
		return nil, fmt.Errorf("portal: %w", err)
	}
	return site, nil
}

// withPortal serves the API's paths with api and every other path with
// the portal, so that no page can shadow an API route.
func withPortal(api, site http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isAPIPath(r.URL.Path) {
			api.ServeHTTP(w, r)
			return
		}
		site.ServeHTTP(w, r)
	})
}

// isAPIPath reports the paths the REST gateway owns.
func isAPIPath(path string) bool {
	switch path {
	case "/v1", "/openapi.json", "/healthz", "/readyz":
		return true
	}
	return strings.HasPrefix(path, "/v1/")
}
