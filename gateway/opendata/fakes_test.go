package opendata

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	catalogv1 "github.com/gemella/gemella/proto/gemella/catalog/v1"
	discussionv1 "github.com/gemella/gemella/proto/gemella/discussion/v1"
	twinningv1 "github.com/gemella/gemella/proto/gemella/twinning/v1"
)

// The fakes list their items as the services do: newest first by creation
// (organisations by name), pages of at most the requested size, opaque
// keyset tokens (the id of the last item), so a page token stays valid
// when items come and go. They return drafts too, as a service with a bug
// would: the export must leave them out by itself. Every call must come
// without credentials.

var epoch = time.Date(2024, 1, 1, 9, 0, 0, 0, time.UTC)

func ts(t time.Time) *timestamppb.Timestamp { return timestamppb.New(t) }

// listing pages items (kept in list order) by keyset: a token is the sort
// key of the last item of its page, and stays valid when that item goes.
type listing[T any] struct {
	mu    sync.Mutex
	items []T
	// key sorts the items: the list is in descending key order, or
	// ascending when ascending is set.
	key       func(T) string
	ascending bool
	// beforeList runs before each list call, with the token, outside mu.
	beforeList func(token string)
	// tooLargeAbove, when set, refuses pages of more items, as the gRPC
	// client refuses a message over its limit.
	tooLargeAbove int32
	calls         int
	sizes         []int32
}

func (l *listing[T]) page(ctx context.Context, t *testing.T, token string, size int32) ([]T, string, error) {
	if md, ok := metadata.FromOutgoingContext(ctx); ok && len(md.Get("authorization")) > 0 {
		t.Errorf("a list call carried credentials: %v", md.Get("authorization"))
	}
	if l.beforeList != nil {
		l.beforeList(token)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls++
	l.sizes = append(l.sizes, size)
	if size <= 0 || size > maxPageSize {
		size = maxPageSize
	}
	if l.tooLargeAbove > 0 && size > l.tooLargeAbove {
		return nil, "", status.Errorf(codes.ResourceExhausted, "grpc: received message larger than max (%d vs. 4194304)", size*100000)
	}
	start := 0
	if token != "" {
		start = len(l.items)
		for i, it := range l.items {
			if k := l.key(it); (l.ascending && k > token) || (!l.ascending && k < token) {
				start = i
				break
			}
		}
	}
	end := min(start+int(size), len(l.items))
	out := slices.Clone(l.items[start:end])
	next := ""
	if end < len(l.items) && end > start {
		next = l.key(out[len(out)-1])
	}
	return out, next, nil
}

// byCreation is the services' sort key: a time, then the id.
func byCreation[T any](at func(T) *timestamppb.Timestamp, id func(T) string) func(T) string {
	return func(it T) string { return at(it).AsTime().UTC().Format("20060102T150405.000000000") + "\x00" + id(it) }
}

func (l *listing[T]) set(items []T) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.items = items
}

func (l *listing[T]) update(fn func([]T) []T) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.items = fn(l.items)
}

type fakeCatalog struct {
	catalogv1.CatalogServiceClient
	t             *testing.T
	practices     listing[*catalogv1.Practice]
	organizations listing[*catalogv1.Organization]
	needs         listing[*catalogv1.Need]
	offers        listing[*catalogv1.Offer]
	// fail, when set, is the error of every list call.
	fail error
}

func newFakeCatalog(t *testing.T) *fakeCatalog {
	return &fakeCatalog{
		t:             t,
		practices:     listing[*catalogv1.Practice]{key: byCreation((*catalogv1.Practice).GetCreateTime, (*catalogv1.Practice).GetId)},
		organizations: listing[*catalogv1.Organization]{key: func(o *catalogv1.Organization) string { return o.GetName() + "\x00" + o.GetId() }, ascending: true},
		needs:         listing[*catalogv1.Need]{key: byCreation((*catalogv1.Need).GetCreateTime, (*catalogv1.Need).GetId)},
		offers:        listing[*catalogv1.Offer]{key: byCreation((*catalogv1.Offer).GetCreateTime, (*catalogv1.Offer).GetId)},
	}
}

func (f *fakeCatalog) ListPractices(ctx context.Context, req *catalogv1.ListPracticesRequest, _ ...grpc.CallOption) (*catalogv1.ListPracticesResponse, error) {
	if f.fail != nil {
		return nil, f.fail
	}
	items, next, err := f.practices.page(ctx, f.t, req.GetPageToken(), req.GetPageSize())
	return &catalogv1.ListPracticesResponse{Practices: items, NextPageToken: next}, err
}

func (f *fakeCatalog) ListOrganizations(ctx context.Context, req *catalogv1.ListOrganizationsRequest, _ ...grpc.CallOption) (*catalogv1.ListOrganizationsResponse, error) {
	if f.fail != nil {
		return nil, f.fail
	}
	items, next, err := f.organizations.page(ctx, f.t, req.GetPageToken(), req.GetPageSize())
	return &catalogv1.ListOrganizationsResponse{Organizations: items, NextPageToken: next}, err
}

func (f *fakeCatalog) ListNeeds(ctx context.Context, req *catalogv1.ListNeedsRequest, _ ...grpc.CallOption) (*catalogv1.ListNeedsResponse, error) {
	if f.fail != nil {
		return nil, f.fail
	}
	items, next, err := f.needs.page(ctx, f.t, req.GetPageToken(), req.GetPageSize())
	return &catalogv1.ListNeedsResponse{Needs: items, NextPageToken: next}, err
}

func (f *fakeCatalog) ListOffers(ctx context.Context, req *catalogv1.ListOffersRequest, _ ...grpc.CallOption) (*catalogv1.ListOffersResponse, error) {
	if f.fail != nil {
		return nil, f.fail
	}
	items, next, err := f.offers.page(ctx, f.t, req.GetPageToken(), req.GetPageSize())
	return &catalogv1.ListOffersResponse{Offers: items, NextPageToken: next}, err
}

type fakeTwinning struct {
	twinningv1.TwinningServiceClient
	t         *testing.T
	twinnings listing[*twinningv1.Twinning]
}

func (f *fakeTwinning) ListTwinnings(ctx context.Context, req *twinningv1.ListTwinningsRequest, _ ...grpc.CallOption) (*twinningv1.ListTwinningsResponse, error) {
	items, next, err := f.twinnings.page(ctx, f.t, req.GetPageToken(), req.GetPageSize())
	return &twinningv1.ListTwinningsResponse{Twinnings: items, NextPageToken: next}, err
}

type fakeDiscussion struct {
	discussionv1.DiscussionServiceClient
	t       *testing.T
	stories listing[*discussionv1.Story]
}

func (f *fakeDiscussion) ListStories(ctx context.Context, req *discussionv1.ListStoriesRequest, _ ...grpc.CallOption) (*discussionv1.ListStoriesResponse, error) {
	items, next, err := f.stories.page(ctx, f.t, req.GetPageToken(), req.GetPageSize())
	return &discussionv1.ListStoriesResponse{Stories: items, NextPageToken: next}, err
}

// fakes is a full set of backends with a little of everything.
type fakes struct {
	catalog    *fakeCatalog
	twinning   *fakeTwinning
	discussion *fakeDiscussion
}

func (f *fakes) backends() Backends {
	return Backends{Catalog: f.catalog, Twinning: f.twinning, Discussion: f.discussion}
}

func newFakes(t *testing.T) *fakes {
	f := &fakes{
		catalog:    newFakeCatalog(t),
		twinning:   &fakeTwinning{t: t, twinnings: listing[*twinningv1.Twinning]{key: byCreation((*twinningv1.Twinning).GetCreateTime, (*twinningv1.Twinning).GetId)}},
		discussion: &fakeDiscussion{t: t, stories: listing[*discussionv1.Story]{key: byCreation((*discussionv1.Story).GetPublishTime, (*discussionv1.Story).GetId)}},
	}
	f.catalog.organizations.set([]*catalogv1.Organization{
		{Id: "org-calabria", Name: "Regione Calabria", Kind: catalogv1.OrganizationKind_ORGANIZATION_KIND_REGION, Territory: &catalogv1.Territory{Code: "ITF6", Name: "Calabria"}, Etag: `"1"`, CreateTime: ts(epoch), UpdateTime: ts(epoch)},
		{Id: "org-toscana", Name: "Regione Toscana", Kind: catalogv1.OrganizationKind_ORGANIZATION_KIND_REGION, Territory: &catalogv1.Territory{Code: "ITI1", Name: "Toscana"}, Etag: `"1"`, CreateTime: ts(epoch), UpdateTime: ts(epoch.Add(time.Hour))},
	})
	f.catalog.practices.set(newestFirst(practicesN(5, func(i int, p *catalogv1.Practice) {
		if i == 3 {
			p.Status = catalogv1.PracticeStatus_PRACTICE_STATUS_DRAFT
			p.Title = "Bozza riservata"
		}
	})))
	f.catalog.needs.set([]*catalogv1.Need{
		{Id: "need-1", OrganizationId: "org-calabria", Title: "Servizi per l'infanzia", Status: catalogv1.NeedStatus_NEED_STATUS_OPEN, Etag: `"1"`, CreateTime: ts(epoch), UpdateTime: ts(epoch)},
	})
	f.catalog.offers.set([]*catalogv1.Offer{
		{Id: "offer-1", OrganizationId: "org-toscana", PracticeId: "p-0000", Status: catalogv1.OfferStatus_OFFER_STATUS_OPEN, Capacity: 2, Etag: `"1"`, CreateTime: ts(epoch), UpdateTime: ts(epoch)},
	})
	f.twinning.twinnings.set([]*twinningv1.Twinning{
		{Id: "tw-draft", Code: "DRAFT", Title: "Gemellaggio in bozza", Status: twinningv1.TwinningStatus_TWINNING_STATUS_DRAFT, Etag: `"1"`, CreateTime: ts(epoch.Add(2 * time.Hour)), UpdateTime: ts(epoch.Add(2 * time.Hour))},
		{Id: "tw-tosca", Code: "TOSCA", Title: "Tos.Ca.", Status: twinningv1.TwinningStatus_TWINNING_STATUS_ACTIVE, Etag: `"3"`,
			Objectives: []*twinningv1.Objective{{Level: "regionale", Text: "Competenze"}},
			History:    []*twinningv1.StatusChange{{To: twinningv1.TwinningStatus_TWINNING_STATUS_APPROVED, Time: ts(epoch.Add(30 * time.Minute))}},
			Transfers: []*twinningv1.Transfer{
				{Id: "tr-a", PracticeId: "p-0000", ModelCode: "A", FromOrganizationId: "org-toscana", ToOrganizationId: "org-calabria", Status: twinningv1.TransferStatus_TRANSFER_STATUS_ADOPTED,
					Notes: []*twinningv1.Note{{Text: "avviato", Time: ts(epoch)}, {Text: "adottato, con \"modifiche\"", Time: ts(epoch.Add(time.Hour))}}, UpdateTime: ts(epoch.Add(time.Hour))},
				{Id: "tr-b", PracticeId: "p-0000", ModelCode: "B", FromOrganizationId: "org-toscana", ToOrganizationId: "org-calabria", Status: twinningv1.TransferStatus_TRANSFER_STATUS_IN_PROGRESS, UpdateTime: ts(epoch)},
			},
			CreateTime: ts(epoch), UpdateTime: ts(epoch.Add(time.Hour))},
	})
	f.discussion.stories.set([]*discussionv1.Story{
		{Id: "story-1", Title: "La nostra esperienza", Body: "Abbiamo imparato…\n\nMolto.", TwinningId: "tw-tosca", AuthorName: "Maria Rossi", AuthorId: "member-1", Status: discussionv1.StoryStatus_STORY_STATUS_PUBLISHED, CreateTime: ts(epoch), PublishTime: ts(epoch.Add(time.Hour))},
	})
	return f
}

// practicesN makes n practices created a minute apart, oldest first,
// published unless adjust says otherwise.
func practicesN(n int, adjust func(i int, p *catalogv1.Practice)) []*catalogv1.Practice {
	out := make([]*catalogv1.Practice, n)
	for i := range n {
		out[i] = practiceAt(i)
		if adjust != nil {
			adjust(i, out[i])
		}
	}
	return out
}

func practiceAt(i int) *catalogv1.Practice {
	created := epoch.Add(time.Duration(i) * time.Minute)
	return &catalogv1.Practice{
		Id: fmt.Sprintf("p-%04d", i), Slug: "pratica-" + strconv.Itoa(i), Title: "Pratica " + strconv.Itoa(i),
		Summary:              "Una pratica, con virgole, \"virgolette\" e\nun a capo.",
		OwnerOrganizationIds: []string{"org-toscana", "org-firenze"}, Themes: []string{"formazione", "lavoro"},
		Territory: &catalogv1.Territory{Code: "ITI1", Name: "Toscana"}, StartDate: "2012-03-01", Ongoing: i%2 == 0,
		Models: []*catalogv1.Model{
			{Code: "A", Title: "Modello A", Adoption: &catalogv1.AdoptionFigures{Twinnings: 1, Adopted: 1, ReceivingOrganizationIds: []string{"org-calabria"}}},
			{Code: "B", Title: "Modello B"},
		},
		Adoption: &catalogv1.AdoptionFigures{Twinnings: 1, Adopted: 1, InProgress: 1, ReceivingOrganizationIds: []string{"org-calabria"}},
		Status:   catalogv1.PracticeStatus_PRACTICE_STATUS_PUBLISHED, Revision: 1, Etag: `"1"`,
		CreateTime: ts(created), UpdateTime: ts(created), PublishTime: ts(created),
	}
}

// newestFirst is items (oldest first) in the services' list order.
func newestFirst[T any](items []T) []T {
	out := slices.Clone(items)
	slices.Reverse(out)
	return out
}

// manualClock is a clock the test moves.
type manualClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *manualClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
