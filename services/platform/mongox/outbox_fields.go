package mongox

import (
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/gemella/gemella/services/platform/outbox"
)

// pendingWrite is the outbox part of every write, in one place, as package
// outbox lays it out: the fields of an inserted document, and the
// operators of an update, which append ($push/$each, $min pending_since)
// and never rewrite the array, so that a write cannot bring back records
// the relay cleared between the store's read and its write. An aggregate
// without events (publishes is false) carries no outbox fields.
func pendingWrite(publishes bool, recs []outbox.Record) (insertFields, updateOps bson.D) {
	if !publishes {
		return nil, nil
	}
	return outbox.InsertFields(recs), outbox.UpdateOps(recs)
}
