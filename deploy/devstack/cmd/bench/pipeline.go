package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/event"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	catalogv1 "github.com/gemella/gemella/proto/gemella/catalog/v1"
	eventsv1 "github.com/gemella/gemella/proto/gemella/events/v1"
	twinningv1 "github.com/gemella/gemella/proto/gemella/twinning/v1"
	"github.com/gemella/gemella/services/platform/config"
	"github.com/gemella/gemella/services/platform/embedded"
	"github.com/gemella/gemella/services/platform/events"
	"github.com/gemella/gemella/services/platform/grpcx"
	"github.com/gemella/gemella/services/platform/outbox"
	catalog "github.com/gemella/gemella/services/practice-catalog/service"
	twinning "github.com/gemella/gemella/services/twinning/service"
)

// The databases the services use, as in deploy/devstack/stack.
const (
	catalogDatabase  = "gemella_catalog"
	twinningDatabase = "gemella_twinning"
)

// pipeline is the real catalog and twinning services on an embedded NATS
// and FerretDB, as the dev stack runs them, in this process.
type pipeline struct {
	nats     *embedded.NATS
	ferret   *embedded.FerretDB
	catalog  catalogv1.CatalogServiceClient
	twinning twinningv1.TwinningServiceClient
	// mongo is the harness's own client of the same FerretDB.
	mongo *mongo.Client
	// id signs the tokens the services trust.
	id *identity

	conns    []*grpc.ClientConn
	services []*runningService
}

// runningService is a service's Run in its goroutine.
type runningService struct {
	name   string
	cancel context.CancelFunc
	done   chan error
}

// startPipeline starts NATS and FerretDB in dir, then the catalog (whose
// adoption consumer reports every handled event to observe) and the
// twinning service, in the dev stack's order.
// Both services' store clients report their commands to monitor.
// Their document locks are of mode locks.
func startPipeline(ctx context.Context, dir string, logger *slog.Logger, locks config.DocLockMode, observe func(*eventsv1.Envelope, time.Time), monitor *event.CommandMonitor) (_ *pipeline, err error) {
	p := &pipeline{}
	if p.id, err = newIdentity(); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, p.stop())
		}
	}()
	if p.nats, err = embedded.StartNATS(embedded.NATSOptions{StoreDir: filepath.Join(dir, "nats")}); err != nil {
		return nil, err
	}
	startCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if p.ferret, err = embedded.StartFerretDB(startCtx, embedded.FerretDBOptions{Dir: filepath.Join(dir, "ferretdb")}); err != nil {
		return nil, err
	}
	if p.mongo, err = mongo.Connect(options.Client().ApplyURI(p.ferret.URI()).SetTimeout(callDeadline)); err != nil {
		return nil, fmt.Errorf("connect to ferretdb: %w", err)
	}

	catalogCfg := catalog.DefaultConfig()
	catalogCfg.GRPC.Addr = "127.0.0.1:0"
	catalogCfg.Mongo.URI = p.ferret.URI()
	catalogCfg.Mongo.DocLocks = locks // the embedded FerretDB writes non-atomically
	catalogCfg.Mongo.Database = catalogDatabase
	catalogCfg.Mongo.Monitor = monitor
	catalogCfg.NATS.URL = p.nats.URL()
	catalogCfg.NATS.StreamReplicas = 1
	catalogCfg.Auth.PublicKeys = p.id.publicKeys()
	catalogCfg.EventObserver = observe
	catalogSvc, err := catalog.New(startCtx, catalogCfg, logger)
	if err != nil {
		return nil, fmt.Errorf("build catalog: %w", err)
	}
	catalogAddr, err := p.run(ctx, "catalog", catalogSvc)
	if err != nil {
		return nil, err
	}

	twinningCfg := twinning.DefaultConfig()
	twinningCfg.GRPC.Addr = "127.0.0.1:0"
	twinningCfg.Mongo.URI = p.ferret.URI()
	twinningCfg.Mongo.DocLocks = locks
	twinningCfg.Mongo.Database = twinningDatabase
	twinningCfg.Mongo.Monitor = monitor
	twinningCfg.NATS.URL = p.nats.URL()
	twinningCfg.NATS.StreamReplicas = 1
	twinningCfg.CatalogAddr = catalogAddr
	twinningCfg.Auth.PublicKeys = p.id.publicKeys()
	twinningSvc, err := twinning.New(startCtx, twinningCfg, logger)
	if err != nil {
		return nil, fmt.Errorf("build twinning: %w", err)
	}
	twinningAddr, err := p.run(ctx, "twinning", twinningSvc)
	if err != nil {
		return nil, err
	}

	catalogConn, err := p.dial(catalogAddr)
	if err != nil {
		return nil, err
	}
	twinningConn, err := p.dial(twinningAddr)
	if err != nil {
		return nil, err
	}
	p.catalog = catalogv1.NewCatalogServiceClient(catalogConn)
	p.twinning = twinningv1.NewTwinningServiceClient(twinningConn)
	return p, nil
}

// servable is what the catalog's and the twinning's service packages share.
type servable interface {
	Listen() error
	Addr() string
	Run(ctx context.Context) error
	WaitReady(ctx context.Context) error
	Close()
}

// run binds svc and serves it until stop; it returns the bound address.
func (p *pipeline) run(ctx context.Context, name string, svc servable) (string, error) {
	if err := svc.Listen(); err != nil {
		svc.Close()
		return "", fmt.Errorf("%s: %w", name, err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	r := &runningService{name: name, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- svc.Run(runCtx) }()
	p.services = append(p.services, r)
	// The service connects to its store and NATS once it runs.
	readyCtx, cancelReady := context.WithTimeout(ctx, time.Minute)
	defer cancelReady()
	if err := svc.WaitReady(readyCtx); err != nil {
		return "", err
	}
	return svc.Addr(), nil
}

func (p *pipeline) dial(addr string) (*grpc.ClientConn, error) {
	conn, err := grpcx.Dial(addr, callDeadline)
	if err != nil {
		return nil, err
	}
	p.conns = append(p.conns, conn)
	return conn, nil
}

// stop closes the connections, stops the services in reverse order, then
// the infrastructure.
func (p *pipeline) stop() error {
	var errs []error
	for _, c := range p.conns {
		errs = append(errs, c.Close())
	}
	for i := len(p.services) - 1; i >= 0; i-- {
		s := p.services[i]
		s.cancel()
		select {
		case err := <-s.done:
			if err != nil && !errors.Is(err, context.Canceled) {
				errs = append(errs, fmt.Errorf("%s: %w", s.name, err))
			}
		case <-time.After(15 * time.Second):
			errs = append(errs, fmt.Errorf("%s did not stop within 15s", s.name))
		}
	}
	if p.mongo != nil {
		ctx, cancel := context.WithTimeout(context.Background(), callDeadline)
		errs = append(errs, p.mongo.Disconnect(ctx))
		cancel()
	}
	if p.ferret != nil {
		p.ferret.Stop()
	}
	if p.nats != nil {
		p.nats.Shutdown()
	}
	return errors.Join(errs...)
}

// modelCodes are the practice's models: a twinning transfers a model to
// one receiving party once, so ten transfers between one pair of
// organisations need ten models.
var modelCodes = []string{"A", "B", "C", "D", "E", "F", "G", "H", "I", "J"}

// seeded is what the set-up made: published practices and twinnings,
// all active, each with one planned transfer of every model.
type seeded struct {
	offering, receiving string
	// practiceID is the practice of the first twinning; practiceIDs that
	// of each (all the same one when the twinnings share it).
	practiceID  string
	practiceIDs []string
	twinnings   []seededTwinning
}

type seededTwinning struct {
	id          string
	transferIDs []string
}

// seed creates an offering organisation that owns the practices and a
// receiving one, publishes the practices, and sets up n twinnings between
// them, several at a time. With shared, every twinning transfers the
// models of one practice (n×10 transfers on it); otherwise each twinning
// has a practice of its own, with its 10 transfers.
func (p *pipeline) seed(ctx context.Context, n int, shared bool) (seeded, error) {
	var out seeded
	adminCtx, err := p.id.as(ctx)
	if err != nil {
		return out, err
	}
	offering, err := p.createOrganization(adminCtx, "Regione Toscana", catalogv1.OrganizationKind_ORGANIZATION_KIND_REGION, "ITI1", "Toscana")
	if err != nil {
		return out, err
	}
	receiving, err := p.createOrganization(adminCtx, "Regione Calabria", catalogv1.OrganizationKind_ORGANIZATION_KIND_REGION, "ITF6", "Calabria")
	if err != nil {
		return out, err
	}
	out.offering, out.receiving = offering, receiving
	if ctx, err = p.asEditor(ctx, out); err != nil {
		return out, err
	}
	out.practiceIDs = make([]string, n)
	for i := range n {
		if i == 0 || !shared {
			if out.practiceID, err = p.publishPractice(ctx, offering, i); err != nil {
				return out, err
			}
		}
		out.practiceIDs[i] = out.practiceID
	}
	out.practiceID = out.practiceIDs[0]

	out.twinnings = make([]seededTwinning, n)
	const workers = 4
	next := make(chan int)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if errs[w] != nil {
					continue
				}
				out.twinnings[i], errs[w] = p.seedTwinning(ctx, i, out.practiceIDs[i], offering, receiving)
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return out, errors.Join(errs...)
}

// asEditor returns ctx carrying a token of an editor of both parties who
// is also a coordinator: it may write the practice and every move of the
// twinnings and their transfers.
func (p *pipeline) asEditor(ctx context.Context, s seeded) (context.Context, error) {
	return p.id.as(ctx, s.offering, s.receiving)
}

func (p *pipeline) createOrganization(ctx context.Context, name string, kind catalogv1.OrganizationKind, code, territory string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, callDeadline)
	defer cancel()
	org, err := p.catalog.CreateOrganization(ctx, &catalogv1.CreateOrganizationRequest{
		Organization: &catalogv1.Organization{Name: name, Kind: kind, Territory: &catalogv1.Territory{Code: code, Name: territory}},
		RequestId:    "bench-org-" + code,
	})
	if err != nil {
		return "", fmt.Errorf("create organisation %s: %w", name, err)
	}
	return org.GetId(), nil
}

// publishPractice creates a practice of a realistic size with a model per
// code, owned by owner, and walks it to PUBLISHED.
func (p *pipeline) publishPractice(ctx context.Context, owner string, i int) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 3*callDeadline)
	defer cancel()
	msg := &catalogv1.Practice{
		Title:                fmt.Sprintf("Laboratori territoriali per l'occupabilità %d", i),
		Summary:              "Scuole, imprese e centri per l'impiego progettano insieme percorsi brevi che portano i giovani dalla formazione al lavoro.",
		Description:          strings.Repeat("Il percorso alterna aula e impresa; ogni gruppo ha un tutor scolastico e uno aziendale. ", 4),
		OwnerOrganizationIds: []string{owner},
		Themes:               []string{"occupabilità", "alternanza scuola-lavoro"},
		Sectors:              []string{"meccanica", "turismo"},
		Territory:            &catalogv1.Territory{Code: "ITI1", Name: "Toscana"},
		Problem:              "Molti diplomati non trovano lavoro nel settore per cui si sono formati.",
		Results:              "Due terzi dei partecipanti hanno un contratto entro sei mesi.",
		StartDate:            "2019-09-01",
		Ongoing:              true,
		Languages:            []string{"it", "en"},
	}
	for _, code := range modelCodes {
		msg.Models = append(msg.Models, &catalogv1.Model{
			Code: code, Title: "Modello " + code + ": co-progettazione scuola-impresa",
			Description: "Un tavolo stabile di scuole e imprese decide i contenuti dei moduli e ne verifica i risultati.",
		})
	}
	pr, err := p.catalog.CreatePractice(ctx, &catalogv1.CreatePracticeRequest{Practice: msg, RequestId: fmt.Sprintf("bench-practice-%d", i)})
	if err != nil {
		return "", fmt.Errorf("create practice: %w", err)
	}
	if pr, err = p.catalog.SubmitPractice(ctx, &catalogv1.SubmitPracticeRequest{Id: pr.GetId(), Etag: pr.GetEtag()}); err != nil {
		return "", fmt.Errorf("submit practice: %w", err)
	}
	if pr, err = p.catalog.PublishPractice(ctx, &catalogv1.PublishPracticeRequest{Id: pr.GetId(), Etag: pr.GetEtag()}); err != nil {
		return "", fmt.Errorf("publish practice: %w", err)
	}
	return pr.GetId(), nil
}

// seedTwinning creates twinning i as a draft, adds a transfer of every
// model (allowed before the twinning is active), then walks it to ACTIVE,
// where transfers may move.
func (p *pipeline) seedTwinning(ctx context.Context, i int, practiceID, offering, receiving string) (seededTwinning, error) {
	var out seededTwinning
	code := fmt.Sprintf("BENCH-%03d", i)
	call := func(what string, fn func(ctx context.Context) error) error {
		ctx, cancel := context.WithTimeout(ctx, callDeadline)
		defer cancel()
		if err := fn(ctx); err != nil {
			return fmt.Errorf("twinning %s: %s: %w", code, what, err)
		}
		return nil
	}
	var t *twinningv1.Twinning
	err := call("create", func(ctx context.Context) (err error) {
		t, err = p.twinning.CreateTwinning(ctx, &twinningv1.CreateTwinningRequest{
			RequestId: "bench-twinning-" + code,
			Twinning: &twinningv1.Twinning{
				Code:                     code,
				Title:                    fmt.Sprintf("Gemellaggio di prova %d sull'occupabilità", i),
				Summary:                  "La Calabria adotta i laboratori territoriali toscani, modello per modello, con il sostegno dei tutor toscani.",
				Objectives:               []*twinningv1.Objective{{Level: "regionale", Text: "Avviare laboratori territoriali in tre province entro un anno."}},
				ExpectedResults:          []string{"Tre laboratori attivi", "Un accordo quadro con le associazioni di categoria"},
				Programme:                &twinningv1.Programme{Name: "PON Governance", Priorities: []string{"capacità amministrativa"}},
				Origin:                   twinningv1.Origin_ORIGIN_DIRECT,
				OfferingOrganizationIds:  []string{offering},
				ReceivingOrganizationIds: []string{receiving},
				StartDate:                "2024-01-15",
				EndDate:                  "2026-12-31",
			},
		})
		return err
	})
	if err != nil {
		return out, err
	}
	out.id = t.GetId()
	for _, model := range modelCodes {
		err := call("add transfer of model "+model, func(ctx context.Context) error {
			tr, err := p.twinning.AddTransfer(ctx, &twinningv1.AddTransferRequest{
				TwinningId: out.id, RequestId: "bench-transfer-" + code + "-" + model,
				Transfer: &twinningv1.Transfer{PracticeId: practiceID, ModelCode: model, FromOrganizationId: offering, ToOrganizationId: receiving},
			})
			if err == nil {
				out.transferIDs = append(out.transferIDs, tr.GetId())
			}
			return err
		})
		if err != nil {
			return out, err
		}
	}
	moves := []struct {
		name string
		move func(context.Context, *twinningv1.TransitionTwinningRequest, ...grpc.CallOption) (*twinningv1.Twinning, error)
	}{
		{"propose", p.twinning.ProposeTwinning}, {"approve", p.twinning.ApproveTwinning}, {"activate", p.twinning.ActivateTwinning},
	}
	for _, m := range moves {
		err := call(m.name, func(ctx context.Context) error {
			// No etag: nobody else changes these twinnings.
			_, err := m.move(ctx, &twinningv1.TransitionTwinningRequest{Id: out.id})
			return err
		})
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

// priorTransfers publishes, straight onto the twinning stream, the events
// of n planned transfers of the seeded practice by twinnings that exist
// only there: the catalog records them as it does any transfer, so the
// practice has n more before the window.
func (p *pipeline) priorTransfers(ctx context.Context, s seeded, n int) error {
	nc, js, err := events.Connect(ctx, p.nats.URL(), "bench-prior-transfers", slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	defer nc.Close()
	for i := range n {
		twinningID, transferID := fmt.Sprintf("bench-prior-twinning-%04d", i/len(modelCodes)), fmt.Sprintf("bench-prior-transfer-%04d", i)
		msg := &eventsv1.TransferStatusChanged{
			TwinningId: twinningID, TwinningTitle: "Gemellaggio precedente",
			Transfer: &eventsv1.TransferRef{
				Id: transferID, PracticeId: s.practiceID, ModelCode: modelCodes[i%len(modelCodes)],
				FromOrganizationId: s.offering, ToOrganizationId: s.receiving,
				Status: twinningv1.TransferStatus_TRANSFER_STATUS_PLANNED, Version: 1,
			},
			To: twinningv1.TransferStatus_TRANSFER_STATUS_PLANNED, TwinningStatus: twinningv1.TwinningStatus_TWINNING_STATUS_ACTIVE,
		}
		env, err := events.NewEnvelope(transferStatusChanged, "system:bench", "twinning", twinningID, 1, msg, time.Now())
		if err != nil {
			return err
		}
		data, err := proto.Marshal(env)
		if err != nil {
			return err
		}
		pubCtx, cancel := context.WithTimeout(ctx, callDeadline)
		_, err = js.Publish(pubCtx, transferStatusChanged, data, jetstream.WithMsgID(env.GetEventId()))
		cancel()
		if err != nil {
			return fmt.Errorf("publish prior transfer %d: %w", i, err)
		}
	}
	return nil
}

// subjectMessages counts the messages the stream of subject holds on it
// once the twinning service's relay has published everything its
// documents hold.
func (p *pipeline) subjectMessages(ctx context.Context, subject string) (int, error) {
	twinnings := p.mongo.Database(twinningDatabase).Collection("twinnings")
	drainCtx, cancelDrain := context.WithTimeout(ctx, eventDrainTimeout)
	defer cancelDrain()
	for {
		n, err := twinnings.CountDocuments(drainCtx, bson.D{{Key: outbox.SinceField, Value: bson.D{{Key: "$exists", Value: true}}}})
		if err != nil {
			return 0, fmt.Errorf("count twinnings with pending events: %w", err)
		}
		if n == 0 {
			break
		}
		select {
		case <-drainCtx.Done():
			return 0, fmt.Errorf("%d twinnings still had events to publish after %s: %w", n, eventDrainTimeout, drainCtx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
	nc, js, err := events.Connect(ctx, p.nats.URL(), "bench-count", slog.New(slog.DiscardHandler))
	if err != nil {
		return 0, err
	}
	defer nc.Close()
	ctx, cancel := context.WithTimeout(ctx, callDeadline)
	defer cancel()
	name, err := js.StreamNameBySubject(ctx, subject)
	if err != nil {
		return 0, fmt.Errorf("stream of %s: %w", subject, err)
	}
	stream, err := js.Stream(ctx, name)
	if err != nil {
		return 0, fmt.Errorf("stream %s: %w", name, err)
	}
	info, err := stream.Info(ctx, jetstream.WithSubjectFilter(subject))
	if err != nil {
		return 0, fmt.Errorf("stream %s: %w", name, err)
	}
	return int(info.State.Subjects[subject]), nil
}

// subjectTap notes when each event of a subject is published, as a plain
// NATS subscriber sees it: the moment the stream took it.
type subjectTap struct {
	nc *nats.Conn
	mu sync.Mutex
	at map[string]time.Time
}

func (p *pipeline) tapSubject(subject string) (*subjectTap, error) {
	nc, err := nats.Connect(p.nats.URL(), nats.Name("bench-tap"))
	if err != nil {
		return nil, fmt.Errorf("tap %s: %w", subject, err)
	}
	t := &subjectTap{nc: nc, at: map[string]time.Time{}}
	if _, err := nc.Subscribe(subject, func(m *nats.Msg) {
		now := time.Now()
		var env eventsv1.Envelope
		if proto.Unmarshal(m.Data, &env) != nil {
			return
		}
		t.mu.Lock()
		if _, ok := t.at[env.GetEventId()]; !ok {
			t.at[env.GetEventId()] = now
		}
		t.mu.Unlock()
	}); err != nil {
		nc.Close()
		return nil, fmt.Errorf("tap %s: %w", subject, err)
	}
	return t, nc.Flush()
}

func (t *subjectTap) seen() map[string]time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	return maps.Clone(t.at)
}

func (t *subjectTap) close() { t.nc.Close() }
