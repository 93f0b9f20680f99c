package server

import (
	"github.com/gemella/gemella/services/platform/apperr"

	"fmt"
	"net/http"

	"google.golang.org/grpc/codes"

	"github.com/gemella/gemella/gateway/opendata"
	catalogv1 "github.com/gemella/gemella/proto/gemella/catalog/v1"
	discussionv1 "github.com/gemella/gemella/proto/gemella/discussion/v1"
	twinningv1 "github.com/gemella/gemella/proto/gemella/twinning/v1"
)

// newOpenData builds /opendata/ over the backend connections the gateway
// already holds; a backend left out makes its tables answer 503.
func (s *Server) newOpenData() (*opendata.Service, error) {
	var b opendata.Backends
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
	cfg := s.cfg.OpenData
	cfg.TrustForwardedProto = s.cfg.TrustProxyHeaders
	od, err := opendata.New(cfg, b, s.logger.With("component", "opendata"),
		opendata.WithErrorWriter(func(w http.ResponseWriter, r *http.Request, httpStatus int, c codes.Code, message string) {
			s.writeError(w, r, httpStatus, c, openDataReason(c), message)
		}))
	if err != nil {
		return nil, fmt.Errorf("open data: %w", err)
	}
	return od, nil
}

// withOpenData serves /opendata/ with od, named in the metrics by its
// bounded routes, and every other path with next.
func withOpenData(next, od http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !opendata.Owns(r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		if st := stateFrom(r.Context()); st != nil && st.route != nil {
			st.route.name = opendata.Route(r.URL.Path)
		}
		od.ServeHTTP(w, r)
	})
}

// openDataReason is the stable reason of a refusal the downloads raise
// themselves.
func openDataReason(c codes.Code) apperr.Reason {
	switch c {
	case codes.NotFound:
		return apperr.ReasonRouteNotFound
	case codes.Unavailable, codes.ResourceExhausted:
		return apperr.ReasonServiceUnavailable
	case codes.InvalidArgument:
		return apperr.ReasonFieldInvalid
	case codes.DeadlineExceeded:
		return apperr.ReasonDeadlineExceeded
	default:
		return apperr.ReasonInternal
	}
}
