package protoconv

import (
	"testing"

	"google.golang.org/protobuf/types/known/fieldmaskpb"

	twinningv1 "github.com/gemella/gemella/proto/gemella/twinning/v1"
	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/twinning/internal/domain/twinning"
)

func TestEnumsRoundTrip(t *testing.T) {
	for _, s := range twinning.Statuses {
		if got := StatusFromProto(StatusToProto(s)); got != s {
			t.Errorf("status %s came back as %s", s, got)
		}
	}
	for _, s := range twinning.TransferStatuses {
		if got := TransferStatusFromProto(TransferStatusToProto(s)); got != s {
			t.Errorf("transfer status %s came back as %s", s, got)
		}
	}
	for _, k := range twinning.ActivityKinds {
		if got := ActivityKindFromProto(ActivityKindToProto(k)); got != k {
			t.Errorf("kind %s came back as %s", k, got)
		}
	}
	for _, o := range twinning.Origins {
		if got := OriginFromProto(OriginToProto(o)); got != o {
			t.Errorf("origin %s came back as %s", o, got)
		}
	}
	if !StatusFromProto(twinningv1.TwinningStatus(99)).IsZero() {
		t.Error("an unknown enum value is no status")
	}
}

func TestMasks(t *testing.T) {
	src := twinning.Details{Title: "new", Summary: "new summary", Programme: twinning.Programme{Name: "PAR GOL"}}
	patch, err := DetailsPatch(src, &fieldmaskpb.FieldMask{Paths: []string{"summary", "programme.name", "etag", "id"}})
	if err != nil {
		t.Fatal(err)
	}
	d := twinning.Details{Code: "TOSCA", Title: "old", Programme: twinning.Programme{Name: "AGIRE", Priorities: []string{"1"}}}
	patch(&d)
	if d.Title != "old" || d.Summary != "new summary" || d.Programme.Name != "PAR GOL" || len(d.Programme.Priorities) != 1 || d.Code != "TOSCA" {
		t.Fatalf("patched = %+v", d)
	}
	if _, err := DetailsPatch(src, &fieldmaskpb.FieldMask{Paths: []string{"titel"}}); apperr.KindOf(err) != apperr.KindInvalidArgument {
		t.Fatalf("unknown path: %v", err)
	}
	tp, err := TransferPatch(&twinningv1.UpdateTransferRequest{
		Transfer:   &twinningv1.Transfer{Id: "x", Status: twinningv1.TransferStatus_TRANSFER_STATUS_ADOPTED, EndDate: "2015-06-30"},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"end_date", "status"}}, Note: " fatto ",
	})
	if err != nil || tp.Status != twinning.Adopted || tp.EndDate == nil || *tp.EndDate != "2015-06-30" || tp.StartDate != nil || tp.Note != "fatto" {
		t.Fatalf("transfer patch = %+v %v", tp, err)
	}
	if _, err := TransferPatch(&twinningv1.UpdateTransferRequest{Transfer: &twinningv1.Transfer{}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"model_code"}}}); apperr.KindOf(err) != apperr.KindInvalidArgument {
		t.Fatalf("a transfer's model cannot change: %v", err)
	}
}
