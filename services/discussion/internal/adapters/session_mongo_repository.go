package adapters

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/gemella/gemella/services/discussion/internal/domain/session"
	"github.com/gemella/gemella/services/platform/mongox"
)

// ListOpen implements session.Repository.
func (r *SessionMongoRepository) ListOpen(ctx context.Context, memberID string, now time.Time) ([]*session.Session, error) {
	// A null ended_at matches the sessions that have none.
	return r.Find(ctx, bson.D{
		{Key: "member_id", Value: memberID}, {Key: "ended_at", Value: nil}, {Key: expireField, Value: bson.D{{Key: "$gt", Value: now}}},
	}, mongox.Page{Limit: session.MaxOpenListed})
}
