// Package searchindex is the discussion's full-text index of what it
// shows everyone: threads, visible posts and published stories. It
// follows the discussion's own stream; events are thin, so each one
// reads its post, thread or story again from the repositories, and a
// post that is hidden or deleted, or a story not published, leaves the
// index. The index itself is the platform's (services/platform/search).
package searchindex

import (
	"context"
	"fmt"
	"strings"

	"google.golang.org/protobuf/proto"

	discussionv1 "github.com/gemella/gemella/proto/gemella/discussion/v1"
	eventsv1 "github.com/gemella/gemella/proto/gemella/events/v1"
	"github.com/gemella/gemella/services/discussion/internal/domain/post"
	"github.com/gemella/gemella/services/discussion/internal/domain/story"
	"github.com/gemella/gemella/services/discussion/internal/domain/thread"
	"github.com/gemella/gemella/services/discussion/internal/protoconv"
	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/markdown"
	"github.com/gemella/gemella/services/platform/paging"
	psearch "github.com/gemella/gemella/services/platform/search"
)

// Kinds of documents.
const (
	KindThread = "thread"
	KindPost   = "post"
	KindStory  = "story"
)

// Schema versions the documents below: change it when they change.
// discussion-2: bodies are indexed as plain text, without their Markdown.
const Schema = "discussion-2"

// Subjects the index follows.
var Subjects = []string{"discussion.thread.>", "discussion.post.>", "discussion.story.>"}

// Source is what documents are read from: the repositories.
type Source struct {
	Threads thread.Repository
	Posts   post.Repository
	Stories story.Repository
}

func docID(kind, id string) string { return kind + ":" + id }

// body is the text of a Markdown body that is indexed: its words without
// the Markdown, so that a hit's highlighted fragments read as the page
// does, not as "**grassetto**" or "[link](http://…)".
func body(md string) string { return markdown.Text(md) }

// ThreadDoc is the document of a thread.
func ThreadDoc(t *thread.Thread) (psearch.Document, error) {
	src, err := proto.Marshal(&discussionv1.ThreadHit{Thread: protoconv.Thread(t)})
	return psearch.Document{
		ID: docID(KindThread, t.ID), Kind: KindThread, Version: t.Version, Language: psearch.DefaultLanguage,
		Title: t.Title, Texts: []psearch.NamedText{{Field: "body", Text: body(t.Body)}}, Time: t.CreatedAt, Source: src,
	}, err
}

// PostDoc is the document of a visible post; threadTitle is its thread's.
func PostDoc(p *post.Post, threadTitle string) (psearch.Document, error) {
	src, err := proto.Marshal(&discussionv1.PostHit{Post: protoconv.Post(p.Redacted()), ThreadTitle: threadTitle})
	return psearch.Document{
		ID: docID(KindPost, p.ID), Kind: KindPost, Version: p.Version, Language: psearch.DefaultLanguage,
		Texts: []psearch.NamedText{{Field: "body", Text: body(p.Body)}}, Time: p.CreatedAt, Source: src,
	}, err
}

// StoryDoc is the document of a published story.
func StoryDoc(s *story.Story) (psearch.Document, error) {
	src, err := proto.Marshal(&discussionv1.StoryHit{Story: protoconv.Story(s)})
	return psearch.Document{
		ID: docID(KindStory, s.ID), Kind: KindStory, Version: s.Version, Language: psearch.DefaultLanguage,
		Title: s.Title, Texts: []psearch.NamedText{{Field: "body", Text: body(s.Body)}}, Time: s.PublishedAt, Source: src,
	}, err
}

// Changes reads again the aggregate an event is about and says what the
// index does with it.
func (src Source) Changes(ctx context.Context, env *eventsv1.Envelope) ([]psearch.Change, error) {
	id, version := env.GetAggregateId(), env.GetAggregateVersion()
	switch {
	case strings.HasPrefix(env.GetType(), "discussion.thread."):
		t, err := src.Threads.Get(ctx, id)
		if gone(err) {
			return []psearch.Change{psearch.Remove(docID(KindThread, id), version)}, nil
		} else if err != nil {
			return nil, err
		}
		d, err := ThreadDoc(t)
		return []psearch.Change{psearch.Put(d)}, err
	case strings.HasPrefix(env.GetType(), "discussion.post."):
		p, err := src.Posts.Get(ctx, id)
		if gone(err) {
			return []psearch.Change{psearch.Remove(docID(KindPost, id), version)}, nil
		} else if err != nil {
			return nil, err
		}
		if p.State != post.Visible {
			return []psearch.Change{psearch.Remove(docID(KindPost, id), p.Version)}, nil
		}
		title := ""
		if t, err := src.Threads.Get(ctx, p.ThreadID); err == nil {
			title = t.Title
		} else if !gone(err) {
			return nil, err
		}
		d, err := PostDoc(p, title)
		return []psearch.Change{psearch.Put(d)}, err
	case strings.HasPrefix(env.GetType(), "discussion.story."):
		s, err := src.Stories.Get(ctx, id)
		if gone(err) {
			return []psearch.Change{psearch.Remove(docID(KindStory, id), version)}, nil
		} else if err != nil {
			return nil, err
		}
		if s.Status != story.Published {
			return []psearch.Change{psearch.Remove(docID(KindStory, id), s.Version)}, nil
		}
		d, err := StoryDoc(s)
		return []psearch.Change{psearch.Put(d)}, err
	}
	return nil, nil
}

func gone(err error) bool { return err != nil && apperr.KindOf(err) == apperr.KindNotFound }

const page = 200

// All lists every thread, visible post and published story.
func (src Source) All(ctx context.Context, yield func(psearch.Document) error) error {
	titles := map[string]string{}
	var threads []string
	err := eachPage(ctx, func(after *paging.Cursor) ([]*thread.Thread, error) {
		return src.Threads.List(ctx, thread.Filter{}, after, page)
	}, func(t *thread.Thread) *paging.Cursor { return &paging.Cursor{Key: t.SortKey(), ID: t.ID} }, func(t *thread.Thread) error {
		titles[t.ID] = t.Title
		threads = append(threads, t.ID)
		d, err := ThreadDoc(t)
		if err != nil {
			return err
		}
		return yield(d)
	})
	if err != nil {
		return fmt.Errorf("threads: %w", err)
	}
	for _, id := range threads {
		err := eachPage(ctx, func(after *paging.Cursor) ([]*post.Post, error) {
			return src.Posts.List(ctx, post.Filter{ThreadID: id}, after, page)
		}, func(p *post.Post) *paging.Cursor { return &paging.Cursor{Key: p.SortKey(), ID: p.ID} }, func(p *post.Post) error {
			if p.State != post.Visible {
				return nil
			}
			d, err := PostDoc(p, titles[p.ThreadID])
			if err != nil {
				return err
			}
			return yield(d)
		})
		if err != nil {
			return fmt.Errorf("posts of %s: %w", id, err)
		}
	}
	err = eachPage(ctx, func(after *paging.Cursor) ([]*story.Story, error) {
		return src.Stories.List(ctx, story.Filter{Status: story.Published}, after, page)
	}, func(s *story.Story) *paging.Cursor { return &paging.Cursor{Key: s.SortKey(), ID: s.ID} }, func(s *story.Story) error {
		if s.Status != story.Published {
			return nil
		}
		d, err := StoryDoc(s)
		if err != nil {
			return err
		}
		return yield(d)
	})
	if err != nil {
		return fmt.Errorf("stories: %w", err)
	}
	return nil
}

func eachPage[T any](ctx context.Context, list func(after *paging.Cursor) ([]T, error), cursor func(T) *paging.Cursor, fn func(T) error) error {
	var after *paging.Cursor
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		items, err := list(after)
		if err != nil {
			return err
		}
		for _, it := range items {
			if err := fn(it); err != nil {
				return err
			}
		}
		if len(items) < page {
			return nil
		}
		after = cursor(items[len(items)-1])
	}
}
