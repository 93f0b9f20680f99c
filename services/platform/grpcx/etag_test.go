package grpcx_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	catalogv1 "github.com/gemella/gemella/proto/gemella/catalog/v1"
	"github.com/gemella/gemella/services/platform/config"
	"github.com/gemella/gemella/services/platform/grpcx"
)

// etagEcho applies updates and deletes: it counts those that reached it.
type etagEcho struct {
	catalogv1.UnimplementedCatalogServiceServer
	applied atomic.Int64
}

func (e *etagEcho) UpdatePractice(ctx context.Context, req *catalogv1.UpdatePracticeRequest) (*catalogv1.Practice, error) {
	e.applied.Add(1)
	return &catalogv1.Practice{Id: req.GetPractice().GetId(), Etag: grpcx.Etag(ctx, req.GetPractice().GetEtag())}, nil
}

func (e *etagEcho) DeletePractice(_ context.Context, _ *catalogv1.DeletePracticeRequest) (*emptypb.Empty, error) {
	e.applied.Add(1)
	return &emptypb.Empty{}, nil
}

// A write whose If-Match and message etag name different versions is
// refused, naming the message's field, before the handler runs: the
// message's etag alone would decide, and a stale If-Match would pass.
func TestIfMatchAndTheMessagesEtagMustAgree(t *testing.T) {
	echo := &etagEcho{}
	addr, _ := serveReplica(t, "127.0.0.1:0", config.ServerTLS{}, func(s *grpc.Server) { catalogv1.RegisterCatalogServiceServer(s, echo) })
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := catalogv1.NewCatalogServiceClient(conn)
	update := func(ifMatch, etag string) error {
		ctx := context.Background()
		if ifMatch != "" {
			ctx = metadata.AppendToOutgoingContext(ctx, "if-match", ifMatch)
		}
		_, err := client.UpdatePractice(ctx, &catalogv1.UpdatePracticeRequest{Practice: &catalogv1.Practice{Id: "p1", Etag: etag, Title: "t"}})
		return err
	}
	for _, tc := range []struct {
		ifMatch, etag string
		refused       bool
	}{
		{ifMatch: `"99"`, etag: `"1"`, refused: true},
		{ifMatch: `"1"`, etag: `"2"`, refused: true},
		{ifMatch: `W/"3", "4"`, etag: `"5"`, refused: true},
		{ifMatch: `"1"`, etag: `"1"`},
		{ifMatch: `1`, etag: `"1"`},
		{ifMatch: `W/"3", "4"`, etag: `"4"`},
		{ifMatch: `*`, etag: `"7"`},
		{ifMatch: `"7"`},
		{etag: `"7"`},
		{},
	} {
		before := echo.applied.Load()
		err := update(tc.ifMatch, tc.etag)
		reached := echo.applied.Load() > before
		if !tc.refused {
			if err != nil || !reached {
				t.Errorf("If-Match %q, etag %q: %v (handler reached: %v), want it applied", tc.ifMatch, tc.etag, err, reached)
			}
			continue
		}
		st := status.Convert(err)
		var field, rule string
		for _, d := range st.Details() {
			if br, ok := d.(*errdetails.BadRequest); ok && len(br.GetFieldViolations()) == 1 {
				field, rule = br.GetFieldViolations()[0].GetField(), br.GetFieldViolations()[0].GetDescription()
			}
		}
		if st.Code() != codes.InvalidArgument || field != "practice.etag" || !strings.Contains(rule, "If-Match") || reached {
			t.Errorf("If-Match %q, etag %q: %v, field %q %q, handler reached %v; want INVALID_ARGUMENT on practice.etag, not applied",
				tc.ifMatch, tc.etag, err, field, rule, reached)
		}
	}
	// A request with its own etag field (a delete) is checked the same way.
	ctx := metadata.AppendToOutgoingContext(context.Background(), "if-match", `"2"`)
	if _, err := client.DeletePractice(ctx, &catalogv1.DeletePracticeRequest{Id: "p1", Etag: `"1"`}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("delete with disagreeing etags: %v, want INVALID_ARGUMENT", err)
	}
}
