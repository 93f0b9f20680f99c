package portal

import (
	"context"
	"slices"

	"google.golang.org/grpc"

	catalogv1 "github.com/gemella/gemella/proto/gemella/catalog/v1"
)

// GetPracticeLineage: one generation each way, from the fake's practices.
func (f *fakeCatalog) GetPracticeLineage(ctx context.Context, req *catalogv1.GetPracticeLineageRequest, opts ...grpc.CallOption) (*catalogv1.PracticeLineage, error) {
	p, err := f.GetPractice(ctx, &catalogv1.GetPracticeRequest{Id: req.GetId()}, opts...)
	if err != nil {
		return nil, err
	}
	node := func(x *catalogv1.Practice, gen int32) *catalogv1.LineagePractice {
		return &catalogv1.LineagePractice{Id: x.GetId(), Slug: x.GetSlug(), Title: x.GetTitle(), Status: x.GetStatus(),
			OwnerOrganizationIds: x.GetOwnerOrganizationIds(), Generation: gen, Adapts: x.GetAdapts(), Adoption: x.GetAdoption()}
	}
	l := &catalogv1.PracticeLineage{Practice: node(p, 0)}
	for _, x := range f.practices {
		if slices.ContainsFunc(p.GetAdapts(), func(a *catalogv1.PracticeAdaptation) bool { return a.GetPracticeId() == x.GetId() }) {
			l.Ancestors = append(l.Ancestors, node(x, 1))
		}
		if slices.ContainsFunc(x.GetAdapts(), func(a *catalogv1.PracticeAdaptation) bool { return a.GetPracticeId() == p.GetId() }) {
			l.Descendants = append(l.Descendants, node(x, 1))
			l.DescendantAdoptions += x.GetAdoption().GetAdopted() + x.GetAdoption().GetPartiallyAdopted()
		}
	}
	return l, nil
}
