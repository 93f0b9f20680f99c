package adapters

import (
	"context"
	"strings"
	"time"

	catalogv1 "github.com/gemella/gemella/proto/gemella/catalog/v1"
	"github.com/gemella/gemella/services/platform/grpcx"
	"github.com/gemella/gemella/services/twinning/internal/app"
)

// catalogueName is how errors name the practice catalogue.
const catalogueName = "practice catalogue"

// CatalogClient asks the practice catalogue over gRPC. Each call has its
// own deadline; a catalogue that is down or slow is Unavailable.
type CatalogClient struct {
	client  catalogv1.CatalogServiceClient
	timeout time.Duration
}

// NewCatalogClient wraps a catalogue client; timeout bounds each call.
func NewCatalogClient(client catalogv1.CatalogServiceClient, timeout time.Duration) *CatalogClient {
	return &CatalogClient{client: client, timeout: timeout}
}

// Practice implements app.Catalog.
func (c *CatalogClient) Practice(ctx context.Context, idOrSlug string) (app.Practice, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	p, err := c.client.GetPractice(ctx, &catalogv1.GetPracticeRequest{Id: idOrSlug})
	if err != nil {
		return app.Practice{}, grpcx.FromStatus(err, catalogueName)
	}
	out := app.Practice{
		ID: p.GetId(), Title: p.GetTitle(),
		Status:               strings.ToLower(strings.TrimPrefix(p.GetStatus().String(), "PRACTICE_STATUS_")),
		OwnerOrganizationIDs: p.GetOwnerOrganizationIds(),
		Themes:               p.GetThemes(),
	}
	for _, m := range p.GetModels() {
		out.Models = append(out.Models, app.Model{Code: m.GetCode(), Title: m.GetTitle(), OwnerOrganizationID: m.GetOwnerOrganizationId()})
	}
	return out, nil
}

// Organization implements app.Catalog.
func (c *CatalogClient) Organization(ctx context.Context, id string) (app.Organization, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	o, err := c.client.GetOrganization(ctx, &catalogv1.GetOrganizationRequest{Id: id})
	if err != nil {
		return app.Organization{}, grpcx.FromStatus(err, catalogueName)
	}
	return app.Organization{ID: o.GetId(), Name: o.GetName(), TerritoryCode: o.GetTerritory().GetCode()}, nil
}
