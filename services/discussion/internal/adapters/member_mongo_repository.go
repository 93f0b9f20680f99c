package adapters

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/gemella/gemella/services/discussion/internal/domain/member"
	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/mongox"
	"github.com/gemella/gemella/services/platform/paging"
)

// GetByEmail implements member.Repository.
func (r *MemberMongoRepository) GetByEmail(ctx context.Context, email string) (*member.Member, error) {
	m, err := r.FindOne(ctx, bson.D{{Key: "email", Value: email}}, email)
	return byEmail(m, err)
}

// byEmail answers an unknown e-mail without repeating the address.
func byEmail(m *member.Member, err error) (*member.Member, error) {
	if apperr.KindOf(err) == apperr.KindNotFound {
		return nil, apperr.NotFound("no member has this e-mail address").WithReason(apperr.ReasonMemberNotFound)
	}
	return m, err
}

// List implements member.Repository. The password hash is not read.
func (r *MemberMongoRepository) List(ctx context.Context, after *paging.Cursor, limit int) ([]*member.Member, error) {
	return r.Find(ctx, bson.D{}, mongox.Page{After: after, Limit: limit, Omit: []string{"password_hash"}})
}

// ListPendingAffiliations implements member.Repository.
func (r *MemberMongoRepository) ListPendingAffiliations(ctx context.Context, after *paging.Cursor, limit int) ([]*member.Member, error) {
	return r.Find(ctx, bson.D{{Key: "affiliations.status", Value: member.AffiliationPending.String()}},
		mongox.Page{After: after, Ascending: true, Limit: limit, Omit: []string{"password_hash"}})
}
