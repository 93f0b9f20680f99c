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

func TestCountersFollowTheLatestStatusOfEachTransfer(t *testing.T) {
	var a Adoption
	planned := record("tr-a", "tosca", "A", "calabria", TransferPlanned, 2)
	steps := []struct {
		previous *TransferRecord
		next     TransferRecord
		first    bool
	}{
		{nil, planned, true},
		{&planned, record("tr-a", "tosca", "A", "calabria", TransferInProgress, 5), false},
		{nil, record("tr-b", "tosca", "B", "calabria", TransferInProgress, 6), false},
		{nil, record("tr-c", "other", "A", "puglia", TransferDropped, 4), true},
	}
	for _, s := range steps {
		a.Add(DeltaOf(s.previous, s.next, s.first))
	}
	inProgress := record("tr-a", "tosca", "A", "calabria", TransferInProgress, 5)
	a.Add(DeltaOf(&inProgress, record("tr-a", "tosca", "A", "calabria", TransferAdopted, 9), false))
	if got, want := figures(a), "twinnings=2 receivers=[] in_progress=1 adopted=1 partially=0 dropped=1"; got != want {
		t.Errorf("counters: %s, want %s", got, want)
	}
}

func TestOnlyALaterVersionReplacesARecord(t *testing.T) {
	known := record("tr-a", "tosca", "A", "calabria", TransferInProgress, 5)
	for v, want := range map[int64]bool{4: false, 5: false, 6: true} {
		if got := record("tr-a", "tosca", "A", "calabria", TransferAdopted, v).Newer(&known); got != want {
			t.Errorf("version %d newer than 5: %v", v, got)
		}
	}
	if !known.Newer(nil) {
		t.Error("a first record is newer than none")
	}
}

func TestAdoptionSurvivesARevisionThatAddsAModel(t *testing.T) {
	p := published(t)
	p.UnlistedAdoption = map[string]Adoption{"F": {Twinnings: 1, InProgress: 1}}
	c := p.Content
	c.Models = append(append([]Model(nil), c.Models...), Model{Code: "F", Title: "Modello F"})
	if err := p.Revise(c, "ed", "new model", now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	f, _ := p.Model("F")
	if f.Adoption.InProgress != 1 || f.Adoption.Twinnings != 1 || len(p.UnlistedAdoption) != 0 {
		t.Fatalf("model F after the revision: %s (unlisted %v)", figures(f.Adoption), p.UnlistedAdoption)
	}
	c = p.Content
	c.Models = c.Models[:len(c.Models)-1]
	if err := p.Revise(c, "ed", "model dropped", now.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if p.UnlistedAdoption["F"].InProgress != 1 {
		t.Fatalf("a revision that drops model F keeps its figures: %v", p.UnlistedAdoption)
	}
}

func TestValidateTransferRefusesAnIncompleteRecord(t *testing.T) {
	if err := ValidateTransfer(TransferRecord{Version: 1}); len(violations(err)) != 4 {
		t.Fatalf("violations = %v", violations(err))
	}
}
