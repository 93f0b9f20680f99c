package app

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	catalogv1 "github.com/gemella/gemella/proto/gemella/catalog/v1"
	discussionv1 "github.com/gemella/gemella/proto/gemella/discussion/v1"
	eventsv1 "github.com/gemella/gemella/proto/gemella/events/v1"
	twinningv1 "github.com/gemella/gemella/proto/gemella/twinning/v1"
	"github.com/gemella/gemella/services/notification/internal/store"
	"github.com/gemella/gemella/services/platform/events"
)

// The other services as anyone sees them: what is not in a map is not
// found (a draft, something deleted).
type fakeCatalog struct {
	catalogv1.CatalogServiceClient
	practices map[string]*catalogv1.Practice
}

func (f fakeCatalog) GetPractice(_ context.Context, r *catalogv1.GetPracticeRequest, _ ...grpc.CallOption) (*catalogv1.Practice, error) {
	if p, ok := f.practices[r.GetId()]; ok {
		return p, nil
	}
	return nil, status.Error(codes.NotFound, "practice not found")
}

type fakeTwinning struct {
	twinningv1.TwinningServiceClient
	twinnings map[string]*twinningv1.Twinning
}

func (f fakeTwinning) GetTwinning(_ context.Context, r *twinningv1.GetTwinningRequest, _ ...grpc.CallOption) (*twinningv1.Twinning, error) {
	if t, ok := f.twinnings[r.GetId()]; ok {
		return t, nil
	}
	return nil, status.Error(codes.NotFound, "twinning not found")
}

type fakeDiscussion struct {
	discussionv1.DiscussionServiceClient
	stories map[string]*discussionv1.Story
}

func (f fakeDiscussion) GetStory(_ context.Context, r *discussionv1.GetStoryRequest, _ ...grpc.CallOption) (*discussionv1.Story, error) {
	if s, ok := f.stories[r.GetId()]; ok {
		return s, nil
	}
	return nil, status.Error(codes.NotFound, "story not found")
}

func event(t *testing.T, subject, actor, aggType, id string, payload proto.Message) *eventsv1.Envelope {
	t.Helper()
	env, err := events.NewEnvelope(subject, actor, aggType, id, 2, payload, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return env
}

// TestWhoHearsOfWhat: a twinning's state move reaches its followers and
// its parties' members, not the member who moved it; a practice's
// publication reaches its organisation's editors and the organisation's
// followers; a story reaches those who follow its practice's organisation
// and its author; a draft twinning and a practice nobody may see reach
// nobody.
func TestWhoHearsOfWhat(t *testing.T) {
	st := startStore(t)
	ctx := context.Background()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	peers := Peers{
		Twinning: fakeTwinning{twinnings: map[string]*twinningv1.Twinning{
			"tw1":   {Id: "tw1", Title: "Tos.Ca.", Status: twinningv1.TwinningStatus_TWINNING_STATUS_ACTIVE, OfferingOrganizationIds: []string{"org-a"}, ReceivingOrganizationIds: []string{"org-b"}},
			"draft": {Id: "draft", Title: "Bozza", Status: twinningv1.TwinningStatus_TWINNING_STATUS_DRAFT, OfferingOrganizationIds: []string{"org-a"}},
		}},
		Catalog: fakeCatalog{practices: map[string]*catalogv1.Practice{
			"p1": {Id: "p1", Slug: "libretto", Title: "Libretto", Status: catalogv1.PracticeStatus_PRACTICE_STATUS_PUBLISHED, Revision: 1, OwnerOrganizationIds: []string{"org-a"}},
		}},
		Discussion: fakeDiscussion{stories: map[string]*discussionv1.Story{
			"s1": {Id: "s1", Title: "Com'è andata", PracticeId: "p1", AuthorId: "m-author", Status: discussionv1.StoryStatus_STORY_STATUS_PUBLISHED},
		}},
	}
	a := New(st, peers, Options{}, quiet)
	if err := a.BackfillFollowers(ctx); err != nil {
		t.Fatal(err)
	}
	for _, m := range []*store.Member{{ID: "m-editor", Organizations: []string{"org-a"}}, {ID: "m-other", Organizations: []string{"org-z"}}, {ID: "m-author"}} {
		if err := st.Members.Create(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range [][3]string{{"m-follower", KindTwinning, "tw1"}, {"m-mover", KindTwinning, "tw1"}, {"m-fan", KindOrganization, "org-a"}, {"m-follower", KindTwinning, "draft"}} {
		if _, err := a.follow(ctx, f[0], f[1], f[2], false, time.Now().Add(-time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	told := func(env *eventsv1.Envelope) map[string]string {
		t.Helper()
		if err := a.HandleEvent(ctx, env); err != nil {
			t.Fatalf("%s: %v", env.GetType(), err)
		}
		cur, err := st.Notifications.Collection().Find(ctx, bson.D{{Key: "event_id", Value: env.GetEventId()}})
		if err != nil {
			t.Fatal(err)
		}
		var ns []store.Notification
		if err := cur.All(ctx, &ns); err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, n := range ns {
			out[n.MemberID] = n.Reason
		}
		return out
	}
	expect := func(what string, got, want map[string]string) {
		t.Helper()
		if len(got) != len(want) {
			t.Errorf("%s: told %v, want %v", what, got, want)
			return
		}
		for m, r := range want {
			if got[m] != r {
				t.Errorf("%s: told %v, want %v", what, got, want)
				return
			}
		}
	}
	moved := event(t, "twinning.twinning.activated", "m-mover", "twinning", "tw1",
		&eventsv1.TwinningChanged{Change: &twinningv1.StatusChange{To: twinningv1.TwinningStatus_TWINNING_STATUS_ACTIVE}})
	expect("a state move", told(moved), map[string]string{"m-follower": ReasonTwinningState, "m-editor": ReasonTwinningState})
	// Who follows after the event does not hear of it, also when it is
	// delivered again.
	if _, err := a.follow(ctx, "m-late", KindTwinning, "tw1", false, time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	expect("the same event again", told(moved), map[string]string{"m-follower": ReasonTwinningState, "m-editor": ReasonTwinningState})
	expect("an edit of the details", told(event(t, "twinning.twinning.updated", "m-mover", "twinning", "tw1",
		&eventsv1.TwinningUpdated{Twinning: &eventsv1.TwinningRef{Id: "tw1", Status: twinningv1.TwinningStatus_TWINNING_STATUS_ACTIVE}})), map[string]string{})
	expect("a draft's move", told(event(t, "twinning.twinning.proposed", "m-mover", "twinning", "draft", &eventsv1.TwinningChanged{})), map[string]string{})
	outcome := event(t, "twinning.transfer.status_changed", "m-mover", "twinning", "tw1",
		&eventsv1.TransferStatusChanged{From: twinningv1.TransferStatus_TRANSFER_STATUS_IN_PROGRESS, To: twinningv1.TransferStatus_TRANSFER_STATUS_ADOPTED,
			Transfer: &eventsv1.TransferRef{Id: "tr-b", ModelCode: "B", ModelTitle: "Libretto formativo"}})
	expect("a transfer's outcome", told(outcome),
		map[string]string{"m-follower": ReasonTransferStatus, "m-editor": ReasonTransferStatus})
	// Which transfer: its model, as people tell a twinning's transfers apart.
	if n, err := st.Notifications.Get(ctx, store.NotificationID(outcome.GetEventId(), "m-follower")); err != nil {
		t.Fatal(err)
	} else if it, en := Text(n, "it"), Text(n, "en"); it != "Il modello B «Libretto formativo» del gemellaggio «Tos.Ca.» è ora adottato" ||
		en != "Model B “Libretto formativo” of twinning “Tos.Ca.” is now adopted" {
		t.Errorf("a transfer's text: %q / %q", it, en)
	}
	// A proposal announcing its transfers to the catalogue (from = to)
	// tells nobody: the proposal's own event does.
	expect("a transfer announced", told(event(t, "twinning.transfer.status_changed", "m-mover", "twinning", "tw1",
		&eventsv1.TransferStatusChanged{From: twinningv1.TransferStatus_TRANSFER_STATUS_PLANNED, To: twinningv1.TransferStatus_TRANSFER_STATUS_PLANNED})), map[string]string{})
	expect("a publication", told(event(t, "catalog.practice.published", "system:x", "practice", "p1", &eventsv1.PracticePublished{})),
		map[string]string{"m-editor": ReasonPracticePublished, "m-fan": ReasonNewPractice})
	expect("a practice nobody may see", told(event(t, "catalog.practice.published", "m-editor", "practice", "hidden", &eventsv1.PracticePublished{})), map[string]string{})
	expect("a story", told(event(t, "discussion.story.published", "m-mod", "story", "s1", &eventsv1.StoryPublished{})),
		map[string]string{"m-fan": ReasonNewStory, "m-author": ReasonNewStory})

	n, err := st.Notifications.Get(ctx, store.NotificationID(moved.GetEventId(), "m-follower"))
	if err != nil {
		t.Fatal(err)
	}
	if got := Text(n, "it"); got != "Il gemellaggio «Tos.Ca.» è ora attivo" {
		t.Errorf("text: %q", got)
	}
	if got := Text(n, "en"); got != "Twinning “Tos.Ca.” is now active" {
		t.Errorf("text: %q", got)
	}
}
