package search

import (
	"context"

	"github.com/gemella/gemella/services/practice-catalog/internal/domain/need"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/organization"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/practice"
)

// A catalog without an event stream (the in-memory one of the benchmarks)
// keeps its index current by writing through: each repository write that
// succeeds is applied to the index at once. With a stream, the Follower
// does this instead, for every replica.

// WriteThroughOrganizations wraps repo so its writes reach x.
func WriteThroughOrganizations(repo organization.Repository, x *Index) organization.Repository {
	return orgsThrough{repo, x}
}

// WriteThroughPractices wraps repo so its writes reach x.
func WriteThroughPractices(repo practice.Repository, x *Index) practice.Repository {
	return practicesThrough{repo, x}
}

// WriteThroughNeeds wraps repo so its writes reach x.
func WriteThroughNeeds(repo need.Repository, x *Index) need.Repository {
	return needsThrough{repo, x}
}

type orgsThrough struct {
	organization.Repository
	x *Index
}

func (r orgsThrough) Create(ctx context.Context, o *organization.Organization) error {
	if err := r.Repository.Create(ctx, o); err != nil {
		return err
	}
	return r.x.ApplyOrganization(o, 0)
}

func (r orgsThrough) Update(ctx context.Context, id string, fn func(*organization.Organization) error) (*organization.Organization, error) {
	o, err := r.Repository.Update(ctx, id, fn)
	if err != nil {
		return nil, err
	}
	return o, r.x.ApplyOrganization(o, 0)
}

type practicesThrough struct {
	practice.Repository
	x *Index
}

func (r practicesThrough) Create(ctx context.Context, p *practice.Practice) error {
	if err := r.Repository.Create(ctx, p); err != nil {
		return err
	}
	return r.x.ApplyPractice(p, 0)
}

func (r practicesThrough) Update(ctx context.Context, id string, fn func(*practice.Practice) error) (*practice.Practice, error) {
	p, err := r.Repository.Update(ctx, id, fn)
	if err != nil {
		return nil, err
	}
	return p, r.x.ApplyPractice(p, 0)
}

// RecordTransfer: the figures a transfer changed reach the index too.
func (r practicesThrough) RecordTransfer(ctx context.Context, practiceID string, rec practice.TransferRecord) (bool, error) {
	applied, err := r.Repository.RecordTransfer(ctx, practiceID, rec)
	if err != nil || !applied {
		return applied, err
	}
	p, err := r.Repository.Get(ctx, practiceID)
	if err != nil {
		return applied, err
	}
	return applied, r.x.ApplyPractice(p, 0)
}

type needsThrough struct {
	need.Repository
	x *Index
}

func (r needsThrough) Create(ctx context.Context, n *need.Need) error {
	if err := r.Repository.Create(ctx, n); err != nil {
		return err
	}
	return r.x.ApplyNeed(n, 0)
}

func (r needsThrough) Update(ctx context.Context, id string, fn func(*need.Need) error) (*need.Need, error) {
	n, err := r.Repository.Update(ctx, id, fn)
	if err != nil {
		return nil, err
	}
	return n, r.x.ApplyNeed(n, 0)
}
