package adapters

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/practice"
)

func figures(a practice.Adoption) string {
	return fmt.Sprintf("twinnings=%d receivers=%v in_progress=%d adopted=%d partially=%d dropped=%d",
		a.Twinnings, a.ReceivingOrganizationIDs, a.InProgress, a.Adopted, a.PartiallyAdopted, a.Dropped)
}

func transferRecord(transfer, twinning, model, to string, s practice.TransferStatus, version int64) practice.TransferRecord {
	return practice.TransferRecord{TransferID: transfer, TwinningID: twinning, ModelCode: model, ReceivingOrganizationID: to, Status: s, Version: version, At: t0}
}

// practiceAdoptionRecords: the records live beside the practice, one per
// transfer; an event delivered twice or late changes nothing, and the
// counters, the twinnings counted once each, follow the latest status.
func practiceAdoptionRecords(t *testing.T, r repos) {
	ctx := context.Background()
	p := newPractice(t, "p1", "Adopted", t0)
	p.Models = append(p.Models, practice.Model{Code: "D", Title: "Model D"})
	if err := r.practices.Create(ctx, p); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		r       practice.TransferRecord
		applied bool
	}{
		{transferRecord("tr-a", "tosca", "A", "calabria", practice.TransferPlanned, 2), true},
		{transferRecord("tr-d", "tosca", "D", "vibo", practice.TransferPlanned, 3), true},
		{transferRecord("tr-a", "tosca", "A", "calabria", practice.TransferInProgress, 5), true},
		{transferRecord("tr-a", "tosca", "A", "calabria", practice.TransferInProgress, 5), false}, // delivered twice
		{transferRecord("tr-a", "tosca", "A", "calabria", practice.TransferPlanned, 2), false},    // older, late
		{transferRecord("tr-a2", "other", "A", "puglia", practice.TransferInProgress, 4), true},
		{transferRecord("tr-a", "tosca", "A", "calabria", practice.TransferAdopted, 9), true},
		{transferRecord("tr-d", "tosca", "D", "vibo", practice.TransferDropped, 9), true},
		{transferRecord("tr-a2", "other", "A", "puglia", practice.TransferPartiallyAdopted, 7), true},
		{transferRecord("tr-x", "other", "X", "puglia", practice.TransferInProgress, 8), true}, // a model not listed
	}
	for i, s := range steps {
		applied, err := r.practices.RecordTransfer(ctx, "p1", s.r)
		if err != nil || applied != s.applied {
			t.Fatalf("step %d: applied %v (%v), want %v", i, applied, err, s.applied)
		}
	}
	got, err := r.practices.Get(ctx, "p1")
	if err != nil {
		t.Fatal(err)
	}
	receivers, err := r.practices.Receivers(ctx, []string{"p1", "unknown"})
	if err != nil {
		t.Fatal(err)
	}
	got.WithReceivers(receivers["p1"])
	if s, want := figures(got.Adoption), "twinnings=2 receivers=[calabria puglia vibo] in_progress=1 adopted=1 partially=1 dropped=1"; s != want {
		t.Errorf("practice: %s, want %s", s, want)
	}
	a, _ := got.Model("A")
	if s, want := figures(a.Adoption), "twinnings=2 receivers=[calabria puglia] in_progress=0 adopted=1 partially=1 dropped=0"; s != want {
		t.Errorf("model A: %s, want %s", s, want)
	}
	d, _ := got.Model("D")
	if s, want := figures(d.Adoption), "twinnings=1 receivers=[vibo] in_progress=0 adopted=0 partially=0 dropped=1"; s != want {
		t.Errorf("model D: %s, want %s", s, want)
	}
	if x := got.UnlistedAdoption["X"]; x.InProgress != 1 || x.Twinnings != 1 {
		t.Errorf("model X, not listed: %s", figures(x))
	}
	// Each applied record changed the practice's version (its etag).
	if got.Version != 1+8 {
		t.Errorf("version %d after 8 applied records, want 9", got.Version)
	}
	// An edit after the counters keeps them.
	edited, err := r.practices.Update(ctx, "p1", func(p *practice.Practice) error {
		c := p.Content
		c.Summary = "edited"
		return p.Edit(c, t0.Add(time.Hour))
	})
	if err != nil {
		t.Fatal(err)
	}
	if a, _ := edited.Model("A"); a.Adoption.Adopted != 1 || edited.Adoption.Dropped != 1 {
		t.Errorf("after an edit: practice %s, model A %s", figures(edited.Adoption), figures(a.Adoption))
	}
	if _, err := r.practices.RecordTransfer(ctx, "unknown", transferRecord("tr-a", "tosca", "A", "calabria", practice.TransferAdopted, 9)); apperr.KindOf(err) != apperr.KindNotFound {
		t.Errorf("a record of an unknown practice: %v", err)
	}
	if _, err := r.practices.RecordTransfer(ctx, "p1", practice.TransferRecord{Version: 1}); apperr.KindOf(err) != apperr.KindInvalidArgument {
		t.Errorf("an incomplete record: %v", err)
	}
}

func publishedPractice(t *testing.T, r repos, id string) {
	t.Helper()
	ctx := context.Background()
	p := newPractice(t, id, "Revised "+id, t0, "labour")
	p.Summary, p.Description, p.Problem, p.Results, p.Languages = "s", "d", "p", "r", []string{"it"}
	if err := r.practices.Create(ctx, p); err != nil {
		t.Fatal(err)
	}
	if _, err := r.practices.Update(ctx, id, func(p *practice.Practice) error {
		if err := p.Submit("ed", t0); err != nil {
			return err
		}
		return p.Publish("coord", t0)
	}); err != nil {
		t.Fatal(err)
	}
}

// practiceRevisions: every revision is its own document, listed newest
// first a page at a time; the practice keeps none.
func practiceRevisions(t *testing.T, r repos) {
	ctx := context.Background()
	publishedPractice(t, r, "p1")
	for i := 1; i <= 5; i++ {
		if _, err := r.practices.Update(ctx, "p1", func(p *practice.Practice) error {
			c := p.Content
			c.Summary = fmt.Sprintf("summary %d", i+1)
			return p.Revise(c, "ed", fmt.Sprintf("revision %d", i+1), t0.Add(time.Duration(i)*time.Hour))
		}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := r.practices.Get(ctx, "p1")
	if err != nil || got.Revision != 6 || len(got.History) != 0 {
		t.Fatalf("practice after five revisions: revision %v, history %d (%v)", got.Revision, len(got.History), err)
	}
	first, err := r.practices.ListRevisions(ctx, "p1", 0, 2)
	if err != nil || len(first) != 2 || first[0].Number != 5 || first[1].Number != 4 || first[0].Content.Summary != "summary 5" || first[0].Note != "revision 6" {
		t.Fatalf("first page: %+v (%v)", first, err)
	}
	rest, err := r.practices.ListRevisions(ctx, "p1", first[1].Number, 10)
	if err != nil || len(rest) != 3 || rest[0].Number != 3 || rest[2].Number != 1 || rest[2].Content.Summary != "s" {
		t.Fatalf("next page: %+v (%v)", rest, err)
	}
	publishedPractice(t, r, "p2")
	if other, err := r.practices.ListRevisions(ctx, "p2", 0, 10); err != nil || len(other) != 0 {
		t.Fatalf("another practice's revisions: %+v (%v)", other, err)
	}
	if _, err := r.practices.ListRevisions(ctx, "unknown", 0, 10); apperr.KindOf(err) != apperr.KindNotFound {
		t.Fatalf("unknown practice: %v", err)
	}
}

// practiceStaysSmall: a practice with 1,000 transfers (and their status
// changes) keeps a document of the same size as with none, far under
// 64 KB: counters only.
func practiceStaysSmall(t *testing.T, r repos) {
	if testing.Short() {
		t.Skip("1,000 transfers")
	}
	ctx := context.Background()
	publishedPractice(t, r, "p1")
	empty := r.docBytes("p1")
	waiting := r.pending(PracticesCollection, "p1")
	const transfers, workers = 1000, 4
	// The events leave the outbox as they would with a relay running:
	// otherwise every write rewrites a document holding all of them.
	published, stop := 0, make(chan struct{})
	var publisher sync.WaitGroup
	if r.publish != nil {
		publisher.Add(1)
		go func() {
			defer publisher.Done()
			for {
				select {
				case <-stop:
					return
				case <-time.After(20 * time.Millisecond):
					published += r.publish(PracticesCollection, "p1")
				}
			}
		}()
	}
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < transfers; i += workers {
				rec := transferRecord(fmt.Sprintf("tr-%04d", i), fmt.Sprintf("tw-%04d", i/2), "A", fmt.Sprintf("org-%04d", i), practice.TransferPlanned, int64(i+1))
				if _, err := r.practices.RecordTransfer(ctx, "p1", rec); err != nil {
					errs <- err
					return
				}
				if i%2 == 0 {
					rec.Status, rec.Version = practice.TransferAdopted, rec.Version+transfers
					if _, err := r.practices.RecordTransfer(ctx, "p1", rec); err != nil {
						errs <- err
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	publisher.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	got, err := r.practices.Get(ctx, "p1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Adoption.Twinnings != transfers/2 || got.Adoption.Adopted != transfers/2 {
		t.Fatalf("figures after %d transfers: %s", transfers, figures(got.Adoption))
	}
	// Each change of the figures left one event for the relay, which
	// makes every replica's search index read them again.
	if n := published + r.pending(PracticesCollection, "p1") - waiting; r.adoptionEvents && n != transfers+transfers/2 {
		t.Errorf("%d more events wait for the relay after %d changes of the figures", n, transfers+transfers/2)
	}
	size := r.docBytes("p1")
	t.Logf("practice document: %d bytes with no transfer, %d bytes after %d transfers", empty, size, transfers)
	if size > empty+200 || size > 64<<10 {
		t.Fatalf("the practice document grew from %d to %d bytes with %d transfers", empty, size, transfers)
	}
}
