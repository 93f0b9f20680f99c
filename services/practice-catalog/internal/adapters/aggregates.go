package adapters

import (
	"context"

	"github.com/gemella/gemella/services/platform/mongox"
	"github.com/gemella/gemella/services/platform/outbox"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/need"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/offer"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/organization"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/practice"
)

// How each aggregate of the catalog is kept: one description serves the
// MongoDB store and its in-memory twin alike.
var (
	organizationAggregate = describe("organisation", toOrganizationDoc, (*organizationDoc).toDomain, organization.ErrNotFound, func(o *organization.Organization) *int64 { return &o.Version }, (*organization.Organization).Changes, EncodeOrganizationEvent)
	needAggregate         = describe("need", toNeedDoc, (*needDoc).toDomain, need.ErrNotFound, func(n *need.Need) *int64 { return &n.Version }, (*need.Need).Changes, EncodeNeedEvent)
	offerAggregate        = describe("offer", toOfferDoc, (*offerDoc).toDomain, offer.ErrNotFound, func(o *offer.Offer) *int64 { return &o.Version }, (*offer.Offer).Changes, EncodeOfferEvent)
	practiceAggregate     = withUniqueSlug(describe("practice", toPracticeDoc, (*practiceDoc).toDomain, practice.ErrNotFound, func(p *practice.Practice) *int64 { return &p.Version }, (*practice.Practice).Changes, EncodePracticeEvent))
)

// describe says what every aggregate of the catalog has: a name, its
// document, its NotFound error, its version field, and its changes with
// the encoder of their events.
func describe[A, D, C any](name string, toDoc func(*A) D, toDomain func(*D) *A, notFound func(string) error,
	version func(*A) *int64, changes func(*A) []C, encode func(context.Context, *A, C) (outbox.Record, error)) mongox.Aggregate[A, D] {
	return mongox.Aggregate[A, D]{
		Name: name, ToDoc: toDoc, ToDomain: toDomain, NotFound: notFound,
		Version: version, Events: mongox.EncodeChanges(changes, encode),
	}
}

// withUniqueSlug adds the practices' other unique index, the slug.
func withUniqueSlug(g mongox.Aggregate[practice.Practice, practiceDoc]) mongox.Aggregate[practice.Practice, practiceDoc] {
	g.Conflict = func(p *practice.Practice) error { return practice.ErrSlugTaken(p.Slug) }
	g.UniqueKeys = func(d *practiceDoc) []string { return []string{"slug:" + d.Content.Slug} }
	return g
}
