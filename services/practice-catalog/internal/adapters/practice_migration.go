package adapters

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/gemella/gemella/services/platform/mongox"
	"github.com/gemella/gemella/services/platform/outbox"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/practice"
)

// What practice documents kept inline before the adoption records and the
// revisions had collections of their own.
type legacyPracticeDoc struct {
	ID        string              `bson:"_id"`
	Version   int64               `bson:"version"`
	History   []legacyRevisionDoc `bson:"history"`
	Transfers []legacyTransferDoc `bson:"adoption_transfers"`
}

type legacyRevisionDoc struct {
	Number    int        `bson:"number"`
	RevisedAt time.Time  `bson:"revised_at"`
	RevisedBy string     `bson:"revised_by"`
	Note      string     `bson:"note,omitempty"`
	Content   contentDoc `bson:"content"`
}

type legacyTransferDoc struct {
	TransferID              string    `bson:"transfer_id"`
	TwinningID              string    `bson:"twinning_id"`
	ModelCode               string    `bson:"model_code"`
	ReceivingOrganizationID string    `bson:"receiving_organization_id,omitempty"`
	Status                  string    `bson:"status"`
	Version                 int64     `bson:"version"`
	At                      time.Time `bson:"at"`
}

// MigrateInline moves the revisions and adoption records that practice
// documents written by earlier versions keep inline into their
// collections, sets the counters from the records, and removes the
// inline copies; it returns how many practices it moved. It runs before
// the service serves (EnsureIndexes), is idempotent, and finds nothing
// to do on a database written by this version.
func MigrateInline(ctx context.Context, db *mongo.Database) (int, error) {
	repo := NewMongoRepositories(db, mongox.StoreOptions{}).Practices
	filter := bson.D{{Key: "$or", Value: bson.A{
		bson.D{{Key: "history", Value: bson.D{{Key: "$exists", Value: true}}}},
		bson.D{{Key: "adoption_transfers", Value: bson.D{{Key: "$exists", Value: true}}}},
	}}}
	cur, err := repo.Collection().Find(ctx, filter, options.Find().SetProjection(bson.D{
		{Key: "_id", Value: 1}, {Key: "version", Value: 1}, {Key: "history", Value: 1}, {Key: "adoption_transfers", Value: 1}}))
	if err != nil {
		return 0, fmt.Errorf("find practices to migrate: %w", err)
	}
	var docs []legacyPracticeDoc
	if err := cur.All(ctx, &docs); err != nil {
		return 0, fmt.Errorf("read practices to migrate: %w", err)
	}
	for _, d := range docs {
		if err := repo.migrate(ctx, d); err != nil {
			return 0, fmt.Errorf("migrate practice %s: %w", d.ID, err)
		}
	}
	return len(docs), nil
}

func (r *PracticeMongoRepository) migrate(ctx context.Context, d legacyPracticeDoc) error {
	for _, h := range d.History {
		doc := revisionDoc{revisionID(d.ID, h.Number), d.ID, h.Number, h.RevisedAt, h.RevisedBy, h.Note, h.Content}
		if _, err := r.revisions.ReplaceOne(ctx, bson.D{{Key: mongox.IDField, Value: doc.ID}}, doc, options.Replace().SetUpsert(true)); err != nil {
			return err
		}
	}
	var total practice.Adoption
	models := map[string]adoptionDoc{}
	for _, t := range d.Transfers {
		st, _ := practice.ParseTransferStatus(t.Status)
		rec := practice.TransferRecord{TransferID: t.TransferID, TwinningID: t.TwinningID, ModelCode: t.ModelCode,
			ReceivingOrganizationID: t.ReceivingOrganizationID, Status: st, Version: t.Version, At: t.At}
		if err := practice.ValidateTransfer(rec); err != nil {
			continue // nothing the figures could count
		}
		doc := toAdoptionRecordDoc(d.ID, rec)
		var known adoptionRecordDoc
		err := r.adoptions.FindOne(ctx, bson.D{{Key: mongox.IDField, Value: rec.TransferID}}).Decode(&known)
		switch {
		case errors.Is(err, mongo.ErrNoDocuments):
			if _, err := r.adoptions.InsertOne(ctx, doc); err != nil && !mongox.IsDuplicateKey(err) {
				return err
			}
		case err != nil:
			return err
		case known.Version < rec.Version:
			if _, err := r.adoptions.ReplaceOne(ctx, bson.D{{Key: mongox.IDField, Value: rec.TransferID}}, doc); err != nil {
				return err
			}
		}
		newInPractice, newInModel, err := r.join(ctx, d.ID, rec)
		if err != nil {
			return err
		}
		total.Add(practice.DeltaOf(nil, rec, newInPractice))
		m := models[rec.ModelCode].toDomain()
		m.Add(practice.DeltaOf(nil, rec, newInModel))
		models[rec.ModelCode] = toAdoptionDoc(m)
	}
	set := bson.D{}
	if len(d.Transfers) > 0 {
		set = append(set, bson.E{Key: "adoption", Value: toAdoptionDoc(total)}, bson.E{Key: "model_adoption", Value: models})
	}
	update := bson.D{
		{Key: "$unset", Value: bson.D{{Key: "history", Value: ""}, {Key: "adoption_transfers", Value: ""}}},
		{Key: "$inc", Value: bson.D{{Key: outbox.VersionField, Value: int64(1)}}},
	}
	if len(set) > 0 {
		update = append(update, bson.E{Key: "$set", Value: set})
	}
	res, err := r.Collection().UpdateOne(ctx, bson.D{{Key: mongox.IDField, Value: d.ID}, {Key: outbox.VersionField, Value: d.Version}}, update)
	if err != nil {
		return err
	}
	if res.MatchedCount == 0 {
		return errors.New("it changed while being migrated: start again")
	}
	return nil
}
