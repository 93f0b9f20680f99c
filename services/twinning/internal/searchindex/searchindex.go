// Package searchindex is the twinning service's full-text index of its
// public twinnings (neither drafts nor cancelled ones): title, summary,
// objectives, expected results, the models' and practices' titles, the
// parties' names and the programme. It follows the twinning stream;
// events are thin, so each one reads its twinning again from the
// repository, and the parties' names and the practices' themes from the
// catalogue (as anyone would see them).
package searchindex

import (
	"context"
	"log/slog"
	"strings"

	"google.golang.org/protobuf/proto"

	eventsv1 "github.com/gemella/gemella/proto/gemella/events/v1"
	twinningv1 "github.com/gemella/gemella/proto/gemella/twinning/v1"
	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/markdown"
	"github.com/gemella/gemella/services/platform/paging"
	psearch "github.com/gemella/gemella/services/platform/search"
	"github.com/gemella/gemella/services/twinning/internal/app"
	"github.com/gemella/gemella/services/twinning/internal/domain/twinning"
	"github.com/gemella/gemella/services/twinning/internal/protoconv"
)

// Kind is the kind of the index's documents.
const Kind = "twinning"

// Schema versions the documents below: change it when they change.
// twinning-2: the summary is indexed as plain text, without its Markdown.
const Schema = "twinning-2"

// Subjects the index follows.
var Subjects = []string{"twinning.>"}

// Source is what documents are read from.
type Source struct {
	Twinnings twinning.Repository
	// Catalog names the parties and tells the practices' themes; nil, or
	// out of reach, leaves them out (the next reconcile adds them).
	Catalog app.Catalog
	Today   func() string
	Logger  *slog.Logger
}

// Public tells whether everyone sees a twinning in search.
func Public(t *twinning.Twinning) bool {
	return t.Status != twinning.Draft && t.Status != twinning.Cancelled
}

// Doc is the document of a public twinning.
func (src Source) Doc(ctx context.Context, t *twinning.Twinning) (psearch.Document, error) {
	var texts []psearch.NamedText
	add := func(field, text string) {
		if strings.TrimSpace(text) != "" {
			texts = append(texts, psearch.NamedText{Field: field, Text: text})
		}
	}
	add("code", t.Code)
	// The summary is Markdown, shown rendered: its words are indexed, so
	// that a hit's snippet reads as the page does.
	add("summary", markdown.Text(t.Summary))
	for _, o := range t.Objectives {
		add("objectives", o.Text)
	}
	for _, r := range t.ExpectedResults {
		add("expected_results", r)
	}
	seenPractice := map[string]bool{}
	var themes []string
	for _, tr := range t.Transfers {
		add("models", tr.ModelTitle)
		if seenPractice[tr.PracticeID] {
			continue
		}
		seenPractice[tr.PracticeID] = true
		add("practices", tr.PracticeTitle)
		if src.Catalog != nil && tr.PracticeID != "" {
			if p, err := src.Catalog.Practice(ctx, tr.PracticeID); err == nil {
				themes = append(themes, p.Themes...)
			} else {
				src.logger().Warn("search index: practice themes left out", "twinning", t.ID, "practice", tr.PracticeID, "err", err)
			}
		}
	}
	if src.Catalog != nil {
		for _, id := range t.Parties() {
			if o, err := src.Catalog.Organization(ctx, id); err == nil {
				add("parties", o.Name)
			} else {
				src.logger().Warn("search index: party name left out", "twinning", t.ID, "organization", id, "err", err)
			}
		}
	}
	add("programme", strings.TrimSpace(t.Programme.Name+" "+strings.Join(t.Programme.Priorities, ", ")))
	today := ""
	if src.Today != nil {
		today = src.Today()
	}
	source, err := proto.Marshal(&twinningv1.TwinningHit{Twinning: protoconv.Twinning(t, today)})
	return psearch.Document{
		ID: t.ID, Kind: Kind, Version: t.Version, Language: psearch.DefaultLanguage, Title: t.Title, Texts: texts,
		Territories: t.TerritoryCodes, Themes: themes, Time: t.CreatedAt, Source: source,
	}, err
}

func (src Source) logger() *slog.Logger {
	if src.Logger == nil {
		return slog.Default()
	}
	return src.Logger
}

// Changes reads again the twinning an event is about.
func (src Source) Changes(ctx context.Context, env *eventsv1.Envelope) ([]psearch.Change, error) {
	if !strings.HasPrefix(env.GetType(), "twinning.") {
		return nil, nil
	}
	id := env.GetAggregateId()
	t, err := src.Twinnings.Get(ctx, id)
	if apperr.KindOf(err) == apperr.KindNotFound {
		return []psearch.Change{psearch.Remove(id, env.GetAggregateVersion())}, nil
	} else if err != nil {
		return nil, err
	}
	if !Public(t) {
		return []psearch.Change{psearch.Remove(id, t.Version)}, nil
	}
	d, err := src.Doc(ctx, t)
	return []psearch.Change{psearch.Put(d)}, err
}

const page = 200

// All lists every public twinning. The catalogue is asked once per
// practice and organisation for the whole listing (errors included):
// a rebuild after a restart reads hundreds of twinnings that share a
// few dozen parties and practices.
func (src Source) All(ctx context.Context, yield func(psearch.Document) error) error {
	if src.Catalog != nil {
		src.Catalog = &onceCatalog{Catalog: src.Catalog, practices: map[string]practiceAnswer{}, orgs: map[string]orgAnswer{}}
	}
	var after *paging.Cursor
	for {
		items, err := src.Twinnings.List(ctx, twinning.Filter{}, after, page)
		if err != nil {
			return err
		}
		for _, t := range items {
			if !Public(t) {
				continue
			}
			d, err := src.Doc(ctx, t)
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

type practiceAnswer struct {
	p   app.Practice
	err error
}

type orgAnswer struct {
	o   app.Organization
	err error
}

// onceCatalog remembers the catalogue's answers for one listing; it is
// used by one goroutine.
type onceCatalog struct {
	app.Catalog
	practices map[string]practiceAnswer
	orgs      map[string]orgAnswer
}

func (c *onceCatalog) Practice(ctx context.Context, idOrSlug string) (app.Practice, error) {
	a, ok := c.practices[idOrSlug]
	if !ok {
		a.p, a.err = c.Catalog.Practice(ctx, idOrSlug)
		c.practices[idOrSlug] = a
	}
	return a.p, a.err
}

func (c *onceCatalog) Organization(ctx context.Context, id string) (app.Organization, error) {
	a, ok := c.orgs[id]
	if !ok {
		a.o, a.err = c.Catalog.Organization(ctx, id)
		c.orgs[id] = a
	}
	return a.o, a.err
}
