// Package orgsearch is the catalog's full-text index of organisations
// (name, description, territory), on the platform's generic index
// (services/platform/search): the practices' and needs' index is tuned
// for its own queries, and organisations are few and change little. It
// follows the catalog's stream; events are thin, so each one reads its
// organisation again from the repository.
package orgsearch

import (
	"context"
	"strings"

	"google.golang.org/protobuf/proto"

	catalogv1 "github.com/gemella/gemella/proto/gemella/catalog/v1"
	eventsv1 "github.com/gemella/gemella/proto/gemella/events/v1"
	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/markdown"
	"github.com/gemella/gemella/services/platform/paging"
	psearch "github.com/gemella/gemella/services/platform/search"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/organization"
	"github.com/gemella/gemella/services/practice-catalog/internal/protoconv"
)

// Kind is the kind of the index's documents.
const Kind = "organization"

// Schema versions the documents below.
// organizations-2: the description is indexed as plain text, without its
// Markdown.
const Schema = "organizations-2"

// Subjects the index follows.
var Subjects = []string{"catalog.organisation.>"}

// Source reads the organisations.
type Source struct{ Organizations organization.Repository }

// Doc is the document of an organisation.
func Doc(o *organization.Organization) (psearch.Document, error) {
	src, err := proto.Marshal(&catalogv1.OrganizationHit{Organization: protoconv.Organization(o)})
	var texts []psearch.NamedText
	if o.Description != "" {
		// Markdown, shown rendered: its words are indexed, so that a
		// hit's snippet reads as the page does.
		texts = append(texts, psearch.NamedText{Field: "description", Text: markdown.Text(o.Description)})
	}
	if o.Territory.Name != "" {
		texts = append(texts, psearch.NamedText{Field: "territory", Text: o.Territory.Name})
	}
	var territories []string
	if o.Territory.Code != "" {
		territories = []string{o.Territory.Code}
	}
	return psearch.Document{
		ID: o.ID, Kind: Kind, Version: o.Version, Language: psearch.DefaultLanguage, Title: o.Name, Texts: texts,
		Territories: territories, Time: o.CreatedAt, Source: src,
	}, err
}

// Changes reads again the organisation an event is about.
func (src Source) Changes(ctx context.Context, env *eventsv1.Envelope) ([]psearch.Change, error) {
	if !strings.HasPrefix(env.GetType(), "catalog.organisation.") {
		return nil, nil
	}
	o, err := src.Organizations.Get(ctx, env.GetAggregateId())
	if apperr.KindOf(err) == apperr.KindNotFound {
		return []psearch.Change{psearch.Remove(env.GetAggregateId(), env.GetAggregateVersion())}, nil
	} else if err != nil {
		return nil, err
	}
	d, err := Doc(o)
	return []psearch.Change{psearch.Put(d)}, err
}

const page = 200

// All lists every organisation.
func (src Source) All(ctx context.Context, yield func(psearch.Document) error) error {
	var after *paging.Cursor
	for {
		items, err := src.Organizations.List(ctx, organization.Filter{}, after, page)
		if err != nil {
			return err
		}
		for _, o := range items {
			d, err := Doc(o)
			if err != nil {
				return err
			}
			if err := yield(d); err != nil {
				return err
			}
		}
		if len(items) < page {
			return nil
		}
		last := items[len(items)-1]
		after = &paging.Cursor{Key: last.SortKey(), ID: last.ID}
	}
}
