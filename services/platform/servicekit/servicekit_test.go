package servicekit_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	eventsv1 "github.com/gemella/gemella/proto/gemella/events/v1"
	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/auth"
	"github.com/gemella/gemella/services/platform/config"
	"github.com/gemella/gemella/services/platform/embedded"
	"github.com/gemella/gemella/services/platform/events"
	"github.com/gemella/gemella/services/platform/outbox"
	"github.com/gemella/gemella/services/platform/servicekit"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// testService is the service name the test service registers.
const testService = "grpc.testing.TestService"

// things is a service on the kit whose one call writes a document with an
// event in its outbox, and whose one consumer counts those events.
type things struct {
	testgrpc.UnimplementedTestServiceServer
	db     *mongo.Database
	notify func()
	// notReady is what its readiness check answers, indexing what its
	// worker's (Worker.Ready); nil is ready.
	notReady atomic.Pointer[error]
	indexing atomic.Pointer[error]

	mu      sync.Mutex
	handled map[string]int
}

func newThings() *things { return &things{handled: map[string]int{}} }

func (th *things) declaration() servicekit.Declaration {
	return servicekit.Declaration{
		Name:      "kit-test",
		EnvPrefix: "GEMELLA_KITTEST_",
		Stream:    servicekit.Stream{Name: "KITTEST", Subjects: []string{"kittest.>"}},
		Collections: []servicekit.Collection{{
			Name:    "things",
			Indexes: []mongo.IndexModel{{Keys: bson.D{{Key: "name", Value: 1}}, Options: options.Index().SetUnique(true)}},
			Outbox:  true,
		}},
		Build: func(_ context.Context, p servicekit.Ports) (servicekit.Parts, error) {
			th.db, th.notify = p.DB, p.Notify
			return servicekit.Parts{
				Register: func(s *grpc.Server) { testgrpc.RegisterTestServiceServer(s, th) },
				Consumers: []servicekit.Consumer{{
					Stream: "KITTEST", Durable: "kit-test-self", FilterSubjects: []string{"kittest.thing.>"},
					Handler: th.handle,
				}},
				Checks: []servicekit.Check{{Name: "things-ready", Check: func(context.Context) error {
					if err := th.notReady.Load(); err != nil {
						return *err
					}
					return nil
				}}},
				Workers: []servicekit.Worker{{
					Name: "things-index",
					Run:  func(ctx context.Context, _ servicekit.Runtime) error { <-ctx.Done(); return nil },
					Ready: func(context.Context) error {
						if err := th.indexing.Load(); err != nil {
							return *err
						}
						return nil
					},
				}},
			}, nil
		},
	}
}

// EmptyCall writes one thing with its "created" event.
func (th *things) EmptyCall(ctx context.Context, _ *testgrpc.Empty) (*testgrpc.Empty, error) {
	if th.db == nil {
		return &testgrpc.Empty{}, nil
	}
	id := uuid.NewString()
	env, err := events.NewEnvelope("kittest.thing.created", "test", "thing", id, 1, &emptypb.Empty{}, time.Now())
	if err != nil {
		return nil, err
	}
	rec, err := outbox.NewRecord(env)
	if err != nil {
		return nil, err
	}
	if _, err := th.db.Collection("things").InsertOne(ctx, outbox.Insert(bson.D{
		{Key: "_id", Value: id}, {Key: "name", Value: id}, {Key: outbox.VersionField, Value: int64(1)},
	}, []outbox.Record{rec})); err != nil {
		return nil, err
	}
	th.notify()
	return &testgrpc.Empty{}, nil
}

func (th *things) handle(_ context.Context, env *eventsv1.Envelope) error {
	th.mu.Lock()
	defer th.mu.Unlock()
	th.handled[env.GetEventId()]++
	return nil
}

func (th *things) handledCount() int {
	th.mu.Lock()
	defer th.mu.Unlock()
	return len(th.handled)
}

func (th *things) setReady(err error) {
	if err == nil {
		th.notReady.Store(nil)
		return
	}
	th.notReady.Store(&err)
}

// settings is the test service's configuration: only the kit's parts,
// with quick health checks.
type settings struct {
	servicekit.Own
	servicekit.Shared
}

func (s settings) Validate() error {
	return errors.Join(s.Own.Validate("GEMELLA_KITTEST_"), s.Shared.Validate(true))
}

func (settings) Health() servicekit.HealthConfig {
	return servicekit.HealthConfig{Interval: 200 * time.Millisecond, Timeout: time.Second}
}

func testSettings(mongoURI, natsURL string) settings {
	key, err := auth.GenerateKey()
	if err != nil {
		panic(err)
	}
	pem, err := auth.MarshalPublicKeyPEM(key.Public().(ed25519.PublicKey))
	if err != nil {
		panic(err)
	}
	return settings{
		Own: servicekit.Own{
			GRPC:  config.GRPCServer{Addr: "127.0.0.1:0", DefaultDeadline: 10 * time.Second},
			Mongo: config.Mongo{URI: mongoURI, Database: "kittest", Timeout: 10 * time.Second, DocLocks: config.DocLocksLease},
		},
		Shared: servicekit.Shared{
			NATS: config.NATS{URL: natsURL, StreamReplicas: 1},
			Auth: auth.VerifierConfig{PublicKeys: string(pem)},
		},
	}
}

// running is a service started by a test, stopped when it ends.
type running struct {
	svc    *servicekit.Service
	conn   *grpc.ClientConn
	stop   context.CancelFunc
	done   chan error
	health healthpb.HealthClient
	client testgrpc.TestServiceClient
}

func run(t *testing.T, svc *servicekit.Service) *running {
	t.Helper()
	if err := svc.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{svc: svc, stop: cancel, done: make(chan error, 1)}
	go func() { r.done <- svc.Run(ctx) }()
	conn, err := grpc.NewClient(svc.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	r.conn, r.health, r.client = conn, healthpb.NewHealthClient(conn), testgrpc.NewTestServiceClient(conn)
	t.Cleanup(func() {
		_ = conn.Close()
		if err := r.shutdown(); err != nil {
			t.Errorf("run: %v", err)
		}
	})
	return r
}

// shutdown stops the service and returns what Run returned; once.
func (r *running) shutdown() error {
	if r.stop == nil {
		return nil
	}
	r.stop()
	r.stop = nil
	select {
	case err := <-r.done:
		return err
	case <-time.After(time.Minute):
		return errors.New("Run did not return within a minute of its context's end")
	}
}

// waitFor polls until cond holds, failing the test after a bound.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(45 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("still waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (r *running) status(service string) healthpb.HealthCheckResponse_ServingStatus {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	resp, err := r.health.Check(ctx, &healthpb.HealthCheckRequest{Service: service})
	if err != nil {
		return healthpb.HealthCheckResponse_UNKNOWN
	}
	return resp.GetStatus()
}

func (r *running) waitStatus(t *testing.T, want healthpb.HealthCheckResponse_ServingStatus) {
	t.Helper()
	waitFor(t, "health "+want.String(), func() bool { return r.status("") == want && r.status(testService) == want })
}

// call makes the one call under a deadline far longer than the kit needs
// to refuse it, so that Unavailable (not DeadlineExceeded) shows the call
// did not wait for the store.
func (r *running) call() error {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := r.client.EmptyCall(ctx, &testgrpc.Empty{})
	return err
}

func TestHealthTellsTheTruthAboutTheStoreAndNATS(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: needs the embedded FerretDB and NATS")
	}
	store := embedded.RestartableFerretDBForTest(t)
	broker := embedded.NATSForTest(t)
	th := newThings()
	svc, err := servicekit.New(context.Background(), th.declaration(), testSettings(store.URI(), broker.URL()), quiet)
	if err != nil {
		t.Fatal(err)
	}
	r := run(t, svc)
	waitCtx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	if err := svc.WaitReady(waitCtx); err != nil {
		t.Fatal(err)
	}
	r.waitStatus(t, healthpb.HealthCheckResponse_SERVING)
	if err := r.call(); err != nil {
		t.Fatalf("call with everything up: %v", err)
	}
	waitFor(t, "the first event consumed", func() bool { return th.handledCount() == 1 })

	// The store goes away: NOT_SERVING, overall and per service, and a
	// call is refused at once.
	store.Stop()
	r.waitStatus(t, healthpb.HealthCheckResponse_NOT_SERVING)
	if err := r.call(); status.Code(err) != codes.Unavailable {
		t.Fatalf("call with the store down: %v, want Unavailable", err)
	}
	startCtx, cancelStart := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancelStart()
	if err := store.Start(startCtx); err != nil {
		t.Fatal(err)
	}
	r.waitStatus(t, healthpb.HealthCheckResponse_SERVING)
	if err := r.call(); err != nil {
		t.Fatalf("call with the store back: %v", err)
	}

	// NATS goes away: NOT_SERVING, but writes go on (their events wait in
	// the outbox) and reach the consumer once NATS is back.
	broker.Shutdown()
	r.waitStatus(t, healthpb.HealthCheckResponse_NOT_SERVING)
	if err := r.call(); err != nil {
		t.Fatalf("call with NATS down: %v, want it served", err)
	}
	if err := broker.Restart(); err != nil {
		t.Fatal(err)
	}
	r.waitStatus(t, healthpb.HealthCheckResponse_SERVING)
	waitFor(t, "the three events consumed", func() bool { return th.handledCount() == 3 })

	// A declared check that fails holds the service NOT_SERVING, without
	// refusing calls.
	th.setReady(errors.New("index rebuilding"))
	r.waitStatus(t, healthpb.HealthCheckResponse_NOT_SERVING)
	if err := r.call(); err != nil {
		t.Fatalf("call while a check fails: %v", err)
	}
	th.setReady(nil)
	r.waitStatus(t, healthpb.HealthCheckResponse_SERVING)
	waitFor(t, "the fourth event consumed", func() bool { return th.handledCount() == 4 })

	// So does a worker's readiness (a search index being rebuilt).
	rebuilding := errors.New("search index being rebuilt")
	th.indexing.Store(&rebuilding)
	r.waitStatus(t, healthpb.HealthCheckResponse_NOT_SERVING)
	if err := r.call(); err != nil {
		t.Fatalf("call while a worker is not ready: %v", err)
	}
	th.indexing.Store(nil)
	r.waitStatus(t, healthpb.HealthCheckResponse_SERVING)
}

func TestStartsWithoutStoreOrNATSAndSetsUpWhenTheyCome(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: needs the embedded FerretDB and NATS")
	}
	store := embedded.RestartableFerretDBForTest(t)
	broker := embedded.NATSForTest(t)
	store.Stop()
	broker.Shutdown()

	th := newThings()
	svc, err := servicekit.New(context.Background(), th.declaration(), testSettings(store.URI(), broker.URL()), quiet)
	if err != nil {
		t.Fatalf("New without store or NATS: %v", err)
	}
	r := run(t, svc)
	// It listens and says it cannot serve yet.
	waitFor(t, "the health service to answer", func() bool {
		return r.status("") == healthpb.HealthCheckResponse_NOT_SERVING
	})
	if got := r.status(testService); got != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("%s is %s, want NOT_SERVING", testService, got)
	}
	if err := r.call(); status.Code(err) != codes.Unavailable {
		t.Fatalf("call before the store is there: %v, want Unavailable", err)
	}
	select {
	case <-svc.Ready():
		t.Fatal("ready without store or NATS")
	default:
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := store.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := broker.Restart(); err != nil {
		t.Fatal(err)
	}
	if err := svc.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	if err := r.call(); err != nil {
		t.Fatalf("call once everything is there: %v", err)
	}
	waitFor(t, "the event consumed", func() bool { return th.handledCount() == 1 })

	// The kit declared the index and the streams.
	client, err := mongo.Connect(options.Client().ApplyURI(store.URI()))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = client.Disconnect(context.Background()) }()
	specs, err := client.Database("kittest").Collection("things").Indexes().ListSpecifications(ctx)
	if err != nil {
		t.Fatal(err)
	}
	unique := false
	for _, s := range specs {
		unique = unique || (s.Name == "name_1" && s.Unique != nil && *s.Unique)
	}
	if !unique {
		t.Errorf("indexes of things: %+v, want the unique name_1", specs)
	}
	js := jetStream(t, broker.URL())
	for _, name := range []string{"KITTEST", events.DeadLetterStream} {
		if _, err := js.Stream(ctx, name); err != nil {
			t.Errorf("stream %s: %v", name, err)
		}
	}
}

func TestStopPublishesWhatTheLastCallsWroteAndDrainsNATS(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: needs the embedded FerretDB and NATS")
	}
	store := embedded.FerretDBForTest(t)
	broker := embedded.NATSForTest(t)
	th := newThings()
	svc, err := servicekit.New(context.Background(), th.declaration(), testSettings(store.URI(), broker.URL()), quiet)
	if err != nil {
		t.Fatal(err)
	}
	r := run(t, svc)
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	if err := svc.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	const calls = 5
	for range calls {
		if err := r.call(); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.shutdown(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	// Every event written before the stop is on the stream, and no
	// document keeps one pending.
	stream, err := jetStream(t, broker.URL()).Stream(ctx, "KITTEST")
	if err != nil {
		t.Fatal(err)
	}
	if got := stream.CachedInfo().State.Msgs; got != calls {
		t.Errorf("stream holds %d events after the stop, want %d", got, calls)
	}
	client, err := mongo.Connect(options.Client().ApplyURI(store.URI()))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = client.Disconnect(context.Background()) }()
	pending, err := client.Database("kittest").Collection("things").CountDocuments(ctx, bson.D{{Key: outbox.Field + ".0", Value: bson.D{{Key: "$exists", Value: true}}}})
	if err != nil {
		t.Fatal(err)
	}
	if pending != 0 {
		t.Errorf("%d documents keep pending events after the stop", pending)
	}
	// The server no longer listens.
	if err := r.call(); status.Code(err) != codes.Unavailable {
		t.Errorf("call after the stop: %v, want Unavailable (no server)", err)
	}
}

func TestInMemoryServesAtOnceWithoutStoreOrNATS(t *testing.T) {
	th := newThings()
	svc, err := servicekit.NewInMemory(context.Background(), th.declaration(), config.GRPCServer{Addr: "127.0.0.1:0"}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	r := run(t, svc)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := svc.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	r.waitStatus(t, healthpb.HealthCheckResponse_SERVING)
	if err := r.call(); err != nil {
		t.Fatalf("in-memory call: %v", err)
	}
	if th.db != nil {
		t.Fatal("in memory, Build got a database")
	}
}

func TestConfigurationProblemsAreReportedAtOnce(t *testing.T) {
	th := newThings()
	bad := testSettings("http://nowhere", "nats://127.0.0.1:4222")
	bad.GRPC.Addr = "no port"
	_, err := servicekit.New(context.Background(), th.declaration(), bad, quiet)
	if err == nil {
		t.Fatal("New with a bad configuration succeeded")
	}
	for _, name := range []string{"GEMELLA_KITTEST_GRPC_ADDR", "GEMELLA_KITTEST_MONGO_URI"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not name %s", err, name)
		}
	}
	d := th.declaration()
	d.Name, d.Build = "", nil
	if _, err := servicekit.New(context.Background(), d, testSettings("mongodb://127.0.0.1:1", "nats://127.0.0.1:1"), quiet); err == nil {
		t.Fatal("New with a declaration without name and build succeeded")
	}
}

func TestAStoreOutageInsideACallIsUnavailableNotInternal(t *testing.T) {
	// The handler's error says the store is gone before the health checks
	// have noticed: the caller gets Unavailable.
	d := servicekit.Declaration{Name: "kit-outage", Build: func(context.Context, servicekit.Ports) (servicekit.Parts, error) {
		return servicekit.Parts{Register: func(s *grpc.Server) { testgrpc.RegisterTestServiceServer(s, outage{}) }}, nil
	}}
	svc, err := servicekit.NewInMemory(context.Background(), d, config.GRPCServer{Addr: "127.0.0.1:0"}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	r := run(t, svc)
	if err := r.call(); status.Code(err) != codes.Unavailable {
		t.Fatalf("call: %v, want Unavailable", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := r.client.UnaryCall(ctx, &testgrpc.SimpleRequest{}); status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("an application error: %v, want it as it was (FailedPrecondition)", err)
	}
}

type outage struct {
	testgrpc.UnimplementedTestServiceServer
}

func (outage) EmptyCall(context.Context, *testgrpc.Empty) (*testgrpc.Empty, error) {
	return nil, mongo.ErrClientDisconnected
}

func (outage) UnaryCall(context.Context, *testgrpc.SimpleRequest) (*testgrpc.SimpleResponse, error) {
	return nil, apperr.FailedPrecondition("not now")
}

func jetStream(t *testing.T, url string) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}
