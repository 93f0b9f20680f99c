package server

import (
	"context"
	"net"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	catalogv1 "github.com/gemella/gemella/proto/gemella/catalog/v1"
)

// stubCatalog answers by the requested id: an id named in stubFailures fails
// with that status, "echo-metadata" returns the metadata it received, any
// other id is found.
type stubCatalog struct {
	catalogv1.UnimplementedCatalogServiceServer
}

const (
	currentEtag = `"v2"`
	// secretDetail stands for the internals a backend may put in a message
	// of a server-side failure; it must never reach a client.
	secretDetail = "mongodb://admin:hunter2@10.0.0.7"
)

var stubFailures = map[string]error{
	"notfound":      status.Error(codes.NotFound, "practice notfound does not exist"),
	"exists":        status.Error(codes.AlreadyExists, "slug exists is taken"),
	"published":     status.Error(codes.FailedPrecondition, "practice is PUBLISHED"),
	"stale":         status.Error(codes.Aborted, "etag is stale"),
	"denied":        status.Error(codes.PermissionDenied, "not an editor of the organisation"),
	"anonymous":     status.Error(codes.Unauthenticated, "sign in first"),
	"busy":          status.Error(codes.ResourceExhausted, "too many requests"),
	"range":         status.Error(codes.OutOfRange, "page beyond the end"),
	"down":          status.Error(codes.Unavailable, "cannot reach "+secretDetail),
	"slow":          status.Error(codes.DeadlineExceeded, "query on "+secretDetail+" timed out"),
	"unimplemented": status.Error(codes.Unimplemented, "not yet"),
	"canceled":      status.Error(codes.Canceled, "caller went away"),
	"broken":        status.Error(codes.Internal, "driver failed on "+secretDetail),
}

func (stubCatalog) GetPractice(ctx context.Context, req *catalogv1.GetPracticeRequest) (*catalogv1.Practice, error) {
	if err, ok := stubFailures[req.GetId()]; ok {
		return nil, err
	}
	if req.GetId() == "echo-metadata" {
		md, _ := metadata.FromIncomingContext(ctx)
		return &catalogv1.Practice{
			Id:          req.GetId(),
			Title:       strings.Join(md.Get("x-request-id"), "|"),
			Summary:     strings.Join(md.Get("authorization"), "|"),
			Description: strings.Join(md.Get("if-match"), "|"),
		}, nil
	}
	return &catalogv1.Practice{
		Id:     req.GetId(),
		Title:  "Alternanza scuola-lavoro",
		Status: catalogv1.PracticeStatus_PRACTICE_STATUS_PUBLISHED,
		Etag:   currentEtag,
	}, nil
}

func (stubCatalog) CreatePractice(_ context.Context, req *catalogv1.CreatePracticeRequest) (*catalogv1.Practice, error) {
	p := req.GetPractice()
	if p.GetTitle() == "" {
		st, err := status.New(codes.InvalidArgument, "the practice is not valid").WithDetails(&errdetails.BadRequest{
			// As the services name it: the request's field path. The
			// REST body is the practice itself, so the API says "title".
			FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: "practice.title", Description: "is required"}},
		})
		if err != nil {
			return nil, status.Error(codes.Internal, err.Error())
		}
		return nil, st.Err()
	}
	return &catalogv1.Practice{Id: "p-new", Title: p.GetTitle(), Status: catalogv1.PracticeStatus_PRACTICE_STATUS_DRAFT, Etag: `"v1"`}, nil
}

// UpdatePractice insists on the If-Match header, forwarded as metadata.
func (stubCatalog) UpdatePractice(ctx context.Context, req *catalogv1.UpdatePracticeRequest) (*catalogv1.Practice, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	ifMatch := md.Get("if-match")
	switch {
	case len(ifMatch) == 0:
		return nil, status.Error(codes.FailedPrecondition, "if-match is required")
	case ifMatch[0] != currentEtag:
		return nil, status.Errorf(codes.Aborted, "etag %s is stale", ifMatch[0])
	}
	return &catalogv1.Practice{Id: req.GetPractice().GetId(), Title: req.GetPractice().GetTitle(), Etag: `"v3"`}, nil
}

// startBackend runs the stub catalog and the gRPC health service on a free
// loopback port; stop ends it early, and the test's cleanup ends it anyway.
func startBackend(t *testing.T) (addr string, stop func()) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	srv := grpc.NewServer()
	catalogv1.RegisterCatalogServiceServer(srv, stubCatalog{})
	grpc_health_v1.RegisterHealthServer(srv, health.NewServer())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		srv.Stop()
		if err := <-served; err != nil {
			t.Errorf("stub backend: %v", err)
		}
	}
	t.Cleanup(stop)
	return lis.Addr().String(), stop
}
