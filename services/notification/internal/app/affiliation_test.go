package app

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	catalogv1 "github.com/gemella/gemella/proto/gemella/catalog/v1"
	discussionv1 "github.com/gemella/gemella/proto/gemella/discussion/v1"
	eventsv1 "github.com/gemella/gemella/proto/gemella/events/v1"
	"github.com/gemella/gemella/services/notification/internal/store"
)

type orgCatalog struct{ fakeCatalog }

func (orgCatalog) GetOrganization(_ context.Context, r *catalogv1.GetOrganizationRequest, _ ...grpc.CallOption) (*catalogv1.Organization, error) {
	if r.GetId() == "org-a" {
		return &catalogv1.Organization{Id: "org-a", Name: "Regione Toscana"}, nil
	}
	return nil, status.Error(codes.NotFound, "organisation not found")
}

type memberDiscussion struct{ fakeDiscussion }

func (memberDiscussion) GetMember(_ context.Context, r *discussionv1.GetMemberRequest, _ ...grpc.CallOption) (*discussionv1.Member, error) {
	return &discussionv1.Member{Id: r.GetId(), DisplayName: "Anna Rossi", Affiliations: []*discussionv1.Affiliation{
		{OrganizationId: "org-a", Status: discussionv1.AffiliationStatus_AFFILIATION_STATUS_VERIFIED}}}, nil
}

// An affiliation decision is told to its member, once, in words naming the
// organisation; a verification puts the organisation in the member's
// directory entry.
func TestAffiliationDecisionTellsTheMember(t *testing.T) {
	st := startStore(t)
	ctx := context.Background()
	a := New(st, Peers{Catalog: orgCatalog{}, Discussion: memberDiscussion{}}, Options{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	verified := event(t, SubjectAffiliation, "m-admin", "member", "m-anna", &eventsv1.MemberAffiliationDecided{OrganizationId: "org-a", Verified: true})
	for range 2 { // a redelivery makes no second notification
		if err := a.HandleEvent(ctx, verified); err != nil {
			t.Fatal(err)
		}
	}
	n, err := st.Notifications.Get(ctx, store.NotificationID(verified.GetEventId(), "m-anna"))
	if err != nil {
		t.Fatalf("the member was not told: %v", err)
	}
	if got := Text(n, "it"); got != "La tua richiesta di rappresentare Regione Toscana è stata verificata" {
		t.Errorf("text: %q", got)
	}
	if n.Link != "/profile" {
		t.Errorf("link %q", n.Link)
	}
	m, err := st.Members.Get(ctx, "m-anna")
	if err != nil || len(m.Organizations) != 1 || m.Organizations[0] != "org-a" {
		t.Errorf("directory entry %+v, %v: want org-a", m, err)
	}
	refused := event(t, SubjectAffiliation, "m-admin", "member", "m-anna", &eventsv1.MemberAffiliationDecided{OrganizationId: "org-z"})
	if err := a.HandleEvent(ctx, refused); err != nil {
		t.Fatal(err)
	}
	n, err = st.Notifications.Get(ctx, store.NotificationID(refused.GetEventId(), "m-anna"))
	if err != nil {
		t.Fatal(err)
	}
	if got := Text(n, "en"); got != "Your request to speak for an organisation was refused" {
		t.Errorf("text of a refusal for an organisation nobody may see: %q", got)
	}
}
