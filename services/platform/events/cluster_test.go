package events_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	eventsv1 "github.com/gemella/gemella/proto/gemella/events/v1"
	"github.com/gemella/gemella/services/platform/embedded"
	"github.com/gemella/gemella/services/platform/events"
)

// clusterEnv is a three-node NATS cluster with the THINGS and dead-letter
// streams at three replicas, and an admin connection to all of it.
type clusterEnv struct {
	cluster *embedded.NATSCluster
	js      jetstream.JetStream
	stream  jetstream.Stream
}

func setupCluster(t *testing.T) clusterEnv {
	t.Helper()
	c := embedded.NATSClusterForTest(t, 3)
	nc, js, err := events.Connect(testContext(t), c.URLs(), t.Name()+"-admin", quiet)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(nc.Close)
	// Right after the meta leader's election, placement may not know every
	// peer yet: EnsureStream is retried, as the service kit does.
	var stream jetstream.Stream
	eventuallyWithin(t, 30*time.Second, "the streams at three replicas", func() bool {
		var err error
		stream, err = events.EnsureStream(attemptContext(t), js, events.StreamConfig{Name: testStream, Subjects: []string{"things.>"}, Replicas: 3})
		if err != nil {
			return false
		}
		dead, err := events.EnsureDeadLetterStream(attemptContext(t), js, 3)
		if err != nil {
			return false
		}
		if got := dead.CachedInfo().Config.Replicas; got != 3 {
			t.Fatalf("dead-letter stream has %d replicas, want 3", got)
		}
		return true
	})
	return clusterEnv{cluster: c, js: js, stream: stream}
}

// effects is the test's idempotent handler: it applies each event once,
// keyed by event id, and counts deliveries.
type effects struct {
	mu         sync.Mutex
	applied    map[string]bool
	deliveries int
	active     atomic.Int32
	overlapped atomic.Bool
}

func newEffects() *effects { return &effects{applied: map[string]bool{}} }

func (e *effects) handle(_ context.Context, env *eventsv1.Envelope) error {
	if e.active.Add(1) > 1 {
		e.overlapped.Store(true)
	}
	defer e.active.Add(-1)
	e.mu.Lock()
	defer e.mu.Unlock()
	e.deliveries++
	e.applied[env.GetEventId()] = true
	return nil
}

func (e *effects) count() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.applied)
}

// missing lists the ids of want not applied yet.
func (e *effects) missing(want []string) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for _, id := range want {
		if !e.applied[id] {
			out = append(out, id)
		}
	}
	return out
}

// publisher publishes events continuously, each until the stream has it.
type publisher struct {
	pub       events.Publisher
	stop      chan struct{}
	done      chan struct{}
	mu        sync.Mutex
	attempted map[string]bool // may be on the stream
	stored    []string        // acknowledged by the stream
}

func startPublisher(t *testing.T, js jetstream.JetStream) *publisher {
	p := &publisher{pub: events.NewJetStreamPublisher(js), stop: make(chan struct{}), done: make(chan struct{}), attempted: map[string]bool{}}
	go p.run(t)
	t.Cleanup(p.halt)
	return p
}

func (p *publisher) run(t *testing.T) {
	defer close(p.done)
	for i := 0; ; i++ {
		ev, err := events.NewEnvelope("things.thing.created", "system:test", "thing", "thing-"+strconv.Itoa(i), 1, wrapperspb.String("x"), time.Now())
		if err != nil {
			t.Errorf("new envelope: %v", err)
			return
		}
		data, _ := proto.Marshal(ev)
		p.mu.Lock()
		p.attempted[ev.GetEventId()] = true
		p.mu.Unlock()
		// Retried with the same id, as the outbox relay does: the duplicate
		// window keeps it once on the stream.
		for {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			err := p.pub.Publish(ctx, ev.GetType(), ev.GetEventId(), data)
			cancel()
			if err == nil {
				break
			}
			select {
			case <-p.stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
		p.mu.Lock()
		p.stored = append(p.stored, ev.GetEventId())
		p.mu.Unlock()
		select {
		case <-p.stop:
			return
		case <-time.After(20 * time.Millisecond): // pacing, not a wait for anything
		}
	}
}

func (p *publisher) storedCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.stored)
}

// halt stops publishing and returns the ids the stream acknowledged, and
// those that may be on it.
func (p *publisher) halt() {
	select {
	case <-p.stop:
	default:
		close(p.stop)
	}
	<-p.done
}

func (p *publisher) results() (stored []string, attempted map[string]bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.stored...), p.attempted
}

// leaders are the servers leading the THINGS stream and consumer durable,
// once every replica of both is current.
func leaders(t *testing.T, env clusterEnv, durable string) (streamLeader, consumerLeader string) {
	t.Helper()
	cons, err := env.js.Consumer(testContext(t), testStream, durable)
	if err != nil {
		t.Fatalf("consumer: %v", err)
	}
	current := func(ci *jetstream.ClusterInfo) bool {
		if ci == nil || ci.Leader == "" || len(ci.Replicas) != 2 {
			return false
		}
		for _, r := range ci.Replicas {
			if !r.Current || r.Offline {
				return false
			}
		}
		return true
	}
	eventuallyWithin(t, 30*time.Second, "stream and consumer leaders with current replicas", func() bool {
		si, err := env.stream.Info(attemptContext(t))
		if err != nil || !current(si.Cluster) {
			return false
		}
		ci, err := cons.Info(attemptContext(t))
		if err != nil || !current(ci.Cluster) {
			return false
		}
		streamLeader, consumerLeader = si.Cluster.Leader, ci.Cluster.Leader
		return true
	})
	return streamLeader, consumerLeader
}

// TestConsumeSurvivesLosingANATSNode runs a consumer on a three-node
// cluster while events flow, shuts one node down and checks that every
// event is applied, exactly once thanks to the idempotent handler, within
// 30s and without restarting the consumer.
func TestConsumeSurvivesLosingANATSNode(t *testing.T) {
	tests := []struct {
		name string
		// pick chooses the server the consumer connects to and the one
		// that is shut down.
		pick    func(members []string, streamLeader, consumerLeader string) (connectTo, victim string)
		restart bool
		// silent connects through a proxy that, when the node goes, keeps
		// the connection open and silent, as a crashed host or a network
		// partition does: only the client's pings can tell.
		silent bool
		// interrupts says the loss surely interrupts consumption: the
		// consumer's pull request or connection goes with the node.
		interrupts bool
	}{{
		// Connected elsewhere, the consumer keeps its connection and loses
		// its pull request with the leader: the stall of issue 10.
		name: "its consumer leader",
		pick: func(members []string, _, consumerLeader string) (string, string) {
			return other(members, consumerLeader), consumerLeader
		},
		restart:    true,
		interrupts: true,
	}, {
		name: "its stream leader",
		pick: func(members []string, streamLeader, _ string) (string, string) {
			return other(members, streamLeader), streamLeader
		},
	}, {
		name: "the server it is connected to",
		pick: func(members []string, streamLeader, consumerLeader string) (string, string) {
			s := other(members, consumerLeader, streamLeader)
			return s, s
		},
		interrupts: true,
	}, {
		name: "the server it is connected to, leaving the connection half-open",
		pick: func(members []string, streamLeader, consumerLeader string) (string, string) {
			s := other(members, consumerLeader, streamLeader)
			return s, s
		},
		silent:     true,
		interrupts: true,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := setupCluster(t)
			const durable = "survivor"
			logger, logged := recordingLogger(t)
			metrics := prometheus.NewRegistry()
			cfg := events.ConsumerConfig{
				Stream: testStream, Durable: durable,
				// Messages the lost leader had delivered come back after
				// AckWait: kept short so that they count within 30s.
				AckWait: 8 * time.Second, HandlerTimeout: time.Second,
				Logger: logger, Metrics: metrics,
			}
			// Declared before the consumer connects, to know its leader.
			if _, err := env.js.CreateOrUpdateConsumer(testContext(t), testStream, jetstream.ConsumerConfig{
				Durable: durable, AckPolicy: jetstream.AckExplicitPolicy, DeliverPolicy: jetstream.DeliverAllPolicy,
				AckWait: cfg.AckWait, MaxDeliver: -1,
			}); err != nil {
				t.Fatalf("create consumer: %v", err)
			}
			streamLeader, consumerLeader := leaders(t, env, durable)
			var members []string
			for _, m := range env.cluster.Members() {
				members = append(members, m.Name())
			}
			connectTo, victim := tt.pick(members, streamLeader, consumerLeader)
			t.Logf("stream leader %s, consumer leader %s; consumer connects to %s; shutting down %s", streamLeader, consumerLeader, connectTo, victim)

			url := env.cluster.Member(connectTo).URL()
			var proxy *embedded.TCPProxy
			if tt.silent {
				var err error
				if proxy, err = embedded.StartTCPProxy(strings.TrimPrefix(url, "nats://")); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(proxy.Close)
				url = "nats://" + proxy.Addr()
			}
			nc, js, err := events.Connect(testContext(t), url, "consumer", debugLogger(t))
			if err != nil {
				t.Fatalf("connect: %v", err)
			}
			t.Cleanup(nc.Close)
			fx := newEffects()
			ctx, cancel := context.WithCancel(context.Background())
			returned := make(chan error, 1)
			go func() { returned <- events.Consume(ctx, js, cfg, fx.handle) }()
			t.Cleanup(func() {
				cancel()
				select {
				case <-returned:
				case <-time.After(10 * time.Second):
					t.Error("Consume did not return within 10s of cancel")
				}
			})

			pub := startPublisher(t, env.js)
			started := time.Now()
			eventuallyWithin(t, 20*time.Second, "events to flow", func() bool { return fx.count() >= 20 })
			t.Logf("events flow after %s", time.Since(started).Round(time.Millisecond))

			if proxy != nil {
				proxy.Blackhole()
			}
			env.cluster.Member(victim).Shutdown()
			lostAt := time.Now()
			before := pub.storedCount()
			// Events keep coming during the failover; the publisher waits
			// for a new stream leader when it lost the old one.
			eventuallyWithin(t, 20*time.Second, "events published after the loss", func() bool { return pub.storedCount() >= before+50 })
			pub.halt()
			stored, attempted := pub.results()
			t.Logf("publishing stopped %s after the loss", time.Since(lostAt).Round(time.Millisecond))

			eventuallyWithin(t, 30*time.Second-time.Since(lostAt), "every event applied within 30s of the loss", func() bool {
				return len(fx.missing(stored)) == 0
			})
			t.Logf("%d events applied in %s after the loss, %d deliveries", len(stored), time.Since(lostAt).Round(time.Millisecond), fx.deliveries)
			select {
			case err := <-returned:
				t.Fatalf("Consume returned %v while the context was live", err)
			default:
			}
			fx.mu.Lock()
			for id := range fx.applied {
				if !attempted[id] {
					t.Errorf("applied event %s that was never published", id)
				}
			}
			fx.mu.Unlock()
			if fx.overlapped.Load() {
				t.Error("the handler was called for two messages at once")
			}
			if tt.interrupts {
				labels := map[string]string{"consumer": durable}
				if got := metricValue(t, metrics, "gemella_event_consumer_interruptions_total", labels); got < 1 {
					t.Errorf("interruptions = %v, want at least 1", got)
				}
				// Resumed is logged with the first message after the
				// interruption, or when the consumer leader holds a pull
				// request again on a quiet stream.
				eventuallyWithin(t, 15*time.Second, "a warning that consumption was interrupted, then a note that it resumed", func() bool {
					lines := logged()
					last := lastLine(lines, "level=WARN", "event consumption interrupted")
					return last >= 0 && lastLine(lines[last:], "level=INFO", "event consumption resumed") >= 0
				})
				for _, l := range logged() {
					if strings.Contains(l, "event consumption") && !strings.Contains(l, "level=DEBUG") {
						t.Log(strings.TrimSpace(l))
					}
				}
			}

			if !tt.restart {
				return
			}
			// The node comes back, catches up, and the consumer goes on.
			if err := env.cluster.Member(victim).Restart(); err != nil {
				t.Fatalf("restart %s: %v", victim, err)
			}
			leaders(t, env, durable)
			more := startPublisher(t, env.js)
			eventuallyWithin(t, 20*time.Second, "events published after the restart", func() bool { return more.storedCount() >= 20 })
			more.halt()
			stored, _ = more.results()
			eventuallyWithin(t, 30*time.Second, "events applied after the restart", func() bool { return len(fx.missing(stored)) == 0 })
		})
	}
}

// TestCheckReportsJetStreamWithoutQuorum starts a service's connection while
// its cluster is down, then while one node of three is up: connecting
// works, Check and EnsureStream fail and say why, until the quorum is back.
func TestCheckReportsJetStreamWithoutQuorum(t *testing.T) {
	c := embedded.NATSClusterForTest(t, 3)
	c.Shutdown()
	members := c.Members()

	nc, js, err := events.Connect(testContext(t), c.URLs(), t.Name(), debugLogger(t))
	if err != nil {
		t.Fatalf("Connect to a cluster that is down = %v, want a connection that keeps trying", err)
	}
	t.Cleanup(nc.Close)
	if err := events.Check(testContext(t), nc, js); err == nil || !containsAll(err.Error(), "not connected") {
		t.Fatalf("Check with the cluster down = %v, want an error saying it is not connected", err)
	}

	// One node of three: connected, but JetStream cannot elect a leader.
	if err := members[0].Restart(); err != nil {
		t.Fatalf("restart %s: %v", members[0].Name(), err)
	}
	var checkErr error
	eventuallyWithin(t, 20*time.Second, "Check to get past the connection", func() bool {
		checkErr = events.Check(testContext(t), nc, js)
		return checkErr != nil && !containsAll(checkErr.Error(), "not connected")
	})
	if !containsAll(checkErr.Error(), "jetstream", members[0].Name()) {
		t.Errorf("Check without quorum = %q, want it to name JetStream and the server", checkErr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	_, err = events.EnsureStream(ctx, js, events.StreamConfig{Name: testStream, Subjects: []string{"things.>"}, Replicas: 3})
	cancel()
	if err == nil {
		t.Fatal("EnsureStream without quorum succeeded")
	}

	for _, m := range members[1:] {
		if err := m.Restart(); err != nil {
			t.Fatalf("restart %s: %v", m.Name(), err)
		}
	}
	eventuallyWithin(t, 30*time.Second, "Check to pass with the quorum back", func() bool {
		return events.Check(testContext(t), nc, js) == nil
	})
	eventuallyWithin(t, 30*time.Second, "EnsureStream to succeed with the quorum back", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_, err := events.EnsureStream(ctx, js, events.StreamConfig{Name: testStream, Subjects: []string{"things.>"}, Replicas: 3})
		return err == nil
	})
}

// other is the first of members that is none of not (or the first member).
func other(members []string, not ...string) string {
	for _, m := range members {
		excluded := false
		for _, n := range not {
			excluded = excluded || m == n
		}
		if !excluded {
			return m
		}
	}
	return members[0]
}

// recordingLogger logs at debug into memory, for the test to read and to
// print when it fails.
func recordingLogger(t *testing.T) (*slog.Logger, func() []string) {
	var mu sync.Mutex
	var lines []string
	t.Cleanup(func() {
		if t.Failed() {
			mu.Lock()
			for _, l := range lines {
				t.Log(l)
			}
			mu.Unlock()
		}
	})
	logger := slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		lines = append(lines, time.Now().Format("15:04:05.000")+" "+string(p))
		mu.Unlock()
		return len(p), nil
	}), &slog.HandlerOptions{Level: slog.LevelDebug}))
	return logger, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), lines...)
	}
}

// lastLine is the index of the last of lines that contains every part, or -1.
func lastLine(lines []string, parts ...string) int {
	for i := len(lines) - 1; i >= 0; i-- {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(lines[i], p)
		}
		if all {
			return i
		}
	}
	return -1
}

// attemptContext bounds one attempt in a polling loop: during a JetStream
// leader election a request may get no answer at all.
func attemptContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// eventuallyWithin polls cond until it holds or d passes.
func eventuallyWithin(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d.Round(time.Millisecond), what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func containsAll(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(strings.ToLower(s), strings.ToLower(p)) {
			return false
		}
	}
	return true
}

// freePort is a TCP port nothing listens on, as a string.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

// startNATSOn starts a NATS server on port until the test ends.
func startNATSOn(t *testing.T, port string) *embedded.NATS {
	t.Helper()
	p, _ := strconv.Atoi(port)
	srv, err := embedded.StartNATS(embedded.NATSOptions{Port: p, StoreDir: t.TempDir()})
	if err != nil {
		t.Fatalf("start nats on %s: %v", port, err)
	}
	t.Cleanup(srv.Shutdown)
	return srv
}

// Replicas of a service start together and declare their stream at the
// same moment: every declaration must succeed, with the stream at three
// replicas, on the first call that has time enough (the topology test saw
// each first declaration hang for its whole 10 s on a cluster).
func TestReplicasDeclareTheirStreamTogetherOnACluster(t *testing.T) {
	c := embedded.NATSClusterForTest(t, 3)
	const replicas = 4
	js := make([]jetstream.JetStream, replicas)
	for i := range js {
		nc, j, err := events.Connect(testContext(t), c.URLs(), t.Name()+"-"+strconv.Itoa(i), quiet)
		if err != nil {
			t.Fatalf("connect: %v", err)
		}
		t.Cleanup(nc.Close)
		js[i] = j
	}
	// Placement may not know every peer right after the election.
	eventuallyWithin(t, 30*time.Second, "a first stream at three replicas", func() bool {
		_, err := events.EnsureStream(attemptContext(t), js[0], events.StreamConfig{Name: "WARMUP", Subjects: []string{"warmup.>"}, Replicas: 3})
		return err == nil
	})
	errs := make([]error, replicas)
	var wg sync.WaitGroup
	for i := range replicas {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			s, err := events.EnsureStream(ctx, js[i], events.StreamConfig{Name: "TOGETHER", Subjects: []string{"together.>"}, Replicas: 3})
			if err == nil && s.CachedInfo().Config.Replicas != 3 {
				err = errors.New("not at three replicas")
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("replica %d: %v", i+1, err)
		}
	}
}
