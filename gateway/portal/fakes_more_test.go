package portal

import (
	"context"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	catalogv1 "github.com/gemella/gemella/proto/gemella/catalog/v1"
	discussionv1 "github.com/gemella/gemella/proto/gemella/discussion/v1"
)

// The fakes of seek and offer, administration and organisations: Regione
// Calabria asks for the certification of competences, Tos.Ca. fits with
// its reasons and Regione Toscana's open offer.

// seekOffer is the catalogue's needs and offers.
type seekOffer struct {
	mu          sync.Mutex
	needs       []*catalogv1.Need
	offers      []*catalogv1.Offer
	createdNeed *catalogv1.CreateNeedRequest
	closed      []string
}

func newSeekOffer() *seekOffer {
	return &seekOffer{
		needs: []*catalogv1.Need{
			{Id: "n1", OrganizationId: "vibo", Title: "Asili nido", Problem: "Servono posti.", Status: catalogv1.NeedStatus_NEED_STATUS_OPEN, Etag: `"1"`},
			{Id: "n-cert", OrganizationId: "calabria", Title: "Certificazione delle competenze", Problem: "Standard regionali.",
				Themes: []string{"lavoro"}, Territory: &catalogv1.Territory{Code: "ITF6", Name: "Calabria"}, Status: catalogv1.NeedStatus_NEED_STATUS_OPEN, Etag: `"1"`},
		},
		offers: []*catalogv1.Offer{{Id: "o-tosca", OrganizationId: "toscana", PracticeId: "p-tosca", PracticeTitle: "Tos.Ca. – Valorizzare le competenze dei cittadini",
			ModelCodes: []string{"A", "B", "C"}, Capacity: 2, Conditions: "Visite di studio.", Status: catalogv1.OfferStatus_OFFER_STATUS_OPEN, Etag: `"1"`}},
	}
}

func (f *fakeCatalog) ListNeeds(ctx context.Context, req *catalogv1.ListNeedsRequest, _ ...grpc.CallOption) (*catalogv1.ListNeedsResponse, error) {
	f.rec.note(ctx)
	var out []*catalogv1.Need
	for _, n := range f.so.needs {
		if req.GetOrganizationId() == "" || n.GetOrganizationId() == req.GetOrganizationId() {
			out = append(out, n)
		}
	}
	return &catalogv1.ListNeedsResponse{Needs: out}, nil
}

func (f *fakeCatalog) GetNeed(ctx context.Context, req *catalogv1.GetNeedRequest, _ ...grpc.CallOption) (*catalogv1.Need, error) {
	f.rec.note(ctx)
	for _, n := range f.so.needs {
		if n.GetId() == req.GetId() {
			return n, nil
		}
	}
	return nil, status.Errorf(codes.NotFound, "need %q not found", req.GetId())
}

func (f *fakeCatalog) CreateNeed(ctx context.Context, req *catalogv1.CreateNeedRequest, _ ...grpc.CallOption) (*catalogv1.Need, error) {
	f.rec.note(ctx)
	f.so.mu.Lock()
	defer f.so.mu.Unlock()
	f.so.createdNeed = req
	n := req.GetNeed()
	n.Id, n.Status = "n-new", catalogv1.NeedStatus_NEED_STATUS_OPEN
	f.so.needs = append(f.so.needs, n)
	return n, nil
}

func (f *fakeCatalog) CloseNeed(ctx context.Context, req *catalogv1.CloseNeedRequest, _ ...grpc.CallOption) (*catalogv1.Need, error) {
	f.rec.note(ctx)
	f.so.mu.Lock()
	defer f.so.mu.Unlock()
	f.so.closed = append(f.so.closed, req.GetId())
	return &catalogv1.Need{Id: req.GetId()}, nil
}

func (f *fakeCatalog) ListNeedMatches(ctx context.Context, req *catalogv1.ListNeedMatchesRequest, _ ...grpc.CallOption) (*catalogv1.ListNeedMatchesResponse, error) {
	f.rec.note(ctx)
	return &catalogv1.ListNeedMatchesResponse{Matches: []*catalogv1.PracticeMatch{{
		Practice: f.practices[0], Score: 0.77,
		Reasons: &catalogv1.MatchReasons{
			MatchedTerms: []string{"certificazione", "competenze", "cittadini"}, SharedThemes: []string{"lavoro"},
			TerritorialCloseness: "same country", PriorAdoptions: 2, OpenOfferId: "o-tosca",
		},
	}}}, nil
}

func (f *fakeCatalog) ListOffers(ctx context.Context, req *catalogv1.ListOffersRequest, _ ...grpc.CallOption) (*catalogv1.ListOffersResponse, error) {
	f.rec.note(ctx)
	var out []*catalogv1.Offer
	for _, o := range f.so.offers {
		if req.GetOrganizationId() == "" || o.GetOrganizationId() == req.GetOrganizationId() {
			out = append(out, o)
		}
	}
	return &catalogv1.ListOffersResponse{Offers: out}, nil
}

func (f *fakeCatalog) GetOffer(ctx context.Context, req *catalogv1.GetOfferRequest, _ ...grpc.CallOption) (*catalogv1.Offer, error) {
	f.rec.note(ctx)
	for _, o := range f.so.offers {
		if o.GetId() == req.GetId() {
			return o, nil
		}
	}
	return nil, status.Errorf(codes.NotFound, "offer %q not found", req.GetId())
}

func (f *fakeCatalog) ListMatchingNeeds(ctx context.Context, req *catalogv1.ListMatchingNeedsRequest, _ ...grpc.CallOption) (*catalogv1.ListMatchingNeedsResponse, error) {
	f.rec.note(ctx)
	return &catalogv1.ListMatchingNeedsResponse{Matches: []*catalogv1.NeedMatch{{
		Need: f.so.needs[1], OfferId: "o-tosca", Reasons: &catalogv1.MatchReasons{SharedThemes: []string{"lavoro"}},
	}}}, nil
}

func (f *fakeCatalog) GetOrganization(ctx context.Context, req *catalogv1.GetOrganizationRequest, _ ...grpc.CallOption) (*catalogv1.Organization, error) {
	f.rec.note(ctx)
	for _, o := range f.orgs {
		if o.GetId() == req.GetId() {
			return o, nil
		}
	}
	return nil, status.Errorf(codes.NotFound, "organisation %q not found", req.GetId())
}

func (f *fakeCatalog) CreateOrganization(ctx context.Context, req *catalogv1.CreateOrganizationRequest, _ ...grpc.CallOption) (*catalogv1.Organization, error) {
	f.rec.note(ctx)
	o := req.GetOrganization()
	o.Id = "org-new"
	f.orgs = append(f.orgs, o)
	return o, nil
}

// decisions records the administrators' decisions.
type decisions struct {
	mu        sync.Mutex
	affiliate []*discussionv1.DecideAffiliationRequest
	grants    []*discussionv1.GrantRolesRequest
	revokes   []*discussionv1.RevokeRolesRequest
	blocks    []*discussionv1.BlockMemberRequest
}

func (f *fakeDiscussion) ListAffiliationRequests(ctx context.Context, _ *discussionv1.ListAffiliationRequestsRequest, _ ...grpc.CallOption) (*discussionv1.ListAffiliationRequestsResponse, error) {
	f.rec.note(ctx)
	resp := &discussionv1.ListAffiliationRequestsResponse{}
	for _, m := range f.members {
		for _, a := range m.GetAffiliations() {
			if a.GetStatus() == discussionv1.AffiliationStatus_AFFILIATION_STATUS_PENDING {
				resp.Requests = append(resp.Requests, &discussionv1.AffiliationRequest{Member: m, OrganizationId: a.GetOrganizationId(), RequestTime: a.GetRequestTime()})
			}
		}
	}
	return resp, nil
}

func (f *fakeDiscussion) BlockMember(ctx context.Context, req *discussionv1.BlockMemberRequest, _ ...grpc.CallOption) (*discussionv1.Member, error) {
	f.rec.note(ctx)
	f.decided.mu.Lock()
	defer f.decided.mu.Unlock()
	f.decided.blocks = append(f.decided.blocks, req)
	return f.members[0], nil
}

func (f *fakeDiscussion) RevokeRoles(ctx context.Context, req *discussionv1.RevokeRolesRequest, _ ...grpc.CallOption) (*discussionv1.Member, error) {
	f.rec.note(ctx)
	f.decided.mu.Lock()
	defer f.decided.mu.Unlock()
	if f.revokeErr != nil {
		return nil, f.revokeErr
	}
	f.decided.revokes = append(f.decided.revokes, req)
	return f.members[0], nil
}

func (f *fakeDiscussion) GetMember(ctx context.Context, req *discussionv1.GetMemberRequest, _ ...grpc.CallOption) (*discussionv1.Member, error) {
	f.rec.note(ctx)
	for _, m := range f.members {
		if m.GetId() == req.GetId() {
			return m, nil
		}
	}
	return nil, status.Errorf(codes.NotFound, "member %q not found", req.GetId())
}

func (f *fakeDiscussion) DecideAffiliation(ctx context.Context, req *discussionv1.DecideAffiliationRequest, _ ...grpc.CallOption) (*discussionv1.Member, error) {
	f.rec.note(ctx)
	f.decided.mu.Lock()
	defer f.decided.mu.Unlock()
	f.decided.affiliate = append(f.decided.affiliate, req)
	return f.members[0], nil
}

func (f *fakeDiscussion) GrantRoles(ctx context.Context, req *discussionv1.GrantRolesRequest, _ ...grpc.CallOption) (*discussionv1.Member, error) {
	f.rec.note(ctx)
	f.decided.mu.Lock()
	defer f.decided.mu.Unlock()
	f.decided.grants = append(f.decided.grants, req)
	return f.members[0], nil
}

// moderated records reports and moderators' decisions.
type moderated struct {
	mu        sync.Mutex
	reports   []*discussionv1.ReportPostRequest
	hidden    []*discussionv1.ModeratePostRequest
	restored  []*discussionv1.ModeratePostRequest
	dismissed []*discussionv1.ModeratePostRequest
	edited    []*discussionv1.EditPostRequest
	log       []*discussionv1.ModerationEntry
}

func (f *fakeDiscussion) DismissReports(ctx context.Context, req *discussionv1.ModeratePostRequest, _ ...grpc.CallOption) (*discussionv1.Post, error) {
	f.rec.note(ctx)
	f.mod.mu.Lock()
	defer f.mod.mu.Unlock()
	f.mod.dismissed = append(f.mod.dismissed, req)
	return &discussionv1.Post{Id: req.GetId()}, nil
}

func (f *fakeDiscussion) ListModerationLog(ctx context.Context, _ *discussionv1.ListModerationLogRequest, _ ...grpc.CallOption) (*discussionv1.ListModerationLogResponse, error) {
	f.rec.note(ctx)
	f.mod.mu.Lock()
	defer f.mod.mu.Unlock()
	return &discussionv1.ListModerationLogResponse{Entries: f.mod.log}, nil
}

func (f *fakeDiscussion) ReportPost(ctx context.Context, req *discussionv1.ReportPostRequest, _ ...grpc.CallOption) (*discussionv1.Post, error) {
	f.rec.note(ctx)
	f.mod.mu.Lock()
	defer f.mod.mu.Unlock()
	f.mod.reports = append(f.mod.reports, req)
	return &discussionv1.Post{Id: req.GetId()}, nil
}

func (f *fakeDiscussion) HidePost(ctx context.Context, req *discussionv1.ModeratePostRequest, _ ...grpc.CallOption) (*discussionv1.Post, error) {
	f.rec.note(ctx)
	f.mod.mu.Lock()
	defer f.mod.mu.Unlock()
	f.mod.hidden = append(f.mod.hidden, req)
	return &discussionv1.Post{Id: req.GetId()}, nil
}

func (f *fakeDiscussion) RestorePost(ctx context.Context, req *discussionv1.ModeratePostRequest, _ ...grpc.CallOption) (*discussionv1.Post, error) {
	f.rec.note(ctx)
	f.mod.mu.Lock()
	defer f.mod.mu.Unlock()
	f.mod.restored = append(f.mod.restored, req)
	return &discussionv1.Post{Id: req.GetId()}, nil
}

func (f *fakeDiscussion) EditPost(ctx context.Context, req *discussionv1.EditPostRequest, _ ...grpc.CallOption) (*discussionv1.Post, error) {
	f.rec.note(ctx)
	f.mod.mu.Lock()
	defer f.mod.mu.Unlock()
	f.mod.edited = append(f.mod.edited, req)
	return &discussionv1.Post{Id: req.GetId()}, nil
}
