package app_test

import (
	"testing"
	"time"

	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/practice-catalog/internal/adapters"
	"github.com/gemella/gemella/services/practice-catalog/internal/app"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/organization"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/practice"
)

func TestTransferEventsAreAppliedOnce(t *testing.T) {
	practices := adapters.NewPracticeMemoryRepository()
	deps := app.Deps{Organizations: adapters.NewOrganizationMemoryRepository(), Practices: practices}
	a := app.New(deps)
	apply := app.NewApplyTransferEventHandler(deps)
	org, _ := a.CreateOrganization.Handle(staff(), app.CreateOrganization{Details: organization.Details{Name: "Regione Toscana", Kind: organization.Region}, Actor: "t"})
	ctx := staff(org.ID)
	p, err := a.CreatePractice.Handle(ctx, app.CreatePractice{Content: practice.Content{
		Title: "Tos.Ca.", OwnerOrganizationIDs: []string{org.ID}, Models: []practice.Model{{Code: "A", Title: "Trio"}},
	}, Actor: "t"})
	if err != nil {
		t.Fatal(err)
	}
	event := app.ApplyTransferEvent{PracticeID: p.ID, Record: practice.TransferRecord{
		TransferID: "tr-a", TwinningID: "tw", ModelCode: "A", ReceivingOrganizationID: "calabria",
		Status: practice.TransferAdopted, Version: 8, At: time.Now(),
	}}
	for i, want := range []bool{true, false, false} {
		applied, err := apply.Handle(consumer, event)
		if err != nil || applied != want {
			t.Fatalf("delivery %d: applied %v (%v), want %v", i+1, applied, err, want)
		}
	}
	got, _ := a.GetPractice.Handle(ctx, p.ID)
	if got.Adoption.Adopted != 1 || got.Models[0].Adoption.Adopted != 1 || got.Version != p.Version+1 {
		t.Fatalf("after three deliveries: %+v, version %d", got.Adoption, got.Version)
	}
	event.PracticeID = "unknown"
	if _, err := apply.Handle(consumer, event); apperr.KindOf(err) != apperr.KindNotFound {
		t.Fatalf("unknown practice: %v", err)
	}
}
