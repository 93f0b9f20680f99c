package practice

import (
	"fmt"
	"testing"
	"time"
)

func published(t *testing.T) *Practice {
	t.Helper()
	c := complete()
	c.Models = append(c.Models, Model{Code: "E", Title: "Modello E", OwnerOrganizationID: "firenze"})
	p, err := New("p1", c, now)
	if err != nil {
		t.Fatal(err)
	}
	_ = p.Submit("ed", now)
	_ = p.Publish("coord", now)
	p.Changes()
	return p
}

func record(transfer, twinning, model, to string, s TransferStatus, version int64) TransferRecord {
	return TransferRecord{TransferID: transfer, TwinningID: twinning, ModelCode: model, ReceivingOrganizationID: to, Status: s, Version: version, At: now}
}

func figures(a Adoption) string {
	return fmt.Sprintf("twinnings=%d receivers=%v in_progress=%d adopted=%d partially=%d dropped=%d",
		a.Twinnings, a.ReceivingOrganizationIDs, a.InProgress, a.Adopted, a.PartiallyAdopted, a.Dropped)
}

func TestAdoptionIsRecomputedFromTheLatestStatusOfEachTransfer(t *testing.T) {
	p := published(t)
	steps := []struct {
		r       TransferRecord
		applied bool
	}{
		{record("tr-a", "tosca", "A", "calabria", TransferPlanned, 2), true},
		{record("tr-d", "tosca", "D", "vibo", TransferPlanned, 3), true},
		{record("tr-a", "tosca", "A", "calabria", TransferInProgress, 5), true},
		{record("tr-a", "tosca", "A", "calabria", TransferInProgress, 5), false}, // delivered twice
		{record("tr-a", "tosca", "A", "calabria", TransferPlanned, 2), false},    // older, late
		{record("tr-a2", "other", "A", "puglia", TransferInProgress, 4), true},
		{record("tr-a", "tosca", "A", "calabria", TransferAdopted, 9), true},
		{record("tr-d", "tosca", "D", "vibo", TransferDropped, 9), true},
		{record("tr-a2", "other", "A", "puglia", TransferPartiallyAdopted, 7), true},
	}
	for i, s := range steps {
		applied, err := p.ApplyTransfer(s.r)
		if err != nil || applied != s.applied {
			t.Fatalf("step %d: applied %v (%v), want %v", i, applied, err, s.applied)
		}
	}
	if got, want := figures(p.Adoption), "twinnings=2 receivers=[calabria puglia vibo] in_progress=0 adopted=1 partially=1 dropped=1"; got != want {
		t.Errorf("practice: %s, want %s", got, want)
	}
	a, _ := p.Model("A")
	if got, want := figures(a.Adoption), "twinnings=2 receivers=[calabria puglia] in_progress=0 adopted=1 partially=1 dropped=0"; got != want {
		t.Errorf("model A: %s, want %s", got, want)
	}
	d, _ := p.Model("D")
	if got, want := figures(d.Adoption), "twinnings=1 receivers=[vibo] in_progress=0 adopted=0 partially=0 dropped=1"; got != want {
		t.Errorf("model D: %s, want %s", got, want)
	}
	e, _ := p.Model("E")
	if e.Adoption.Twinnings != 0 {
		t.Errorf("model E is transferred by no twinning: %s", figures(e.Adoption))
	}
}

func TestAdoptionSurvivesARevisionThatAddsAModel(t *testing.T) {
	p := published(t)
	if _, err := p.ApplyTransfer(record("tr-f", "tosca", "F", "vibo", TransferInProgress, 2)); err != nil {
		t.Fatal(err)
	}
	if p.Adoption.InProgress != 1 {
		t.Fatalf("a transfer of a model the practice does not list yet still counts for the practice: %s", figures(p.Adoption))
	}
	c := p.Content
	c.Models = append(append([]Model(nil), c.Models...), Model{Code: "F", Title: "Modello F"})
	if err := p.Revise(c, "ed", "new model", now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	f, _ := p.Model("F")
	if f.Adoption.InProgress != 1 || f.Adoption.Twinnings != 1 {
		t.Fatalf("model F after the revision: %s", figures(f.Adoption))
	}
}

func TestApplyTransferRefusesAnIncompleteRecord(t *testing.T) {
	p := published(t)
	if _, err := p.ApplyTransfer(TransferRecord{Version: 1}); len(violations(err)) != 4 {
		t.Fatalf("violations = %v", violations(err))
	}
}
