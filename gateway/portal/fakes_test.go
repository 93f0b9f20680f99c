package portal

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	catalogv1 "github.com/gemella/gemella/proto/gemella/catalog/v1"
	discussionv1 "github.com/gemella/gemella/proto/gemella/discussion/v1"
	twinningv1 "github.com/gemella/gemella/proto/gemella/twinning/v1"
)

// The fakes answer from in-memory data shaped like the seed: Tos.Ca. with
// its five models from Regione Toscana and Comune di Firenze to Regione
// Calabria and Comune di Vibo Valentia. A method a test does not need is
// left to the embedded interface (and panics if called, which the portal's
// recover turns into the error page, so a test notices).

// testNow is the portal's clock in tests: 16 June 2018, noon in Rome.
var testNow = time.Date(2018, time.June, 16, 12, 0, 0, 0, rome)

func ts(t time.Time) *timestamppb.Timestamp { return timestamppb.New(t) }

// calls records the metadata of every backend call, to check the token.
type calls struct {
	mu    sync.Mutex
	auths []string
}

func (c *calls) note(ctx context.Context) {
	md, _ := metadata.FromOutgoingContext(ctx)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.auths = append(c.auths, strings.Join(md.Get("authorization"), ","))
}

func (c *calls) lastAuth() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.auths) == 0 {
		return ""
	}
	return c.auths[len(c.auths)-1]
}

type fakeCatalog struct {
	catalogv1.CatalogServiceClient
	rec       *calls
	orgs      []*catalogv1.Organization
	practices []*catalogv1.Practice
	getErr    error
	createErr error
	created   *catalogv1.CreatePracticeRequest
	so        *seekOffer
	// updated are the practices UpdatePractice saved (stale_test.go).
	updated []*catalogv1.Practice
}

func (f *fakeCatalog) ListOrganizations(ctx context.Context, _ *catalogv1.ListOrganizationsRequest, _ ...grpc.CallOption) (*catalogv1.ListOrganizationsResponse, error) {
	f.rec.note(ctx)
	return &catalogv1.ListOrganizationsResponse{Organizations: f.orgs}, nil
}

func (f *fakeCatalog) ListPractices(ctx context.Context, _ *catalogv1.ListPracticesRequest, _ ...grpc.CallOption) (*catalogv1.ListPracticesResponse, error) {
	f.rec.note(ctx)
	return &catalogv1.ListPracticesResponse{Practices: f.practices}, nil
}

func (f *fakeCatalog) SearchPractices(ctx context.Context, req *catalogv1.SearchPracticesRequest, _ ...grpc.CallOption) (*catalogv1.SearchPracticesResponse, error) {
	f.rec.note(ctx)
	resp := &catalogv1.SearchPracticesResponse{
		Facets: []*catalogv1.Facet{
			{Field: "theme", Counts: []*catalogv1.FacetCount{{Value: "lavoro", Count: 1234}}},
			{Field: "territory", Counts: []*catalogv1.FacetCount{{Value: "ITI1", Count: 2}}},
		},
	}
	for _, p := range f.practices {
		hit := &catalogv1.PracticeHit{Practice: p}
		if req.GetQ() != "" {
			hit.Highlights = []*catalogv1.Highlight{{Field: "summary", Fragments: []string{"le <mark>competenze</mark> &amp; i &lt;cittadini&gt;"}}}
		}
		resp.Hits = append(resp.Hits, hit)
	}
	resp.Total = int32(len(resp.Hits))
	return resp, nil
}

func (f *fakeCatalog) GetPractice(ctx context.Context, req *catalogv1.GetPracticeRequest, _ ...grpc.CallOption) (*catalogv1.Practice, error) {
	f.rec.note(ctx)
	if f.getErr != nil {
		return nil, f.getErr
	}
	for _, p := range f.practices {
		if p.GetId() == req.GetId() || p.GetSlug() == req.GetId() {
			return p, nil
		}
	}
	return nil, status.Errorf(codes.NotFound, "practice %s not found", req.GetId())
}

func (f *fakeCatalog) CreatePractice(ctx context.Context, req *catalogv1.CreatePracticeRequest, _ ...grpc.CallOption) (*catalogv1.Practice, error) {
	f.rec.note(ctx)
	f.created = req
	if f.createErr != nil {
		return nil, f.createErr
	}
	p := req.GetPractice()
	p.Id, p.Status = "new-practice", catalogv1.PracticeStatus_PRACTICE_STATUS_DRAFT
	return p, nil
}

type fakeTwinning struct {
	twinningv1.TwinningServiceClient
	rec       *calls
	twinnings []*twinningv1.Twinning
	created   *twinningv1.CreateTwinningRequest
	createErr error
	logged    *twinningv1.LogActivityRequest
	logErr    error
	added     *twinningv1.AddTransferRequest
	// updated are the twinnings UpdateTwinning saved (stale_test.go).
	updated []*twinningv1.Twinning
}

func (f *fakeTwinning) AddTransfer(ctx context.Context, req *twinningv1.AddTransferRequest, _ ...grpc.CallOption) (*twinningv1.Transfer, error) {
	f.rec.note(ctx)
	f.added = req
	tr := req.GetTransfer()
	tr.Id, tr.Status = "tr-new", twinningv1.TransferStatus_TRANSFER_STATUS_PLANNED
	return tr, nil
}

func (f *fakeTwinning) LogActivity(ctx context.Context, req *twinningv1.LogActivityRequest, _ ...grpc.CallOption) (*twinningv1.Activity, error) {
	f.rec.note(ctx)
	f.logged = req
	if f.logErr != nil {
		return nil, f.logErr
	}
	a := req.GetActivity()
	a.Id = "a-new"
	return a, nil
}

func (f *fakeTwinning) CreateTwinning(ctx context.Context, req *twinningv1.CreateTwinningRequest, _ ...grpc.CallOption) (*twinningv1.Twinning, error) {
	f.rec.note(ctx)
	f.created = req
	if f.createErr != nil {
		return nil, f.createErr
	}
	tw := req.GetTwinning()
	tw.Id, tw.Status = "t-new", twinningv1.TwinningStatus_TWINNING_STATUS_DRAFT
	return tw, nil
}

func (f *fakeTwinning) ListTwinnings(ctx context.Context, _ *twinningv1.ListTwinningsRequest, _ ...grpc.CallOption) (*twinningv1.ListTwinningsResponse, error) {
	f.rec.note(ctx)
	return &twinningv1.ListTwinningsResponse{Twinnings: f.twinnings}, nil
}

func (f *fakeTwinning) GetTwinning(ctx context.Context, req *twinningv1.GetTwinningRequest, _ ...grpc.CallOption) (*twinningv1.Twinning, error) {
	f.rec.note(ctx)
	for _, t := range f.twinnings {
		if t.GetId() == req.GetId() || t.GetCode() == req.GetId() {
			return t, nil
		}
	}
	return nil, status.Errorf(codes.NotFound, "twinning %s not found", req.GetId())
}

type fakeDiscussion struct {
	discussionv1.DiscussionServiceClient
	rec      *calls
	members  []*discussionv1.Member
	threads  []*discussionv1.Thread
	posts    []*discussionv1.Post
	added    *discussionv1.AddPostRequest
	addErr   error
	session  *discussionv1.Session
	loginErr error

	refreshed, deleted int
	refreshErr         error
	decided            decisions
	mod                moderated
	revokeErr          error
}

func (f *fakeDiscussion) ListMembers(ctx context.Context, _ *discussionv1.ListMembersRequest, _ ...grpc.CallOption) (*discussionv1.ListMembersResponse, error) {
	f.rec.note(ctx)
	return &discussionv1.ListMembersResponse{Members: f.members}, nil
}

func (f *fakeDiscussion) ListThreads(ctx context.Context, _ *discussionv1.ListThreadsRequest, _ ...grpc.CallOption) (*discussionv1.ListThreadsResponse, error) {
	f.rec.note(ctx)
	return &discussionv1.ListThreadsResponse{Threads: f.threads}, nil
}

func (f *fakeDiscussion) GetThread(ctx context.Context, req *discussionv1.GetThreadRequest, _ ...grpc.CallOption) (*discussionv1.Thread, error) {
	f.rec.note(ctx)
	for _, t := range f.threads {
		if t.GetId() == req.GetId() {
			return t, nil
		}
	}
	return nil, status.Errorf(codes.NotFound, "thread %s not found", req.GetId())
}

func (f *fakeDiscussion) ListPosts(ctx context.Context, _ *discussionv1.ListPostsRequest, _ ...grpc.CallOption) (*discussionv1.ListPostsResponse, error) {
	f.rec.note(ctx)
	return &discussionv1.ListPostsResponse{Posts: f.posts}, nil
}

func (f *fakeDiscussion) AddPost(ctx context.Context, req *discussionv1.AddPostRequest, _ ...grpc.CallOption) (*discussionv1.Post, error) {
	f.rec.note(ctx)
	f.added = req
	if f.addErr != nil {
		return nil, f.addErr
	}
	return &discussionv1.Post{Id: "p-new", ThreadId: req.GetThreadId()}, nil
}

func (f *fakeDiscussion) ListStories(ctx context.Context, _ *discussionv1.ListStoriesRequest, _ ...grpc.CallOption) (*discussionv1.ListStoriesResponse, error) {
	f.rec.note(ctx)
	return &discussionv1.ListStoriesResponse{}, nil
}

func (f *fakeDiscussion) ListReportedPosts(ctx context.Context, _ *discussionv1.ListReportedPostsRequest, _ ...grpc.CallOption) (*discussionv1.ListPostsResponse, error) {
	f.rec.note(ctx)
	return &discussionv1.ListPostsResponse{Posts: f.posts}, nil
}

func (f *fakeDiscussion) CreateSession(ctx context.Context, req *discussionv1.CreateSessionRequest, _ ...grpc.CallOption) (*discussionv1.Session, error) {
	f.rec.note(ctx)
	if f.loginErr != nil {
		return nil, f.loginErr
	}
	return f.session, nil
}

func (f *fakeDiscussion) RefreshSession(ctx context.Context, _ *discussionv1.RefreshSessionRequest, _ ...grpc.CallOption) (*discussionv1.Session, error) {
	f.rec.note(ctx)
	f.refreshed++
	if f.refreshErr != nil {
		return nil, f.refreshErr
	}
	return f.session, nil
}

func (f *fakeDiscussion) DeleteSession(ctx context.Context, _ *discussionv1.DeleteSessionRequest, _ ...grpc.CallOption) (*emptypb.Empty, error) {
	f.rec.note(ctx)
	f.deleted++
	return &emptypb.Empty{}, nil
}

func (f *fakeDiscussion) GetMyProfile(ctx context.Context, _ *discussionv1.GetMyProfileRequest, _ ...grpc.CallOption) (*discussionv1.Member, error) {
	f.rec.note(ctx)
	return f.members[0], nil
}

// token makes a session token as the discussion service signs it (the
// portal does not check the signature).
// token signs nothing: the portal reads claims only. An editor speaks for
// Regione Toscana and Comune di Firenze unless "org:<id>" roles name its
// organisations.
func token(id, name string, expires time.Time, roles ...string) string {
	enc := base64.RawURLEncoding
	header := enc.EncodeToString([]byte(`{"alg":"EdDSA","typ":"JWT"}`))
	var orgs, plain []string
	for _, r := range roles {
		if org, ok := strings.CutPrefix(r, "org:"); ok {
			orgs = append(orgs, org)
			continue
		}
		plain = append(plain, r)
	}
	if len(orgs) == 0 && slices.Contains(plain, "editor") {
		orgs = []string{"toscana", "firenze"}
	}
	payload, _ := json.Marshal(map[string]any{"sub": id, "name": name, "roles": append([]string{"member"}, plain...), "orgs": orgs, "exp": expires.Unix()})
	return header + "." + enc.EncodeToString(payload) + "." + enc.EncodeToString([]byte("signature"))
}

// world is the seed's data.
type world struct {
	rec        *calls
	catalog    *fakeCatalog
	twinning   *fakeTwinning
	discussion *fakeDiscussion
	notify     *fakeNotification
}

func newWorld() *world {
	rec := &calls{}
	orgs := []*catalogv1.Organization{
		{Id: "toscana", Name: "Regione Toscana", Territory: &catalogv1.Territory{Code: "ITI1", Name: "Toscana"}},
		{Id: "firenze", Name: "Comune di Firenze"},
		{Id: "calabria", Name: "Regione Calabria"},
		{Id: "vibo", Name: "Comune di Vibo Valentia"},
	}
	tosca := &catalogv1.Practice{
		Id: "p-tosca", Slug: "tos-ca", Title: "Tos.Ca. – Valorizzare le competenze dei cittadini",
		Summary:              "Le competenze dei cittadini, dal Trio al Libretto formativo.",
		OwnerOrganizationIds: []string{"toscana", "firenze"},
		Status:               catalogv1.PracticeStatus_PRACTICE_STATUS_PUBLISHED,
		Themes:               []string{"lavoro"},
		Programme:            &catalogv1.Programme{Name: "AGIRE POR 2007-2013", Priorities: []string{"1", "4", "10"}},
		Adoption:             &catalogv1.AdoptionFigures{Twinnings: 1, InProgress: 5},
		Etag:                 `"3"`,
	}
	var transfers []*twinningv1.Transfer
	for i, m := range []struct{ code, title, from, to string }{
		{"A", "Piattaforma e-learning Trio", "toscana", "calabria"},
		{"B", "Libretto formativo del Cittadino", "toscana", "calabria"},
		{"C", "Sistema Regionale delle Competenze", "toscana", "calabria"},
		{"D", "Servizi territoriali integrati", "firenze", "vibo"},
		{"E", "Servizi per la prima infanzia", "firenze", "vibo"},
	} {
		model := &catalogv1.Model{Code: m.code, Title: m.title, OwnerOrganizationId: m.from}
		if m.code == "D" {
			// One twinning tried model D and dropped it.
			model.Adoption = &catalogv1.AdoptionFigures{Twinnings: 1, Dropped: 1}
		}
		tosca.Models = append(tosca.Models, model)
		transfers = append(transfers, &twinningv1.Transfer{
			Id: "tr-" + m.code, PracticeId: "p-tosca", ModelCode: m.code, ModelTitle: m.title,
			FromOrganizationId: m.from, ToOrganizationId: m.to,
			Status: twinningv1.TransferStatus(1 + i%2),
		})
	}
	tw := &twinningv1.Twinning{
		Id: "t-tosca", Code: "TOSCA-2012", Title: "Tos.Ca. – Valorizzare le competenze dei cittadini",
		Summary:                  "Il progetto di gemellaggio ha per oggetto il trasferimento di buone pratiche.",
		Objectives:               []*twinningv1.Objective{{Level: "regionale", Text: "Recuperare i ritardi."}, {Level: "comunale", Text: "Servizi integrati."}},
		ExpectedResults:          []string{"Benessere e coesione sociale."},
		Programme:                &twinningv1.Programme{Name: "AGIRE POR 2007-2013", Priorities: []string{"1", "4", "10"}},
		OfferingOrganizationIds:  []string{"toscana", "firenze"},
		ReceivingOrganizationIds: []string{"calabria", "vibo"},
		Status:                   twinningv1.TwinningStatus_TWINNING_STATUS_ACTIVE,
		Transfers:                transfers,
		Activities: []*twinningv1.Activity{
			{Id: "a1", Kind: twinningv1.ActivityKind_ACTIVITY_KIND_WORKSHOP, Title: "Workshop di avvio", Date: "2015-05-16"},
			{Id: "a2", Kind: twinningv1.ActivityKind_ACTIVITY_KIND_MILESTONE, Title: "Libretto attivo", Milestone: true, DueDate: "2015-12-31", MilestoneState: twinningv1.MilestoneState_MILESTONE_STATE_DUE},
		},
		Etag: `"7"`,
	}
	general := &discussionv1.Thread{
		Id: "th-general", Scope: discussionv1.Scope_SCOPE_TWINNING, ScopeId: "t-tosca",
		Title: "Tos.Ca. - Valorizzare le competenze dei cittadini", PostCount: 1, ParticipantCount: 0,
		CreateTime: ts(time.Date(2015, time.May, 16, 10, 0, 0, 0, rome)), LastActivityTime: ts(testNow.Add(-3 * time.Hour)),
	}
	return &world{
		rec:     rec,
		catalog: &fakeCatalog{rec: rec, orgs: orgs, practices: []*catalogv1.Practice{tosca}, so: newSeekOffer()},
		twinning: &fakeTwinning{rec: rec, twinnings: []*twinningv1.Twinning{
			{Id: "t-cancelled", Code: "OLD-1", Title: "Un gemellaggio annullato", Status: twinningv1.TwinningStatus_TWINNING_STATUS_CANCELLED},
			{Id: "t-draft", Code: "NEW-1", Title: "Una bozza di gemellaggio", Status: twinningv1.TwinningStatus_TWINNING_STATUS_DRAFT,
				OfferingOrganizationIds: []string{"toscana"}},
			tw,
		}},
		notify: newFakeNotification(),
		discussion: &fakeDiscussion{
			rec: rec,
			members: []*discussionv1.Member{{
				Id: "m1", DisplayName: "Maico Centis", OrganizationName: "Comune di Pordenone", RoleTitle: "Project manager",
				JoinTime: ts(time.Date(2018, time.April, 10, 9, 0, 0, 0, rome)), LastLoginTime: ts(time.Date(2018, time.April, 16, 9, 0, 0, 0, rome)),
				Email: "maico@example.org",
				Affiliations: []*discussionv1.Affiliation{{OrganizationId: "calabria", Status: discussionv1.AffiliationStatus_AFFILIATION_STATUS_PENDING,
					RequestTime: ts(testNow.Add(-time.Hour))}},
				Roles: []discussionv1.Role{discussionv1.Role_ROLE_MEMBER, discussionv1.Role_ROLE_MODERATOR},
				Decisions: []*discussionv1.MemberDecision{{
					Kind: discussionv1.DecisionKind_DECISION_KIND_ROLE_GRANTED, Role: discussionv1.Role_ROLE_MODERATOR,
					DecidedBy: "m-admin", DecidedByName: "Anna Bianchi", DecideTime: ts(testNow.Add(-2 * time.Hour)), Reason: "modera il forum",
				}},
			}, {
				Id: "m9", DisplayName: "Bruno Bloccato", Blocked: true, BlockTime: ts(testNow.Add(-time.Hour)),
				JoinTime: ts(time.Date(2018, time.May, 2, 9, 0, 0, 0, rome)),
			}},
			threads: []*discussionv1.Thread{general},
			posts: []*discussionv1.Post{{
				Id: "post-1", ThreadId: "th-general", AuthorId: "m2", AuthorName: "Isabella Tisci",
				BodyHtml: "<p>Il libretto <strong>funziona</strong>.</p>", State: discussionv1.PostState_POST_STATE_VISIBLE,
				CreateTime: ts(testNow.Add(-48 * time.Hour)), ReportCount: 1,
				Reports: []*discussionv1.PostReport{{MemberId: "m1", MemberName: "Maico Centis", Reason: "Fuori tema: parla d'altro", ReportTime: ts(testNow.Add(-time.Hour))}},
			}},
		},
	}
}

func (w *world) backends() Backends {
	return Backends{Catalog: w.catalog, Twinning: w.twinning, Discussion: w.discussion, Notification: w.notify}
}
