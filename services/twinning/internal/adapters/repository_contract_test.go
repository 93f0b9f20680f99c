package adapters

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"google.golang.org/protobuf/proto"

	eventsv1 "github.com/gemella/gemella/proto/gemella/events/v1"
	twinningv1 "github.com/gemella/gemella/proto/gemella/twinning/v1"
	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/mongox"
	"github.com/gemella/gemella/services/platform/mongox/mongoxtest"
	"github.com/gemella/gemella/services/platform/outbox"
	"github.com/gemella/gemella/services/platform/paging"
	"github.com/gemella/gemella/services/twinning/internal/domain/twinning"
)

// repo is one implementation under contract.
type repo struct {
	twinning.Repository
	// pending returns the events waiting in the outbox of a twinning, or
	// nil where the implementation has no outbox; since is the document's
	// pending_since, which the relay's indexed sweep finds it by.
	pending func(id string) (recs []outbox.Record, since *time.Time)
	// base is the repository under the interface, whose log a test may
	// swap for one that fails.
	base *TwinningRepository
	// docSize is the size in BSON of a twinning's document, outbox and all.
	docSize func(id string) int
	// relay, where there is an outbox, publishes what is pending as the
	// outbox relay does, and returns the sizes of the events it published.
	relay func() []int
}

// sizes is an events.Publisher that keeps the size of each event.
type sizes struct{ published []int }

func (s *sizes) Publish(_ context.Context, _, _ string, data []byte) error {
	s.published = append(s.published, len(data))
	return nil
}

// implementations returns the in-memory repository, and the MongoDB one on
// the embedded FerretDB and, when GEMELLA_TEST_MONGO_URI is set, on a real
// MongoDB (mongoxtest.Servers): one harness runs over all of them.
func implementations(t *testing.T) map[string]func(t *testing.T) repo {
	impls := map[string]func(t *testing.T) repo{
		"memory": func(t *testing.T) repo {
			m := NewTwinningMemoryRepository()
			return repo{Repository: m, base: m.TwinningRepository, docSize: func(id string) int {
				tw, err := m.Get(context.Background(), id)
				if err != nil {
					t.Fatal(err)
				}
				raw, err := bson.Marshal(toTwinningDoc(tw))
				if err != nil {
					t.Fatal(err)
				}
				return len(raw)
			}}
		},
	}
	for _, server := range mongoxtest.Servers(t) {
		impls[server.Name] = func(t *testing.T) repo {
			db, cfg := server.Database(t)
			if err := EnsureIndexes(context.Background(), db); err != nil {
				t.Fatal(err)
			}
			// The embedded FerretDB needs the document locks; MongoDB none.
			m := NewTwinningMongoRepository(db, mongox.StoreOptions{Locks: mongox.DocLocks(cfg)})
			return repo{
				Repository: m, base: m,
				docSize: func(id string) int {
					raw, err := db.Collection(TwinningsCollection).FindOne(context.Background(), bson.D{{Key: "_id", Value: id}}).Raw()
					if err != nil {
						t.Fatal(err)
					}
					return len(raw)
				},
				relay: func() []int {
					pub := &sizes{}
					relay := outbox.NewRelay(outbox.RelayConfig{Locks: mongox.DocLocks(cfg), Logger: quiet}, pub, db.Collection(TwinningsCollection))
					for {
						n, err := relay.RelayOnce(context.Background())
						if err != nil {
							t.Fatal(err)
						}
						if n == 0 {
							return pub.published
						}
					}
				},
				pending: func(id string) ([]outbox.Record, *time.Time) {
					var doc struct {
						Pending []outbox.Record `bson:"pending_events"`
						Since   *time.Time      `bson:"pending_since"`
					}
					if err := db.Collection(TwinningsCollection).FindOne(context.Background(), bson.D{{Key: "_id", Value: id}}).Decode(&doc); err != nil {
						t.Fatal(err)
					}
					return doc.Pending, doc.Since
				},
			}
		}
	}
	return impls
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

var t0 = time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)

func newTwinning(t *testing.T, id, code string, at time.Time, edit ...func(d *twinning.Details)) *twinning.Twinning {
	t.Helper()
	d := twinning.Details{
		Code: code, Title: "Gemellaggio " + code, Summary: "s",
		Objectives:              []twinning.Objective{{Level: "regionale", Text: "obiettivo"}},
		Programme:               twinning.Programme{Name: "AGIRE POR 2007-2013", Priorities: []string{"1", "4", "10"}},
		OfferingOrganizationIDs: []string{"toscana"}, ReceivingOrganizationIDs: []string{"calabria"},
		StartDate: "2012-06-01", TerritoryCodes: []string{"ITI1", "ITF6"},
	}
	for _, e := range edit {
		e(&d)
	}
	tw, err := twinning.New(id, d, "tester", at)
	if err != nil {
		t.Fatal(err)
	}
	return tw
}

func TestRepositoryContract(t *testing.T) {
	for name, build := range implementations(t) {
		t.Run(name, func(t *testing.T) {
			t.Run("round trip", func(t *testing.T) { roundTrip(t, build(t)) })
			t.Run("duplicates", func(t *testing.T) { duplicates(t, build(t)) })
			t.Run("update", func(t *testing.T) { update(t, build(t)) })
			t.Run("concurrent updates", func(t *testing.T) { concurrentUpdates(t, build(t)) })
			t.Run("list", func(t *testing.T) { list(t, build(t)) })
			t.Run("logs outgrow the windows", func(t *testing.T) { logsOutgrowWindows(t, build(t)) })
			t.Run("a copy lost to a crash", func(t *testing.T) { copyLostToACrash(t, build(t)) })
			t.Run("500 activities stay small", func(t *testing.T) { manyActivitiesStaySmall(t, build(t)) })
		})
	}
}

func roundTrip(t *testing.T, r repo) {
	ctx := context.Background()
	tw := newTwinning(t, "t1", "TOSCA", t0, func(d *twinning.Details) {
		d.ExpectedResults = []string{"Standard regionali"}
		d.Origin, d.OriginRef = twinning.FromOffer, "offer-1"
		d.CoordinatorOrganizationID = "formez"
		d.LiveStreamURL = "https://example.org/live"
	})
	for _, m := range []twinning.Move{twinning.MovePropose, twinning.MoveApprove, twinning.MoveActivate} {
		if err := tw.Move(m, "coord", "", t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tw.AddTransfer(twinning.NewTransfer{ID: "tr-a", PracticeID: "p1", ModelCode: "A", FromOrganizationID: "toscana", ToOrganizationID: "calabria", PracticeTitle: "Tos.Ca.", ModelTitle: "Trio"}, "ed", t0); err != nil {
		t.Fatal(err)
	}
	if _, _, err := tw.UpdateTransfer("tr-a", twinning.TransferPatch{Status: twinning.InProgress, Note: "avviato"}, "ed", t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.LogActivity(twinning.Activity{ID: "a1", Kind: twinning.Workshop, Title: "Workshop", Date: "2012-07-01", Participants: []string{"Regione Calabria"}, Links: []twinning.Link{{Title: "Slide", URL: "https://example.org/s.pdf"}}}, "ed", t0); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.LogActivity(twinning.Activity{ID: "m1", Title: "Rapporto", Milestone: true, DueDate: "2012-12-31"}, "ed", t0); err != nil {
		t.Fatal(err)
	}
	if err := r.Create(ctx, tw); err != nil {
		t.Fatal(err)
	}
	got, err := r.Get(ctx, "t1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Code != "TOSCA" || got.Status != twinning.Active || got.Version != 1 || got.Origin != twinning.FromOffer || got.OriginRef != "offer-1" ||
		got.CoordinatorOrganizationID != "formez" || got.LiveStreamURL != "https://example.org/live" || got.ExpectedResults[0] != "Standard regionali" ||
		fmt.Sprint(got.Programme.Priorities) != "[1 4 10]" || got.Objectives[0].Level != "regionale" || fmt.Sprint(got.TerritoryCodes) != "[ITI1 ITF6]" {
		t.Fatalf("stored twinning differs: %+v", got.Details)
	}
	if len(got.History) != 4 || got.History[3].From != twinning.Approved || got.History[3].To != twinning.Active || got.History[0].To != twinning.Draft {
		t.Fatalf("history: %+v", got.History)
	}
	tr, ok := got.Transfer("tr-a")
	if !ok || tr.Status != twinning.InProgress || len(tr.Notes) != 1 || tr.Notes[0].Text != "avviato" || tr.ModelTitle != "Trio" || tr.StartDate != "2024-03-01" || !tr.UpdatedAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("transfer: %+v", tr)
	}
	a, ok := got.Activity("a1")
	m, _ := got.Activity("m1")
	if !ok || a.Kind != twinning.Workshop || a.Links[0].URL != "https://example.org/s.pdf" || a.Participants[0] != "Regione Calabria" || !m.Milestone || m.DueDate != "2012-12-31" {
		t.Fatalf("activities: %+v", got.Activities)
	}
	if !got.CreatedAt.Equal(t0) {
		t.Fatalf("created at %v, want %v", got.CreatedAt, t0)
	}
	byCode, err := r.GetByCode(ctx, "TOSCA")
	if err != nil || byCode.ID != "t1" {
		t.Fatalf("by code: %v %v", byCode, err)
	}
	if _, err := r.Get(ctx, "nope"); apperr.KindOf(err) != apperr.KindNotFound {
		t.Fatalf("unknown id: %v", err)
	}
	if _, err := r.GetByCode(ctx, "NOPE"); apperr.KindOf(err) != apperr.KindNotFound {
		t.Fatalf("unknown code: %v", err)
	}
	if r.pending != nil {
		// created, proposed, approved, activated, two transfer moves, two activities
		recs, since := r.pending("t1")
		if len(recs) != 8 || since == nil {
			t.Fatalf("outbox holds %d events since %v, want 8 with pending_since", len(recs), since)
		}
		var env eventsv1.Envelope
		if err := proto.Unmarshal(recs[5].Data, &env); err != nil {
			t.Fatal(err)
		}
		var payload eventsv1.TransferStatusChanged
		if err := env.Payload.UnmarshalTo(&payload); err != nil {
			t.Fatal(err)
		}
		if env.Type != "twinning.transfer.status_changed" || env.AggregateId != "t1" || env.AggregateVersion != 1 ||
			payload.To != twinningv1.TransferStatus_TRANSFER_STATUS_IN_PROGRESS || payload.From != twinningv1.TransferStatus_TRANSFER_STATUS_PLANNED ||
			payload.Transfer.GetPracticeId() != "p1" || payload.TwinningCode != "TOSCA" || payload.TwinningStatus != twinningv1.TwinningStatus_TWINNING_STATUS_ACTIVE {
			t.Fatalf("transfer event: %s %v", env.Type, &payload)
		}
		if tr := payload.Transfer; tr.GetId() != "tr-a" || tr.GetModelCode() != "A" || tr.GetToOrganizationId() != "calabria" || tr.GetVersion() != 1 ||
			tr.GetStatus() != twinningv1.TransferStatus_TRANSFER_STATUS_IN_PROGRESS || tr.GetModelTitle() != "Trio" {
			t.Fatalf("the transfer's reference: %v", tr)
		}
		// Thin events: references, never the whole twinning or activity.
		var created eventsv1.TwinningChanged
		if err := proto.Unmarshal(recs[0].Data, &env); err != nil || env.Payload.UnmarshalTo(&created) != nil {
			t.Fatal("the created event does not decode")
		}
		if ref := created.Twinning; ref.GetId() != "t1" || ref.GetCode() != "TOSCA" || ref.GetStatus() != twinningv1.TwinningStatus_TWINNING_STATUS_ACTIVE ||
			fmt.Sprint(ref.GetOfferingOrganizationIds(), ref.GetReceivingOrganizationIds(), ref.GetPracticeIds()) != "[toscana] [calabria] [p1]" ||
			ref.GetCoordinatorOrganizationId() != "formez" || ref.GetOrigin() != twinningv1.Origin_ORIGIN_OFFER || ref.GetOriginRef() != "offer-1" || ref.GetVersion() != 1 ||
			created.Change.GetTo() != twinningv1.TwinningStatus_TWINNING_STATUS_DRAFT {
			t.Fatalf("the twinning's reference: %v", &created)
		}
		var logged eventsv1.ActivityLogged
		if err := proto.Unmarshal(recs[6].Data, &env); err != nil || env.Payload.UnmarshalTo(&logged) != nil {
			t.Fatal("the activity event does not decode")
		}
		if a := logged.Activity; a.GetId() != "a1" || a.GetKind() != twinningv1.ActivityKind_ACTIVITY_KIND_WORKSHOP || a.GetTitle() != "Workshop" || a.GetDate() != "2012-07-01" ||
			a.GetLoggedBy() != "ed" || !a.GetCreateTime().AsTime().Equal(t0) || logged.TwinningCode != "TOSCA" {
			t.Fatalf("the activity's summary: %v", &logged)
		}
	}
}

func duplicates(t *testing.T, r repo) {
	ctx := context.Background()
	if err := r.Create(ctx, newTwinning(t, "t1", "SAME", t0)); err != nil {
		t.Fatal(err)
	}
	if err := r.Create(ctx, newTwinning(t, "t2", "SAME", t0)); apperr.KindOf(err) != apperr.KindAlreadyExists {
		t.Fatalf("duplicate code: %v", err)
	}
	if err := r.Create(ctx, newTwinning(t, "t1", "OTHER", t0)); apperr.KindOf(err) != apperr.KindAlreadyExists {
		t.Fatalf("duplicate id: %v", err)
	}
	if _, err := r.GetByCode(ctx, "OTHER"); apperr.KindOf(err) != apperr.KindNotFound {
		t.Fatalf("a refused create left something behind: %v", err)
	}
}

func update(t *testing.T, r repo) {
	ctx := context.Background()
	for _, tw := range []*twinning.Twinning{newTwinning(t, "t1", "FIRST", t0), newTwinning(t, "t2", "SECOND", t0)} {
		if err := r.Create(ctx, tw); err != nil {
			t.Fatal(err)
		}
	}
	_, err := r.Update(ctx, "t1", func(tw *twinning.Twinning) error {
		tw.Title = "changed"
		return apperr.FailedPrecondition("no")
	})
	if apperr.KindOf(err) != apperr.KindFailedPrecondition {
		t.Fatalf("fn error not returned: %v", err)
	}
	if got, _ := r.Get(ctx, "t1"); got.Title != "Gemellaggio FIRST" || got.Version != 1 {
		t.Fatalf("refused update was stored: %+v", got)
	}
	// Taking another twinning's code is refused and changes nothing.
	_, err = r.Update(ctx, "t1", func(tw *twinning.Twinning) error { tw.Code = "SECOND"; return nil })
	if apperr.KindOf(err) != apperr.KindAlreadyExists {
		t.Fatalf("code clash: %v", err)
	}
	if got, _ := r.GetByCode(ctx, "FIRST"); got == nil || got.ID != "t1" {
		t.Fatalf("code clash changed the twinning: %+v", got)
	}
	updated, err := r.Update(ctx, "t1", func(tw *twinning.Twinning) error {
		return tw.Move(twinning.MovePropose, "ed", "", t0.Add(time.Hour))
	})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := r.Get(ctx, "t1")
	if got.Status != twinning.Proposed || got.Version != 2 || updated.Version != 2 {
		t.Fatalf("after propose: status %s version %d/%d", got.Status, got.Version, updated.Version)
	}
	if r.pending != nil {
		// created (still waiting, no relay runs here) and proposed
		if recs, since := r.pending("t1"); len(recs) != 2 || since == nil {
			t.Fatalf("outbox holds %d events since %v, want 2 with pending_since", len(recs), since)
		}
	}
	if _, err := r.Update(ctx, "missing", func(*twinning.Twinning) error { return nil }); apperr.KindOf(err) != apperr.KindNotFound {
		t.Fatalf("update of unknown: %v", err)
	}
}

func concurrentUpdates(t *testing.T, r repo) {
	ctx := context.Background()
	if err := r.Create(ctx, newTwinning(t, "t1", "BUSY", t0)); err != nil {
		t.Fatal(err)
	}
	const writers = 4
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for i := 0; i < writers; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			_, err := r.Update(ctx, "t1", func(tw *twinning.Twinning) error {
				_, err := tw.LogActivity(twinning.Activity{ID: fmt.Sprintf("a%d", i), Kind: twinning.Report, Title: "r", Date: "2024-01-01"}, "ed", t0)
				return err
			})
			errs <- err
		}(i)
	}
	wg.Wait()
	close(errs)
	applied := 0
	for err := range errs {
		switch apperr.KindOf(err) {
		case apperr.KindUnknown:
			if err != nil {
				t.Fatal(err)
			}
			applied++
		case apperr.KindAborted: // gave up after retries: allowed, but nothing half-written
		default:
			t.Fatal(err)
		}
	}
	got, _ := r.Get(ctx, "t1")
	if len(got.Activities) != applied || got.ActivityCount != applied || got.Version != int64(1+applied) {
		t.Fatalf("lost update: %d applied, %d activities (%d counted), version %d", applied, len(got.Activities), got.ActivityCount, got.Version)
	}
}

func list(t *testing.T, r repo) {
	ctx := context.Background()
	for i := 0; i < 7; i++ {
		i := i
		tw := newTwinning(t, fmt.Sprintf("t%d", i), fmt.Sprintf("T%d", i), t0.Add(time.Duration(i)*time.Minute), func(d *twinning.Details) {
			if i%2 == 1 {
				d.Programme.Name = "PAR GOL"
				d.ReceivingOrganizationIDs = []string{"vibo"}
				d.TerritoryCodes = []string{"102047"}
			}
		})
		if i == 3 {
			if _, err := tw.AddTransfer(twinning.NewTransfer{ID: "tr", PracticeID: "p-tosca", ModelCode: "A", FromOrganizationID: "toscana", ToOrganizationID: "vibo"}, "ed", t0); err != nil {
				t.Fatal(err)
			}
			_ = tw.Move(twinning.MovePropose, "ed", "", t0)
		}
		if err := r.Create(ctx, tw); err != nil {
			t.Fatal(err)
		}
	}
	var seen []string
	var after *paging.Cursor
	for page := 0; page < 5; page++ {
		items, err := r.List(ctx, twinning.Filter{OrganizationID: "toscana"}, after, 3)
		if err != nil {
			t.Fatal(err)
		}
		for _, tw := range items {
			seen = append(seen, tw.ID)
		}
		if len(items) < 3 {
			break
		}
		last := items[len(items)-1]
		after = &paging.Cursor{Key: last.SortKey(), ID: last.ID}
	}
	if fmt.Sprint(seen) != "[t6 t5 t4 t3 t2 t1 t0]" {
		t.Fatalf("twinnings of an offering party, newest first = %v", seen)
	}
	cases := []struct {
		name string
		f    twinning.Filter
		want string
	}{
		{"receiving party", twinning.Filter{OrganizationID: "vibo"}, "[t5 t3 t1]"},
		{"programme", twinning.Filter{Programme: "AGIRE POR 2007-2013"}, "[t6 t4 t2 t0]"},
		{"territory", twinning.Filter{TerritoryCode: "102047"}, "[t5 t3 t1]"},
		{"practice", twinning.Filter{PracticeID: "p-tosca"}, "[t3]"},
		{"status", twinning.Filter{Status: twinning.Proposed}, "[t3]"},
		{"status and programme", twinning.Filter{Status: twinning.Draft, Programme: "PAR GOL"}, "[t5 t1]"},
		{"nothing", twinning.Filter{Status: twinning.Completed}, "[]"},
		{"drafts hidden from an outsider", twinning.Filter{Drafts: twinning.DraftVisibility{Restricted: true}}, "[t3]"},
		{"drafts shown to a party's editor", twinning.Filter{Drafts: twinning.DraftVisibility{Restricted: true, Of: []string{"elsewhere", "vibo"}}}, "[t5 t3 t1]"},
		{"only drafts, of a party", twinning.Filter{Status: twinning.Draft, Drafts: twinning.DraftVisibility{Restricted: true, Of: []string{"vibo"}}}, "[t5 t1]"},
	}
	for _, c := range cases {
		items, err := r.List(ctx, c.f, nil, 100)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, tw := range items {
			ids = append(ids, tw.ID)
		}
		if fmt.Sprint(ids) != c.want {
			t.Errorf("%s: %v, want %s", c.name, ids, c.want)
		}
	}
}
