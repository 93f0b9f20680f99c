package adapters

import (
	"context"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/outbox"

	"github.com/gemella/gemella/services/platform/mongox"
	"github.com/gemella/gemella/services/platform/paging"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/practice"
)

// GetBySlug implements practice.Repository.
func (r *PracticeMongoRepository) GetBySlug(ctx context.Context, slug string) (*practice.Practice, error) {
	return r.FindOne(ctx, bson.D{{Key: "slug", Value: slug}}, slug)
}

// List implements practice.Repository.
func (r *PracticeMongoRepository) List(ctx context.Context, f practice.Filter, after *paging.Cursor, limit int) ([]*practice.Practice, error) {
	filter := withValues(bson.D{}, "status", f.Status.String(), "themes", f.Theme, "sectors", f.Sector,
		"territory.code", f.TerritoryCode, "owner_organization_ids", f.OwnerOrganizationID, "created_by", f.CreatedBy)
	if f.Status.IsZero() {
		// A deleted draft is a tombstone: no list shows it.
		filter = append(filter, bson.E{Key: "status", Value: bson.D{{Key: "$ne", Value: practice.Deleted.String()}}})
	}
	if f.Unpublished.Restricted {
		// A draft or submitted practice only where the caller edits an owner.
		filter = append(filter, bson.E{Key: "$or", Value: bson.A{
			bson.D{{Key: "status", Value: bson.D{{Key: "$in", Value: bson.A{practice.Published.String(), practice.Archived.String()}}}}},
			bson.D{{Key: "owner_organization_ids", Value: bson.D{{Key: "$in", Value: append([]string{}, f.Unpublished.Of...)}}}},
		}})
	}
	if f.Order != practice.OrderNewest {
		return r.listOrdered(ctx, filter, f.Order, after, limit)
	}
	// Older documents kept their history and transfer records inline: a
	// list leaves them in the store.
	return r.Find(ctx, filter, mongox.Page{After: after, Limit: limit, Omit: []string{"history", "adoption_transfers"}})
}

// Update implements practice.Repository: the revisions fn made (Revise
// puts them in History) are stored in practice_revisions before the
// practice, each under its number, so that fn running again, or a write
// that loses its race, stores the same document again. A revision whose
// practice write never succeeded is below no practice's revision number
// and never listed; the next revise replaces it.
func (r *PracticeMongoRepository) Update(ctx context.Context, id string, fn func(p *practice.Practice) error) (*practice.Practice, error) {
	return r.AggregateStore.Update(ctx, id, func(p *practice.Practice) error {
		if err := fn(p); err != nil {
			return err
		}
		for _, rev := range p.History {
			doc := toRevisionDoc(p.ID, rev)
			if _, err := r.revisions.ReplaceOne(ctx, bson.D{{Key: mongox.IDField, Value: doc.ID}}, doc, options.Replace().SetUpsert(true)); err != nil {
				return fmt.Errorf("store revision %d of practice %s: %w", rev.Number, p.ID, err)
			}
		}
		return nil
	})
}

// ListRevisions implements practice.Repository.
func (r *PracticeMongoRepository) ListRevisions(ctx context.Context, id string, below, limit int) ([]practice.Revision, error) {
	p, err := r.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if below <= 0 || below > p.Revision {
		below = p.Revision
	}
	filter := bson.D{{Key: "practice_id", Value: id}, {Key: "number", Value: bson.D{{Key: "$lt", Value: below}}}}
	opts := options.Find().SetSort(bson.D{{Key: "number", Value: -1}})
	if limit > 0 {
		opts.SetLimit(int64(limit))
	}
	cur, err := r.revisions.Find(ctx, filter, opts)
	if err != nil {
		return nil, fmt.Errorf("list revisions of practice %s: %w", id, err)
	}
	var docs []revisionDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("list revisions of practice %s: %w", id, err)
	}
	out := make([]practice.Revision, len(docs))
	for i := range docs {
		out[i] = docs[i].toDomain()
	}
	return out, nil
}

// RecordTransfer implements practice.Repository with three kinds of small
// writes, none of which reads or rewrites the practice: the transfer's
// record (by _id), the parties a first record names (inserts by _id, one
// round trip), and the counters ($inc by _id, with the version). On the
// embedded FerretDB all three happen under the practice's document lock,
// which every other write of the practice takes too, and which also
// serialises the writers of its transfers' records (a transfer belongs to
// one practice): one lease, not one per document.
//
// A crash between the record and the counters loses that change of the
// figures: the record says it was applied. The window is one round trip.
func (r *PracticeMongoRepository) RecordTransfer(ctx context.Context, practiceID string, rec practice.TransferRecord) (bool, error) {
	if err := practice.ValidateTransfer(rec); err != nil {
		return false, err
	}
	if practiceID == "" {
		return false, practice.ErrNotFound(practiceID)
	}
	unlock, err := r.opts.Locks.Acquire(ctx, PracticesCollection, practiceID)
	if err != nil {
		return false, fmt.Errorf("record transfer %s on practice %s: %w", rec.TransferID, practiceID, err)
	}
	defer unlock()
	previous, applied, err := r.record(ctx, practiceID, rec)
	if err != nil || !applied {
		if err == nil {
			// Nothing new; an unknown practice is NotFound all the same.
			_, err = r.Get(ctx, practiceID)
		}
		return false, err
	}
	newInPractice, newInModel := false, false
	if previous == nil {
		if newInPractice, newInModel, err = r.join(ctx, practiceID, rec); err != nil {
			return false, err
		}
	}
	inc := bson.D{{Key: outbox.VersionField, Value: int64(1)}}
	inc = appendCounts(inc, "adoption.", practice.DeltaOf(previous, rec, newInPractice))
	inc = appendCounts(inc, "model_adoption."+rec.ModelCode+".", practice.DeltaOf(previous, rec, newInModel))
	// The counters and the event that tells every replica's search index
	// to read them again, in one write.
	ev, err := EncodeAdoptionChanged(ctx, practiceID, rec)
	if err != nil {
		return false, err
	}
	update := append(bson.D{{Key: "$inc", Value: inc}}, outbox.UpdateOps([]outbox.Record{ev})...)
	// The practice as the update left it tells the relay what to publish,
	// so that it need not read the practice again.
	var after struct {
		Pending []bson.Raw `bson:"pending_events"`
	}
	err = r.Collection().FindOneAndUpdate(ctx, bson.D{{Key: mongox.IDField, Value: practiceID}}, update,
		options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&after)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return false, practice.ErrNotFound(practiceID)
	}
	if err != nil {
		return false, fmt.Errorf("count transfer %s on practice %s: %w", rec.TransferID, practiceID, err)
	}
	r.opts.Written(r.Collection().Name(), practiceID, 1, after.Pending, r.opts.Locks.Held(PracticesCollection, practiceID))
	return true, nil
}

func appendCounts(inc bson.D, prefix string, d practice.AdoptionDelta) bson.D {
	for _, c := range []struct {
		field string
		by    int
	}{{"twinnings", d.Twinnings}, {"in_progress", d.InProgress}, {"adopted", d.Adopted}, {"partially_adopted", d.PartiallyAdopted}, {"dropped", d.Dropped}} {
		if c.by != 0 {
			inc = append(inc, bson.E{Key: prefix + c.field, Value: int64(c.by)})
		}
	}
	return inc
}

// record stores rec as its transfer's record if it is newer than the
// stored one, which it returns (nil: none). On MongoDB (no locks) in one
// conditioned findAndModify (recordIfNewer). On the embedded FerretDB,
// which serves only filters on _id alone and applies a conditioned write
// non-atomically, under the practice's lock that the caller holds, which
// every writer of the practice's records takes: with the in-process locks
// (one process writes the database, and takes the events of one transfer
// in the order they were published) one findAndModify that puts rec in
// place and returns what was there (recordOver); with leases (several
// processes, whose events of one transfer may cross) a read and a replace
// (recordAfterRead).
func (r *PracticeMongoRepository) record(ctx context.Context, practiceID string, rec practice.TransferRecord) (previous *practice.TransferRecord, applied bool, err error) {
	doc := toAdoptionRecordDoc(practiceID, rec)
	byID := bson.D{{Key: mongox.IDField, Value: rec.TransferID}}
	switch {
	case r.opts.Locks == nil:
		return r.recordIfNewer(ctx, rec, doc, byID)
	case r.opts.Locks.Shared():
		return r.recordAfterRead(ctx, rec, doc, byID)
	}
	return r.recordOver(ctx, rec, doc, byID)
}

// recordOver is record under in-process locks: one findAndModify by _id
// that puts rec in place and returns the record it replaced. When that was
// as new as rec or newer (an event delivered again, or late), a replace
// puts it back; for an event delivered again (the same version and
// status) nothing is written. A crash between the two leaves the older
// record until the transfer's next event, which then counts its change
// from it: the window is one round trip, and opens only for a late event,
// which one process taking its events in order sees only when the
// twinning's relay published events again after a crash of its own.
func (r *PracticeMongoRepository) recordOver(ctx context.Context, rec practice.TransferRecord, doc adoptionRecordDoc, byID bson.D) (*practice.TransferRecord, bool, error) {
	var was adoptionRecordDoc
	err := r.adoptions.FindOneAndReplace(ctx, byID, doc,
		options.FindOneAndReplace().SetUpsert(true).SetReturnDocument(options.Before)).Decode(&was)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, true, nil // the transfer's first record
	}
	if err != nil {
		return nil, false, fmt.Errorf("record transfer %s: %w", rec.TransferID, err)
	}
	prev := was.toDomain()
	if rec.Newer(&prev) {
		return &prev, true, nil
	}
	if was.Version != doc.Version || was.Status != doc.Status {
		if _, err := r.adoptions.ReplaceOne(ctx, byID, was); err != nil {
			return nil, false, fmt.Errorf("put back the record of transfer %s: %w", rec.TransferID, err)
		}
	}
	return &prev, false, nil
}

// recordAfterRead is record under leases: a read, and a replace or an
// insert only when rec is newer, so that a late event never overwrites
// the record, not even for a moment.
func (r *PracticeMongoRepository) recordAfterRead(ctx context.Context, rec practice.TransferRecord, doc adoptionRecordDoc, byID bson.D) (*practice.TransferRecord, bool, error) {
	for attempt := 0; attempt < maxRecordAttempts; attempt++ {
		var known adoptionRecordDoc
		err := r.adoptions.FindOne(ctx, byID).Decode(&known)
		if errors.Is(err, mongo.ErrNoDocuments) {
			if _, err := r.adoptions.InsertOne(ctx, doc); mongox.IsDuplicateKey(err) {
				continue // another writer came first: compare with it
			} else if err != nil {
				return nil, false, fmt.Errorf("record transfer %s: %w", rec.TransferID, err)
			}
			return nil, true, nil
		}
		if err != nil {
			return nil, false, fmt.Errorf("read record of transfer %s: %w", rec.TransferID, err)
		}
		prev := known.toDomain()
		if !rec.Newer(&prev) {
			return &prev, false, nil
		}
		res, err := r.adoptions.ReplaceOne(ctx, byID, doc)
		if err != nil {
			return nil, false, fmt.Errorf("record transfer %s: %w", rec.TransferID, err)
		}
		if res.MatchedCount == 1 {
			return &prev, true, nil
		}
	}
	return nil, false, recordContention(rec)
}

// maxRecordAttempts bounds the rounds of record against other writers of
// one transfer's record.
const maxRecordAttempts = 8

func recordContention(rec practice.TransferRecord) error {
	return apperr.Aborted("the record of transfer %s is being changed by others right now: retry", rec.TransferID)
}

// recordIfNewer is record on MongoDB, in one round trip for a record that
// is new or newer than the stored one: a findAndModify that replaces the
// record only if its version is older than rec's, or inserts it, and
// returns what it replaced. A record as new as rec or newer (an event
// delivered twice, or late) makes the upsert's insert a duplicate key;
// only then is the record read, to tell that from another replica's
// insert of an older record in between, which the next round replaces.
func (r *PracticeMongoRepository) recordIfNewer(ctx context.Context, rec practice.TransferRecord, doc adoptionRecordDoc, byID bson.D) (*practice.TransferRecord, bool, error) {
	older := bson.D{{Key: mongox.IDField, Value: rec.TransferID}, {Key: "version", Value: bson.D{{Key: "$lt", Value: rec.Version}}}}
	opts := options.FindOneAndReplace().SetUpsert(true).SetReturnDocument(options.Before)
	for attempt := 0; attempt < maxRecordAttempts; attempt++ {
		var was adoptionRecordDoc
		err := r.adoptions.FindOneAndReplace(ctx, older, doc, opts).Decode(&was)
		switch {
		case err == nil:
			prev := was.toDomain()
			return &prev, true, nil
		case errors.Is(err, mongo.ErrNoDocuments):
			return nil, true, nil // none before: inserted
		case !mongox.IsDuplicateKey(err):
			return nil, false, fmt.Errorf("record transfer %s: %w", rec.TransferID, err)
		}
		var known adoptionRecordDoc
		err = r.adoptions.FindOne(ctx, byID).Decode(&known)
		if errors.Is(err, mongo.ErrNoDocuments) {
			continue
		}
		if err != nil {
			return nil, false, fmt.Errorf("read record of transfer %s: %w", rec.TransferID, err)
		}
		if prev := known.toDomain(); !rec.Newer(&prev) {
			return &prev, false, nil
		}
	}
	return nil, false, recordContention(rec)
}

// join inserts the parties rec names, in one round trip; a party already
// there is a duplicate key. It reports whether rec's twinning is new to
// the practice and to the model.
func (r *PracticeMongoRepository) join(ctx context.Context, practiceID string, rec practice.TransferRecord) (newInPractice, newInModel bool, err error) {
	// The summary first: a crash before the parties leaves it ahead,
	// and the event delivered again writes the parties.
	if err := r.addReceivers(ctx, practiceID, receiverEntries(rec)); err != nil {
		return false, false, err
	}
	parties := partiesOf(practiceID, rec)
	docs := make([]any, len(parties))
	for i := range parties {
		docs[i] = parties[i]
	}
	_, err = r.parties.InsertMany(ctx, docs, options.InsertMany().SetOrdered(false))
	taken := map[int]bool{}
	var bulk mongo.BulkWriteException
	switch {
	case err == nil:
	case errors.As(err, &bulk) && bulk.WriteConcernError == nil:
		for _, we := range bulk.WriteErrors {
			if we.Code != 11000 && !mongox.IsDuplicateKey(errors.New(we.Message)) {
				return false, false, fmt.Errorf("record parties of transfer %s: %w", rec.TransferID, err)
			}
			taken[we.Index] = true
		}
	default:
		return false, false, fmt.Errorf("record parties of transfer %s: %w", rec.TransferID, err)
	}
	return !taken[0], !taken[1], nil
}
