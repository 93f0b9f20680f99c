package adapters

import (
	"context"
	"fmt"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/gemella/gemella/services/platform/mongox"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/practice"
)

// AdoptionReceiversCollection holds, per practice, the receiving
// organisations of its transfers (of the practice and of each model) in
// one document keyed by the practice id. Every read of a practice shows
// them; reading them from adoption_parties by practice is a collection
// scan on the embedded FerretDB, which uses an index only for a filter on
// _id alone (20-50 ms a practice page in bench (d)), and one document by
// _id costs a millisecond.
//
// The parties stay the truth: a summary is complete only once it has
// been built from them (the first read of a practice after this layout,
// or after the summary was lost), and every first record of a transfer
// adds its receiver to the summary before its parties are written, so a
// crash between the two leaves the summary ahead, never behind (the
// event is delivered again and writes the parties). A practice with more
// receiver entries than maxReceiverEntries keeps its summary marked
// overflowing, and its reads scan the parties as before.
const AdoptionReceiversCollection = "adoption_receivers"

// maxReceiverEntries bounds a summary: an entry is a model code and an
// organisation id (about 45 bytes), so a summary stays under 64 KB.
var maxReceiverEntries = 1200

type receiversDoc struct {
	PracticeID string `bson:"_id"`
	// Entries are "model|organisation", the model empty for the practice.
	Entries  []string `bson:"entries"`
	Complete bool     `bson:"complete"`
	Overflow bool     `bson:"overflow"`
}

func receiverEntry(model, org string) string { return model + "|" + org }

// receiverEntries are the entries a transfer record names.
func receiverEntries(rec practice.TransferRecord) []string {
	if rec.ReceivingOrganizationID == "" {
		return nil
	}
	return []string{receiverEntry("", rec.ReceivingOrganizationID), receiverEntry(rec.ModelCode, rec.ReceivingOrganizationID)}
}

// addReceivers puts entries into practiceID's summary, creating it (not
// complete) if there is none; a summary past its bound is emptied and
// marked overflowing for good. The caller holds the practice's lock (on
// the embedded FerretDB, which applies an update as read-then-write).
func (r *PracticeMongoRepository) addReceivers(ctx context.Context, practiceID string, entries []string) error {
	if len(entries) == 0 {
		return nil
	}
	byID := bson.D{{Key: mongox.IDField, Value: practiceID}}
	var after receiversDoc
	err := r.receivers.FindOneAndUpdate(ctx, byID,
		bson.D{{Key: "$addToSet", Value: bson.D{{Key: "entries", Value: bson.D{{Key: "$each", Value: entries}}}}}},
		options.FindOneAndUpdate().SetUpsert(true).SetReturnDocument(options.After)).Decode(&after)
	if err != nil {
		return fmt.Errorf("record the receivers of practice %s: %w", practiceID, err)
	}
	if len(after.Entries) > maxReceiverEntries {
		return r.overflow(ctx, practiceID)
	}
	return nil
}

func (r *PracticeMongoRepository) overflow(ctx context.Context, practiceID string) error {
	_, err := r.receivers.UpdateOne(ctx, bson.D{{Key: mongox.IDField, Value: practiceID}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "overflow", Value: true}, {Key: "entries", Value: bson.A{}}}}},
		options.UpdateOne().SetUpsert(true))
	if err != nil {
		return fmt.Errorf("mark the receivers of practice %s as too many to keep: %w", practiceID, err)
	}
	return nil
}

// Receivers implements practice.Repository: from the practices'
// summaries, by _id; a practice whose summary is missing, not yet
// complete or overflowing is read from its parties (and a summary built
// for the next read).
func (r *PracticeMongoRepository) Receivers(ctx context.Context, practiceIDs []string) (map[string]practice.Receivers, error) {
	out := map[string]practice.Receivers{}
	if len(practiceIDs) == 0 {
		return out, nil
	}
	var filter bson.D
	if len(practiceIDs) == 1 {
		filter = bson.D{{Key: mongox.IDField, Value: practiceIDs[0]}}
	} else {
		filter = bson.D{{Key: mongox.IDField, Value: bson.D{{Key: "$in", Value: practiceIDs}}}}
	}
	cur, err := r.receivers.Find(ctx, filter)
	if err != nil {
		return nil, fmt.Errorf("read receiving organisations: %w", err)
	}
	var docs []receiversDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("read receiving organisations: %w", err)
	}
	known := map[string]bool{}
	for _, d := range docs {
		if d.Complete && !d.Overflow {
			known[d.PracticeID] = true
			if rs := receiversOfEntries(d.Entries); len(rs.Practice) > 0 || len(rs.Models) > 0 {
				out[d.PracticeID] = rs
			}
		}
	}
	var rest []string
	overflowing := map[string]bool{}
	for _, d := range docs {
		overflowing[d.PracticeID] = d.Overflow
	}
	for _, id := range practiceIDs {
		if !known[id] {
			rest = append(rest, id)
		}
	}
	if len(rest) == 0 {
		return out, nil
	}
	parties, err := r.receiverParties(ctx, rest)
	if err != nil {
		return nil, err
	}
	for id, rs := range receiversOf(parties) {
		out[id] = rs
	}
	for _, id := range rest {
		if !overflowing[id] {
			if err := r.buildReceivers(ctx, id, parties); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// receiverParties reads the receiver parties of practices: a scan on the
// embedded FerretDB, an index on MongoDB.
func (r *PracticeMongoRepository) receiverParties(ctx context.Context, practiceIDs []string) ([]partyDoc, error) {
	var filter bson.D
	if len(practiceIDs) == 1 {
		filter = bson.D{{Key: "practice_id", Value: practiceIDs[0]}, {Key: "kind", Value: partyReceiver}}
	} else {
		filter = bson.D{{Key: "practice_id", Value: bson.D{{Key: "$in", Value: practiceIDs}}}, {Key: "kind", Value: partyReceiver}}
	}
	cur, err := r.parties.Find(ctx, filter)
	if err != nil {
		return nil, fmt.Errorf("read receiving organisations: %w", err)
	}
	var docs []partyDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("read receiving organisations: %w", err)
	}
	return docs, nil
}

// buildReceivers completes practiceID's summary from the parties read,
// under the practice's lock so that no first record's entries are lost
// on the embedded FerretDB; entries added meanwhile stay ($addToSet).
func (r *PracticeMongoRepository) buildReceivers(ctx context.Context, practiceID string, parties []partyDoc) error {
	entries := []string{}
	for _, p := range parties {
		if p.PracticeID == practiceID {
			entries = append(entries, receiverEntry(p.ModelCode, p.Party))
		}
	}
	unlock, err := r.opts.Locks.Acquire(ctx, PracticesCollection, practiceID)
	if err != nil {
		return fmt.Errorf("summarise the receivers of practice %s: %w", practiceID, err)
	}
	defer unlock()
	if len(entries) > maxReceiverEntries {
		return r.overflow(ctx, practiceID)
	}
	_, err = r.receivers.UpdateOne(ctx, bson.D{{Key: mongox.IDField, Value: practiceID}},
		bson.D{
			{Key: "$addToSet", Value: bson.D{{Key: "entries", Value: bson.D{{Key: "$each", Value: entries}}}}},
			{Key: "$set", Value: bson.D{{Key: "complete", Value: true}}},
		}, options.UpdateOne().SetUpsert(true))
	if err != nil {
		return fmt.Errorf("summarise the receivers of practice %s: %w", practiceID, err)
	}
	return nil
}

// receiversOfEntries turns a summary's entries into figures, sorted.
func receiversOfEntries(entries []string) practice.Receivers {
	parties := make([]partyDoc, 0, len(entries))
	for _, e := range entries {
		model, org, ok := strings.Cut(e, "|")
		if ok {
			parties = append(parties, partyDoc{PracticeID: "p", ModelCode: model, Kind: partyReceiver, Party: org})
		}
	}
	return receiversOf(parties)["p"]
}
