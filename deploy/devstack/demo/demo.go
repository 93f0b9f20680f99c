// Package demo loads the organisations and practices of the seed texts
// (Regione Toscana and Comune di Firenze's "Tos.Ca.", the mechanics
// Technical-Professional Poles, Regione Marche's labour policies) into a
// catalog, through its public API, so that a fresh `make run` shows what the
// product is for. The data is in data.go.
package demo

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	catalogv1 "github.com/gemella/gemella/proto/gemella/catalog/v1"
)

// callTimeout bounds each call to the catalog.
const callTimeout = 15 * time.Second

// Request ids are derived from each object's key, so that a second Load
// gets back the objects of the first instead of creating new ones.
const (
	organizationRequestPrefix = "demo-org-"
	practiceRequestPrefix     = "demo-practice-"
)

// LoadOption adjusts Load.
type LoadOption func(*loadOptions)

type loadOptions struct {
	asEditorOf func(ctx context.Context, orgIDs []string) (context.Context, error)
}

// AsEditorOf gives Load the identity it writes the practices with: the
// catalog lets only an editor of a practice's owners create it, and the
// organisations' ids exist only once Load has created them. fn returns ctx
// carrying a session token of an editor of orgIDs who is also a coordinator
// (to publish). Without it, Load writes everything with ctx as it is.
func AsEditorOf(fn func(ctx context.Context, orgIDs []string) (context.Context, error)) LoadOption {
	return func(o *loadOptions) { o.asEditorOf = fn }
}

// Load creates the demo organisations and practices and brings each
// practice to PUBLISHED (submitting and publishing it as a coordinator
// would). ctx must carry the token of an administrator or coordinator, who
// may create organisations (see AsEditorOf for the practices). It is
// idempotent: running it again creates nothing and moves nothing that is
// already published. A practice someone archived stays archived.
func Load(ctx context.Context, client catalogv1.CatalogServiceClient, logger *slog.Logger, opts ...LoadOption) error {
	if logger == nil {
		logger = slog.Default()
	}
	var options loadOptions
	for _, opt := range opts {
		opt(&options)
	}
	ids := make(map[string]string, len(organizations))
	for _, o := range organizations {
		msg, err := o.proto(ids)
		if err != nil {
			return err
		}
		callCtx, cancel := context.WithTimeout(ctx, callTimeout)
		created, err := client.CreateOrganization(callCtx, &catalogv1.CreateOrganizationRequest{
			Organization: msg, RequestId: organizationRequestPrefix + o.key,
		})
		cancel()
		if err != nil {
			return fmt.Errorf("create organisation %s: %w", o.key, err)
		}
		ids[o.key] = created.GetId()
		logger.Debug("demo organisation", "key", o.key, "id", created.GetId())
	}
	if options.asEditorOf != nil {
		var all []string
		for _, id := range ids {
			all = append(all, id)
		}
		var err error
		if ctx, err = options.asEditorOf(ctx, all); err != nil {
			return fmt.Errorf("demo: the identity to write practices with: %w", err)
		}
	}
	for _, p := range practices {
		msg, err := p.proto(ids)
		if err != nil {
			return err
		}
		callCtx, cancel := context.WithTimeout(ctx, callTimeout)
		created, err := client.CreatePractice(callCtx, &catalogv1.CreatePracticeRequest{
			Practice: msg, RequestId: practiceRequestPrefix + p.key,
		})
		cancel()
		if err != nil {
			return fmt.Errorf("create practice %s: %w", p.key, err)
		}
		published, err := publish(ctx, client, created)
		if err != nil {
			return fmt.Errorf("publish practice %s: %w", p.key, err)
		}
		logger.Debug("demo practice", "key", p.key, "id", published.GetId(), "status", published.GetStatus())
	}
	logger.Info("demo data loaded", "organisations", len(organizations), "practices", len(practices))
	return nil
}

// publish walks a practice from where it is to PUBLISHED, one legal move at
// a time, each against the etag it has just seen.
func publish(ctx context.Context, client catalogv1.CatalogServiceClient, p *catalogv1.Practice) (*catalogv1.Practice, error) {
	for {
		callCtx, cancel := context.WithTimeout(ctx, callTimeout)
		var err error
		switch p.GetStatus() {
		case catalogv1.PracticeStatus_PRACTICE_STATUS_DRAFT:
			p, err = client.SubmitPractice(callCtx, &catalogv1.SubmitPracticeRequest{Id: p.GetId(), Etag: p.GetEtag()})
		case catalogv1.PracticeStatus_PRACTICE_STATUS_SUBMITTED:
			p, err = client.PublishPractice(callCtx, &catalogv1.PublishPracticeRequest{Id: p.GetId(), Etag: p.GetEtag()})
		case catalogv1.PracticeStatus_PRACTICE_STATUS_PUBLISHED, catalogv1.PracticeStatus_PRACTICE_STATUS_ARCHIVED:
			cancel()
			return p, nil
		default:
			err = fmt.Errorf("unexpected status %s", p.GetStatus())
		}
		cancel()
		if err != nil {
			return nil, err
		}
	}
}

// Counts is how many organisations and practices Load creates.
func Counts() (organizationCount, practiceCount int) {
	return len(organizations), len(practices)
}

// proto resolves the organisation's references to the ids created so far.
func (o organization) proto(ids map[string]string) (*catalogv1.Organization, error) {
	msg := &catalogv1.Organization{
		Name:        o.name,
		Kind:        o.kind,
		Territory:   &catalogv1.Territory{Code: o.territory.code, Name: o.territory.name},
		Website:     o.website,
		Description: o.description,
	}
	var err error
	if o.parent != "" {
		if msg.ParentId, err = resolve(ids, o.key, o.parent); err != nil {
			return nil, err
		}
	}
	for _, n := range o.networks {
		id, err := resolve(ids, o.key, n)
		if err != nil {
			return nil, err
		}
		msg.NetworkIds = append(msg.NetworkIds, id)
	}
	return msg, nil
}

// proto resolves the practice's owners to organisation ids.
func (p practice) proto(ids map[string]string) (*catalogv1.Practice, error) {
	msg := &catalogv1.Practice{
		Slug:          p.slug,
		Title:         p.title,
		Summary:       p.summary,
		Description:   p.description,
		Themes:        p.themes,
		Sectors:       p.sectors,
		Programme:     &catalogv1.Programme{Name: p.programme.name, Priorities: p.programme.priorities},
		Territory:     &catalogv1.Territory{Code: p.territory.code, Name: p.territory.name},
		Problem:       p.problem,
		Results:       p.results,
		Evidence:      p.evidence,
		Resources:     p.resources,
		Prerequisites: p.prerequisites,
		StartDate:     p.startDate,
		Ongoing:       p.ongoing,
		Contact:       &catalogv1.Contact{Name: p.contact.name, Email: p.contact.email, Phone: p.contact.phone},
		Languages:     p.languages,
	}
	for _, owner := range p.owners {
		id, err := resolve(ids, p.key, owner)
		if err != nil {
			return nil, err
		}
		msg.OwnerOrganizationIds = append(msg.OwnerOrganizationIds, id)
	}
	for _, l := range p.attachments {
		msg.Attachments = append(msg.Attachments, &catalogv1.Link{Title: l.title, Url: l.url})
	}
	for _, m := range p.models {
		owner, err := resolve(ids, p.key+" model "+m.code, m.owner)
		if err != nil {
			return nil, err
		}
		msg.Models = append(msg.Models, &catalogv1.Model{Code: m.code, Title: m.title, Description: m.description, OwnerOrganizationId: owner})
	}
	return msg, nil
}

// resolve finds the id of an organisation created earlier in the list.
func resolve(ids map[string]string, from, key string) (string, error) {
	id, ok := ids[key]
	if !ok {
		return "", fmt.Errorf("demo data: %s refers to organisation %q, which is not listed before it", from, key)
	}
	return id, nil
}
