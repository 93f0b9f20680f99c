package portal

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	catalogv1 "github.com/gemella/gemella/proto/gemella/catalog/v1"
	discussionv1 "github.com/gemella/gemella/proto/gemella/discussion/v1"
	notificationv1 "github.com/gemella/gemella/proto/gemella/notification/v1"
	twinningv1 "github.com/gemella/gemella/proto/gemella/twinning/v1"
)

// Backends are the three services the portal reads and writes through.
// The generated client interfaces let tests pass fakes; a nil client
// stands for a service the gateway does not route to, and answers every
// call with UNAVAILABLE, so its part of each page says so and the rest of
// the page works.
type Backends struct {
	Catalog    catalogv1.CatalogServiceClient
	Twinning   twinningv1.TwinningServiceClient
	Discussion discussionv1.DiscussionServiceClient
	// Reports are the twinnings' reports, served by the twinning service.
	Reports twinningv1.ReportServiceClient
	// Notification keeps follows, notifications and their preferences.
	Notification notificationv1.NotificationServiceClient
}

func (b Backends) withDefaults() Backends {
	if b.Catalog == nil {
		b.Catalog = catalogv1.NewCatalogServiceClient(unavailableConn{"catalog"})
	}
	if b.Twinning == nil {
		b.Twinning = twinningv1.NewTwinningServiceClient(unavailableConn{"twinning"})
	}
	if b.Reports == nil {
		b.Reports = twinningv1.NewReportServiceClient(unavailableConn{"twinning"})
	}
	if b.Discussion == nil {
		b.Discussion = discussionv1.NewDiscussionServiceClient(unavailableConn{"discussion"})
	}
	if b.Notification == nil {
		b.Notification = notificationv1.NewNotificationServiceClient(unavailableConn{"notification"})
	}
	return b
}

// unavailableConn is the connection of a service that is not configured.
type unavailableConn struct{ name string }

func (c unavailableConn) Invoke(context.Context, string, any, any, ...grpc.CallOption) error {
	return status.Errorf(codes.Unavailable, "the %s service is not configured in this gateway", c.name)
}

func (c unavailableConn) NewStream(context.Context, *grpc.StreamDesc, string, ...grpc.CallOption) (grpc.ClientStream, error) {
	return nil, status.Errorf(codes.Unavailable, "the %s service is not configured in this gateway", c.name)
}

// orgDirectory keeps the names of the organisations for a short while:
// almost every page names some (owners, parties, members' organisations),
// and one list call is cheaper than a call per name.
type orgDirectory struct {
	catalog catalogv1.CatalogServiceClient
	ttl     time.Duration
	now     func() time.Time

	mu      sync.Mutex
	loaded  time.Time
	byID    map[string]*catalogv1.Organization
	ordered []*catalogv1.Organization
}

// forget drops the list, so that the next page reads it again: after an
// organisation is registered or changed here.
func (d *orgDirectory) forget() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.byID, d.ordered = nil, nil
}

// orgDirectoryPages bounds one refresh: 20 pages of 100 organisations.
const orgDirectoryPages = 20

// all returns every organisation by name, refreshing the list when it is
// older than the ttl. On a failed refresh the old list is kept if there is
// one, and the error is returned only when there is nothing to show.
func (d *orgDirectory) all(ctx context.Context) ([]*catalogv1.Organization, map[string]*catalogv1.Organization, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.byID != nil && d.now().Sub(d.loaded) < d.ttl {
		return d.ordered, d.byID, nil
	}
	var ordered []*catalogv1.Organization
	token := ""
	for range orgDirectoryPages {
		resp, err := d.catalog.ListOrganizations(ctx, &catalogv1.ListOrganizationsRequest{PageSize: 100, PageToken: token})
		if err != nil {
			if d.byID != nil {
				return d.ordered, d.byID, nil
			}
			return nil, map[string]*catalogv1.Organization{}, err
		}
		ordered = append(ordered, resp.GetOrganizations()...)
		token = resp.GetNextPageToken()
		if token == "" {
			break
		}
	}
	byID := make(map[string]*catalogv1.Organization, len(ordered))
	for _, o := range ordered {
		byID[o.GetId()] = o
	}
	d.ordered, d.byID, d.loaded = ordered, byID, d.now()
	return ordered, byID, nil
}

// orgNames maps organisation ids to names for templates; an unknown id
// shows as itself.
type orgNames map[string]*catalogv1.Organization

// Name is the organisation's name, or the id when it is not known.
func (n orgNames) Name(id string) string {
	if o, ok := n[id]; ok {
		return o.GetName()
	}
	return id
}

// territory is a territory the platform's organisations lie in.
type territory struct{ Code, Name string }

// territories are the organisations' territories by name, each once: the
// choice of territory in forms, and the names of the codes that search
// facets count.
func territories(orgs []*catalogv1.Organization) []territory {
	seen := map[string]bool{}
	var out []territory
	for _, o := range orgs {
		t := o.GetTerritory()
		if t.GetCode() == "" || seen[t.GetCode()] {
			continue
		}
		seen[t.GetCode()] = true
		name := t.GetName()
		if name == "" {
			name = t.GetCode()
		}
		out = append(out, territory{Code: t.GetCode(), Name: name})
	}
	slices.SortFunc(out, func(a, b territory) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Territory is the name of a territory code, from the organisations that
// lie in it; the code itself when none does.
func (n orgNames) Territory(code string) string {
	for _, o := range n {
		if o.GetTerritory().GetCode() == code && o.GetTerritory().GetName() != "" {
			return o.GetTerritory().GetName()
		}
	}
	return code
}
