package adapters

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"google.golang.org/protobuf/proto"

	eventsv1 "github.com/gemella/gemella/proto/gemella/events/v1"
	"github.com/gemella/gemella/services/platform/events"
	"github.com/gemella/gemella/services/platform/mongox"
	"github.com/gemella/gemella/services/platform/outbox"
	"github.com/gemella/gemella/services/platform/paging"
	"github.com/gemella/gemella/services/twinning/internal/domain/report"
	"github.com/gemella/gemella/services/twinning/internal/protoconv"
)

// ReportsCollection keeps the twinnings' reports, one document each, with
// the outbox of their events (on the twinning stream).
const ReportsCollection = "twinning_reports"

// ReportAggregateType names a report in event envelopes.
const ReportAggregateType = "twinning_report"

// ReportIndexes are the indexes the report queries use: a twinning's
// reports (approved or all) by sort key.
func ReportIndexes() []mongo.IndexModel {
	return []mongo.IndexModel{
		{Keys: bson.D{{Key: "twinning_id", Value: 1}, {Key: mongox.SortKeyField, Value: -1}}},
		{Keys: bson.D{{Key: "twinning_id", Value: 1}, {Key: "state", Value: 1}, {Key: mongox.SortKeyField, Value: -1}}},
	}
}

// EnsureReportIndexes creates the indexes of the reports' collection.
func EnsureReportIndexes(ctx context.Context, db *mongo.Database) error {
	return mongox.EnsureIndexes(ctx, db.Collection(ReportsCollection), ReportIndexes()...)
}

type reportSectionDoc struct {
	Key      string `bson:"key"`
	Markdown string `bson:"markdown"`
}

type reportChangeDoc struct {
	From   string    `bson:"from,omitempty"`
	To     string    `bson:"to"`
	Actor  string    `bson:"actor"`
	At     time.Time `bson:"at"`
	Reason string    `bson:"reason,omitempty"`
}

type reportDoc struct {
	ID            string             `bson:"_id"`
	SortKey       string             `bson:"sort_key"`
	TwinningID    string             `bson:"twinning_id"`
	TwinningCode  string             `bson:"twinning_code"`
	TwinningTitle string             `bson:"twinning_title"`
	Kind          string             `bson:"kind"`
	Quarter       string             `bson:"quarter,omitempty"`
	PeriodStart   string             `bson:"period_start"`
	PeriodEnd     string             `bson:"period_end"`
	Sections      []reportSectionDoc `bson:"sections"`
	State         string             `bson:"state"`
	ReturnReason  string             `bson:"return_reason,omitempty"`
	Discussion    [4]int             `bson:"discussion"`
	History       []reportChangeDoc  `bson:"history"`
	CreatedBy     string             `bson:"created_by"`
	CreatedAt     time.Time          `bson:"created_at"`
	UpdatedAt     time.Time          `bson:"updated_at"`
	Version       int64              `bson:"version"`
	RequestKey    string             `bson:"request_key,omitempty"`
}

func toReportDoc(r *report.Report) reportDoc {
	d := reportDoc{
		ID: r.ID, SortKey: r.SortKey(), TwinningID: r.TwinningID, TwinningCode: r.TwinningCode, TwinningTitle: r.TwinningTitle,
		Kind: string(r.Kind), Quarter: r.Quarter, PeriodStart: r.PeriodStart, PeriodEnd: r.PeriodEnd,
		State: string(r.State), ReturnReason: r.ReturnReason,
		Discussion: [4]int{r.Discussion.Threads, r.Discussion.Posts, r.Discussion.Participants, r.Discussion.Stories},
		CreatedBy:  r.CreatedBy, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, Version: r.Version,
		RequestKey: r.RequestKey,
	}
	for _, s := range r.Sections {
		d.Sections = append(d.Sections, reportSectionDoc{Key: s.Key, Markdown: s.Markdown})
	}
	for _, h := range r.History {
		d.History = append(d.History, reportChangeDoc{From: string(h.From), To: string(h.To), Actor: h.Actor, At: h.At, Reason: h.Reason})
	}
	return d
}

func (d *reportDoc) toDomain() *report.Report {
	r := &report.Report{
		ID: d.ID, TwinningID: d.TwinningID, TwinningCode: d.TwinningCode, TwinningTitle: d.TwinningTitle,
		Kind: report.Kind(d.Kind), Quarter: d.Quarter, PeriodStart: d.PeriodStart, PeriodEnd: d.PeriodEnd,
		State: report.State(d.State), ReturnReason: d.ReturnReason,
		Discussion: report.Discussion{Threads: d.Discussion[0], Posts: d.Discussion[1], Participants: d.Discussion[2], Stories: d.Discussion[3]},
		CreatedBy:  d.CreatedBy, CreatedAt: d.CreatedAt.UTC(), UpdatedAt: d.UpdatedAt.UTC(), Version: d.Version,
		RequestKey: d.RequestKey,
	}
	for _, s := range d.Sections {
		r.Sections = append(r.Sections, report.Section{Key: s.Key, Markdown: s.Markdown})
	}
	for _, h := range d.History {
		r.History = append(r.History, report.StateChange{From: report.State(h.From), To: report.State(h.To), Actor: h.Actor, At: h.At.UTC(), Reason: h.Reason})
	}
	return r
}

func reportAggregate(ev mongox.Events[report.Report]) mongox.Aggregate[report.Report, reportDoc] {
	return mongox.Aggregate[report.Report, reportDoc]{
		Name: "report", ToDoc: func(r *report.Report) reportDoc { return toReportDoc(r) }, ToDomain: (*reportDoc).toDomain,
		NotFound: report.ErrNotFound, Version: func(r *report.Report) *int64 { return &r.Version }, Events: ev,
	}
}

// EncodeReportEvent builds the thin envelope of a report's state move.
func EncodeReportEvent(ctx context.Context, r *report.Report, c report.Change) (outbox.Record, error) {
	var payload proto.Message = &eventsv1.ReportChanged{
		ReportId: r.ID, TwinningId: r.TwinningID,
		From: protoconv.ReportStateToProto(c.From), State: protoconv.ReportStateToProto(c.To),
		Kind: protoconv.ReportKindToProto(r.Kind), Quarter: r.Quarter, Version: r.Version,
	}
	env, err := events.NewEnvelope(string(c.Type), c.Actor, ReportAggregateType, r.ID, r.Version, payload, c.At)
	if err != nil {
		return outbox.Record{}, err
	}
	return outbox.NewRecordContext(ctx, env)
}

// mongoReports keeps reports in MongoDB.
type mongoReports struct {
	*mongox.AggregateStore[report.Report, reportDoc]
}

// NewReportMongoRepository keeps the reports in db's twinning_reports.
func NewReportMongoRepository(db *mongo.Database, opts mongox.StoreOptions) report.Repository {
	ev := mongox.EncodeChanges((*report.Report).Changes, EncodeReportEvent)
	return &mongoReports{mongox.NewAggregateStore(db.Collection(ReportsCollection), reportAggregate(ev), opts)}
}

func (r *mongoReports) List(ctx context.Context, twinningID string, approvedOnly bool, after *paging.Cursor, limit int) ([]*report.Report, error) {
	filter := bson.D{{Key: "twinning_id", Value: twinningID}}
	if approvedOnly {
		filter = append(filter, bson.E{Key: "state", Value: string(report.Approved)})
	}
	return r.Find(ctx, filter, mongox.Page{After: after, Limit: limit})
}

// ReportMemoryRepository keeps reports in memory, with MongoDB's rules;
// Events are the changes of the writes, in order, not published.
type ReportMemoryRepository struct {
	*mongox.MemoryStore[report.Report, reportDoc]
}

// NewReportMemoryRepository returns an empty repository.
func NewReportMemoryRepository() *ReportMemoryRepository {
	count := mongox.Events[report.Report]{Count: func(r *report.Report) int { return len(r.Changes()) }}
	return &ReportMemoryRepository{mongox.NewMemoryStore(reportAggregate(count), mongox.StoreOptions{})}
}

func (r *ReportMemoryRepository) List(_ context.Context, twinningID string, approvedOnly bool, after *paging.Cursor, limit int) ([]*report.Report, error) {
	return r.Find(func(d *reportDoc) bool {
		return d.TwinningID == twinningID && (!approvedOnly || d.State == string(report.Approved))
	}, mongox.Page{After: after, Limit: limit}), nil
}
