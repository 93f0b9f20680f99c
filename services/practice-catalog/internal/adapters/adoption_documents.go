package adapters

import (
	"slices"
	"time"

	"github.com/gemella/gemella/services/practice-catalog/internal/domain/practice"
)

// Collections beside the practices: what used to grow inside a practice
// document (one adoption record per transfer, a full copy of every
// revision) is one small document each here, so a practice stays the same
// size however many transfers and revisions it has.
const (
	// AdoptionsCollection holds one adoption record per transfer, keyed
	// by the transfer id.
	AdoptionsCollection = "adoptions"
	// AdoptionPartiesCollection holds one document per twinning and per
	// receiving organisation of a practice and of each of its models,
	// keyed by what it names: inserting one tells whether it is new, which
	// is all the counter of twinnings needs, and the receiving
	// organisations of the figures are read from them.
	AdoptionPartiesCollection = "adoption_parties"
	// RevisionsCollection holds the earlier contents of practices, one
	// document per revision.
	RevisionsCollection = "practice_revisions"
)

// adoptionRecordDoc is the latest status of one transfer, as the twinning
// events reported it.
type adoptionRecordDoc struct {
	TransferID              string    `bson:"_id"`
	PracticeID              string    `bson:"practice_id"`
	TwinningID              string    `bson:"twinning_id"`
	ModelCode               string    `bson:"model_code"`
	ReceivingOrganizationID string    `bson:"receiving_organization_id,omitempty"`
	Status                  string    `bson:"status"`
	Version                 int64     `bson:"version"`
	At                      time.Time `bson:"at"`
}

func toAdoptionRecordDoc(practiceID string, r practice.TransferRecord) adoptionRecordDoc {
	return adoptionRecordDoc{r.TransferID, practiceID, r.TwinningID, r.ModelCode, r.ReceivingOrganizationID, r.Status.String(), r.Version, r.At}
}

func (d *adoptionRecordDoc) toDomain() practice.TransferRecord {
	st, _ := practice.ParseTransferStatus(d.Status)
	return practice.TransferRecord{
		TransferID: d.TransferID, TwinningID: d.TwinningID, ModelCode: d.ModelCode,
		ReceivingOrganizationID: d.ReceivingOrganizationID, Status: st, Version: d.Version, At: d.At.UTC(),
	}
}

// Kinds of adoption parties.
const (
	partyTwinning = "twinning"
	partyReceiver = "receiver"
)

// partyDoc says that a twinning, or a receiving organisation, takes part
// in the transfers of a practice (ModelCode empty) or of one of its models.
type partyDoc struct {
	ID         string `bson:"_id"`
	PracticeID string `bson:"practice_id"`
	ModelCode  string `bson:"model_code,omitempty"`
	Kind       string `bson:"kind"`
	Party      string `bson:"party"`
}

// partiesOf are the parties a transfer seen for the first time names: its
// twinning in the practice and in its model (the first two), and its
// receiving organisation in both.
func partiesOf(practiceID string, r practice.TransferRecord) []partyDoc {
	party := func(model, kind, id string) partyDoc {
		return partyDoc{ID: practiceID + "|" + model + "|" + kind + "|" + id, PracticeID: practiceID, ModelCode: model, Kind: kind, Party: id}
	}
	out := []partyDoc{party("", partyTwinning, r.TwinningID), party(r.ModelCode, partyTwinning, r.TwinningID)}
	if r.ReceivingOrganizationID != "" {
		out = append(out, party("", partyReceiver, r.ReceivingOrganizationID), party(r.ModelCode, partyReceiver, r.ReceivingOrganizationID))
	}
	return out
}

// receiversOf gathers receiver parties by practice, sorted.
func receiversOf(parties []partyDoc) map[string]practice.Receivers {
	out := map[string]practice.Receivers{}
	for _, p := range parties {
		if p.Kind != partyReceiver {
			continue
		}
		r := out[p.PracticeID]
		if p.ModelCode == "" {
			r.Practice = append(r.Practice, p.Party)
		} else {
			if r.Models == nil {
				r.Models = map[string][]string{}
			}
			r.Models[p.ModelCode] = append(r.Models[p.ModelCode], p.Party)
		}
		out[p.PracticeID] = r
	}
	for id, r := range out {
		slices.Sort(r.Practice)
		for _, m := range r.Models {
			slices.Sort(m)
		}
		out[id] = r
	}
	return out
}
