package mongox

import (
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/gemella/gemella/services/platform/outbox"
)

// pendingSinceField holds when the oldest of a document's pending events
// was written, the relay's indexed sweep field.
const pendingSinceField = "pending_since"

// outboxFields are the fields the stores never read into a document nor
// write from one: the outbox's, which the relay clears behind their backs.
var outboxFields = []string{outbox.Field, pendingSinceField}

// pendingWrite is the pending-events part of every write, in one place:
// the fields of an inserted document, and the operators of an update. An
// update appends; it never rewrites the array, so it cannot bring back
// records the relay cleared between the store's read and its write.
// (This is what outbox.InsertFields and outbox.UpdateOps will give.)
func pendingWrite(recs []outbox.Record, now time.Time) (insertFields, updateOps bson.D) {
	if len(recs) == 0 {
		return nil, nil
	}
	now = now.UTC()
	return bson.D{{Key: outbox.Field, Value: recs}, {Key: pendingSinceField, Value: now}},
		bson.D{
			{Key: "$push", Value: bson.D{{Key: outbox.Field, Value: bson.D{{Key: "$each", Value: recs}}}}},
			{Key: "$min", Value: bson.D{{Key: pendingSinceField, Value: now}}},
		}
}

func isOutboxField(key string) bool {
	for _, f := range outboxFields {
		if key == f {
			return true
		}
	}
	return false
}
