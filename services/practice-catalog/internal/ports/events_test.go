package ports_test

import (
	"context"
	"testing"
	"time"

	eventsv1 "github.com/gemella/gemella/proto/gemella/events/v1"
	twinningv1 "github.com/gemella/gemella/proto/gemella/twinning/v1"
	"github.com/gemella/gemella/services/platform/events"
	"github.com/gemella/gemella/services/practice-catalog/internal/adapters"
	"github.com/gemella/gemella/services/practice-catalog/internal/app"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/practice"
	"github.com/gemella/gemella/services/practice-catalog/internal/ports"
)

func TestTwinningEvents(t *testing.T) {
	ctx := context.Background()
	h, repo := newTwinningEvents(t)
	event := func(practiceID string, to twinningv1.TransferStatus, version int64) *eventsv1.Envelope {
		env, err := events.NewEnvelope(ports.TransferStatusChanged, "anonymous", "twinning", "tw-1", version, &eventsv1.TransferStatusChanged{
			TwinningId: "tw-1", Transfer: &eventsv1.TransferRef{Id: "tr-1", PracticeId: practiceID, ModelCode: "A", ToOrganizationId: "o2"}, To: to,
		}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return env
	}
	if err := h.Handle(ctx, event("p1", twinningv1.TransferStatus_TRANSFER_STATUS_IN_PROGRESS, 3)); err != nil {
		t.Fatal(err)
	}
	got, _ := repo.Get(ctx, "p1")
	if got.Adoption.InProgress != 1 || got.Models[0].Adoption.Twinnings != 1 {
		t.Fatalf("figures: %+v", got.Adoption)
	}
	other, _ := events.NewEnvelope("twinning.activity.logged", "anonymous", "twinning", "tw-1", 4, &eventsv1.ActivityLogged{TwinningId: "tw-1"}, time.Now())
	if err := h.Handle(ctx, other); err != nil {
		t.Fatalf("other events are acknowledged: %v", err)
	}
	for name, env := range map[string]*eventsv1.Envelope{
		"unknown practice": event("nope", twinningv1.TransferStatus_TRANSFER_STATUS_ADOPTED, 5),
		"unspecified":      event("p1", twinningv1.TransferStatus_TRANSFER_STATUS_UNSPECIFIED, 5),
		"not its payload":  {EventId: "x", Type: ports.TransferStatusChanged, Payload: other.Payload},
	} {
		if err := h.Handle(ctx, env); !events.IsPermanent(err) {
			t.Errorf("%s: %v, want a permanent error", name, err)
		}
	}
}

// A draft's transfers are not counted: the draft is private and may be
// deleted. Its proposal announces them, and then they count.
func TestADraftsTransfersAreNotCounted(t *testing.T) {
	ctx := context.Background()
	h, repo := newTwinningEvents(t)
	event := func(tw twinningv1.TwinningStatus, from twinningv1.TransferStatus, version int64) *eventsv1.Envelope {
		env, err := events.NewEnvelope(ports.TransferStatusChanged, "anonymous", "twinning", "tw-1", version, &eventsv1.TransferStatusChanged{
			TwinningId: "tw-1", TwinningStatus: tw, From: from, To: twinningv1.TransferStatus_TRANSFER_STATUS_PLANNED,
			Transfer: &eventsv1.TransferRef{Id: "tr-1", PracticeId: "p1", ModelCode: "A", ToOrganizationId: "o2"},
		}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return env
	}
	if err := h.Handle(ctx, event(twinningv1.TwinningStatus_TWINNING_STATUS_DRAFT, twinningv1.TransferStatus_TRANSFER_STATUS_UNSPECIFIED, 2)); err != nil {
		t.Fatal(err)
	}
	if got, _ := repo.Get(ctx, "p1"); got.Adoption.Twinnings != 0 {
		t.Fatalf("a draft's transfer was counted: %+v", got.Adoption)
	}
	if err := h.Handle(ctx, event(twinningv1.TwinningStatus_TWINNING_STATUS_PROPOSED, twinningv1.TransferStatus_TRANSFER_STATUS_PLANNED, 3)); err != nil {
		t.Fatal(err)
	}
	if got, _ := repo.Get(ctx, "p1"); got.Adoption.Twinnings != 1 || got.Models[0].Adoption.Twinnings != 1 {
		t.Fatalf("the proposal's announcement was not counted: %+v", got.Adoption)
	}
}

// newTwinningEvents is the port on an application whose catalogue holds
// practice p1 with model A.
func newTwinningEvents(t *testing.T) (*ports.TwinningEvents, *adapters.PracticeMemoryRepository) {
	t.Helper()
	repo := adapters.NewPracticeMemoryRepository()
	p, err := practice.New("p1", practice.Content{Title: "Tos.Ca.", OwnerOrganizationIDs: []string{"o1"}, Models: []practice.Model{{Code: "A", Title: "Trio"}}}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := repo.Create(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	return ports.NewTwinningEvents(app.New(app.Deps{Organizations: adapters.NewOrganizationMemoryRepository(), Practices: repo}), nil), repo
}
