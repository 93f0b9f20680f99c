package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/gemella/gemella/services/platform/auth"
)

// Timings of the children. The gateway's request deadline is short, so a
// request that hangs is seen quickly; the store's operation timeout is
// below it, so a stopped store answers UNAVAILABLE before the deadline.
const (
	requestTimeout = 6 * time.Second
	mongoTimeout   = 3 * time.Second
	startTimeout   = 90 * time.Second
	replicas       = 2
)

// service is one of the four gRPC services: its binary, its variables'
// prefix, its port (the same on every replica address) and its replicas.
type service struct {
	name, bin, prefix, dnsName string
	port                       int
	replicas                   []*replica
}

type replica struct {
	*proc
	metrics string // host:port of /metrics
}

// target is the dns:// target naming every replica.
func (s *service) target(dnsAddr string) string {
	return fmt.Sprintf("dns://%s/%s:%d", dnsAddr, s.dnsName, s.port)
}

type topology struct {
	root, dir string
	verbose   bool
	procs     *procs

	bins     map[string]string
	dns      *dnsServer
	nats     []*proc
	natsURLs string
	nc       *nats.Conn
	js       jetstream.JetStream
	store    *proc
	storeURI string
	services []*service
	gateways []*proc
	keyFile  string
	pubFile  string
	issuer   *auth.Issuer
	csrfKey  string
}

func (t *topology) logf(format string, args ...any) {
	if t.verbose {
		fmt.Fprintf(os.Stderr, "%s topology: %s\n", time.Now().UTC().Format("15:04:05.000"), fmt.Sprintf(format, args...))
	}
}

func (t *topology) closeInfra() {
	if t.nc != nil {
		t.nc.Close()
	}
	if t.dns != nil {
		t.dns.Close()
	}
}

func (t *topology) svc(name string) *service {
	for _, s := range t.services {
		if s.name == name {
			return s
		}
	}
	panic("no service " + name)
}

// replicaIP is the loopback address of replica i (127.0.0.1, 127.0.0.2).
func replicaIP(i int) string { return "127.0.0." + strconv.Itoa(i+1) }

// setup builds the binaries and starts every process.
func (t *topology) setup(ctx context.Context) error {
	start := time.Now()
	binDir := filepath.Join(t.dir, "bin")
	var err error
	if t.bins, err = buildBinaries(ctx, t.root, binDir); err != nil {
		return err
	}
	t.logf("built the binaries in %s", time.Since(start).Round(time.Millisecond))
	if err := t.keys(); err != nil {
		return err
	}
	if err := t.startNATS(ctx); err != nil {
		return err
	}
	if err := t.startStore(ctx); err != nil {
		return err
	}
	// The services' ports, the same at each replica's address, and the
	// names the DNS server answers with every replica's address.
	hosts := map[string][]net.IP{}
	for _, s := range []struct{ name, prefix string }{
		{"practice-catalog", "CATALOG"}, {"twinning", "TWINNING"}, {"discussion", "DISCUSSION"}, {"notification", "NOTIFICATION"},
	} {
		port, err := freePortOn(replicaIP(0), replicaIP(1))
		if err != nil {
			return err
		}
		sv := &service{name: s.name, bin: t.bins[s.name], prefix: s.prefix, dnsName: strings.ToLower(s.prefix) + ".topology.test", port: port}
		t.services = append(t.services, sv)
		for i := range replicas {
			hosts[sv.dnsName] = append(hosts[sv.dnsName], net.ParseIP(replicaIP(i)))
		}
	}
	if t.dns, err = startDNS(hosts); err != nil {
		return fmt.Errorf("dns server: %w", err)
	}
	// The first administrator, with the discussion binary's own command,
	// before any replica runs; a second run must be refused.
	if err := t.bootstrapAdmin(ctx); err != nil {
		return err
	}
	for _, s := range t.services {
		for i := range replicas {
			mport, err := freePort("127.0.0.1")
			if err != nil {
				return err
			}
			r := &replica{metrics: net.JoinHostPort("127.0.0.1", strconv.Itoa(mport))}
			r.proc = t.procs.add(&proc{
				name: fmt.Sprintf("%s-%d", s.name, i+1), bin: s.bin,
				env:  t.serviceEnv(s, i, r.metrics),
				log:  filepath.Join(t.dir, fmt.Sprintf("%s-%d.log", s.name, i+1)),
				addr: net.JoinHostPort(replicaIP(i), strconv.Itoa(s.port)),
			})
			s.replicas = append(s.replicas, r)
		}
	}
	// Start order: catalog first (twinning calls it), then the others.
	for _, s := range t.services {
		for _, r := range s.replicas {
			if err := r.start(); err != nil {
				return err
			}
		}
		for _, r := range s.replicas {
			if err := t.waitServing(ctx, r.proc); err != nil {
				return err
			}
		}
	}
	for i := range 2 {
		port, err := freePort("127.0.0.1")
		if err != nil {
			return err
		}
		g := t.procs.add(&proc{
			name: fmt.Sprintf("gateway-%d", i+1), bin: t.bins["gateway"],
			env:  t.gatewayEnv(port),
			log:  filepath.Join(t.dir, fmt.Sprintf("gateway-%d.log", i+1)),
			addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		})
		t.gateways = append(t.gateways, g)
		if err := g.start(); err != nil {
			return err
		}
	}
	for _, g := range t.gateways {
		if err := t.waitGateway(ctx, g); err != nil {
			return err
		}
	}
	t.logf("started 3 NATS servers, the store, %d service replicas and 2 gateways in %s", replicas*len(t.services), time.Since(start).Round(time.Millisecond))
	// Every stream the services and the gateways declared is at three
	// replicas, as GEMELLA_NATS_STREAM_REPLICAS says.
	for _, name := range []string{"CATALOG", "TWINNING", "DISCUSSION", "DEADLETTER", "FEED"} {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		s, err := t.js.Stream(cctx, name)
		cancel()
		if err != nil {
			return fmt.Errorf("stream %s: %w", name, err)
		}
		if got := s.CachedInfo().Config.Replicas; got != 3 {
			return fmt.Errorf("stream %s has %d replicas, want 3", name, got)
		}
	}
	return nil
}

func (t *topology) keys() error {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	priv, err := auth.MarshalPrivateKeyPEM(key)
	if err != nil {
		return err
	}
	pub, err := auth.MarshalPublicKeyPEM(key.Public().(ed25519.PublicKey))
	if err != nil {
		return err
	}
	t.keyFile, t.pubFile = filepath.Join(t.dir, "signing.pem"), filepath.Join(t.dir, "signing.pub.pem")
	if err := os.WriteFile(t.keyFile, priv, 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(t.pubFile, pub, 0o644); err != nil {
		return err
	}
	if t.issuer, err = auth.NewIssuer(key, time.Hour); err != nil {
		return err
	}
	csrf := make([]byte, 32)
	_, _ = rand.Read(csrf)
	t.csrfKey = hex.EncodeToString(csrf)
	return nil
}

// startNATS starts the three clustered servers and waits until JetStream
// answers.
func (t *topology) startNATS(ctx context.Context) error {
	const n = 3
	ports, routes := make([]int, n), make([]int, n)
	for i := range n {
		var err error
		if ports[i], err = freePort("127.0.0.1"); err != nil {
			return err
		}
		if routes[i], err = freePort("127.0.0.1"); err != nil {
			return err
		}
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	var urls []string
	for i := range n {
		var others []string
		for j := range n {
			if j != i {
				others = append(others, fmt.Sprintf("nats-route://127.0.0.1:%d", routes[j]))
			}
		}
		name := fmt.Sprintf("nats-%d", i+1)
		p := t.procs.add(&proc{
			name: name, bin: self,
			args: []string{"nats", "-name", name, "-port", strconv.Itoa(ports[i]), "-cluster-port", strconv.Itoa(routes[i]),
				"-routes", strings.Join(others, ","), "-store", filepath.Join(t.dir, name)},
			log:  filepath.Join(t.dir, name+".log"),
			addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[i])),
		})
		t.nats = append(t.nats, p)
		urls = append(urls, "nats://"+p.addr)
		if err := p.start(); err != nil {
			return err
		}
	}
	for _, p := range t.nats {
		if err := p.waitListening(ctx, startTimeout); err != nil {
			return err
		}
	}
	t.natsURLs = strings.Join(urls, ",")
	t.nc, err = nats.Connect(t.natsURLs, nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond))
	if err != nil {
		return fmt.Errorf("connect to nats: %w", err)
	}
	if t.js, err = jetstream.New(t.nc); err != nil {
		return err
	}
	deadline := time.Now().Add(startTimeout)
	for {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := t.js.AccountInfo(cctx)
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("jetstream of the cluster not ready: %w", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (t *topology) startStore(ctx context.Context) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	port, err := freePort("127.0.0.1")
	if err != nil {
		return err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	t.store = t.procs.add(&proc{
		name: "ferretdb", bin: self, args: []string{"ferretdb", "-addr", addr, "-dir", filepath.Join(t.dir, "ferretdb")},
		log: filepath.Join(t.dir, "ferretdb.log"), addr: addr,
	})
	t.storeURI = "mongodb://" + addr + "/"
	if err := t.store.start(); err != nil {
		return err
	}
	return t.store.waitListening(ctx, startTimeout)
}

// common are the variables every service shares.
func (t *topology) common() []string {
	return []string{
		"GEMELLA_NATS_URL=" + t.natsURLs,
		"GEMELLA_NATS_STREAM_REPLICAS=3",
		"GEMELLA_AUTH_PUBLIC_KEYS=" + t.pubFile,
		"GEMELLA_CATALOG_ADDR=" + t.svc("practice-catalog").target(t.dns.Addr()),
		"GEMELLA_TWINNING_ADDR=" + t.svc("twinning").target(t.dns.Addr()),
		"GEMELLA_DISCUSSION_ADDR=" + t.svc("discussion").target(t.dns.Addr()),
		"GEMELLA_NOTIFICATION_ADDR=" + t.svc("notification").target(t.dns.Addr()),
	}
}

func (t *topology) storeEnv(s *service) []string {
	p := "GEMELLA_" + s.prefix + "_"
	return []string{
		p + "MONGO_URI=" + t.storeURI,
		p + "MONGO_TIMEOUT=" + mongoTimeout.String(),
		// FerretDB applies an update as read-then-write: the document
		// locks make the replicas' writes safe (platform/doclock).
		p + "MONGO_DOC_LOCKS=true",
	}
}

func (t *topology) serviceEnv(s *service, i int, metrics string) []string {
	p := "GEMELLA_" + s.prefix + "_"
	env := append(t.common(), t.storeEnv(s)...)
	env = append(env,
		p+"GRPC_ADDR="+net.JoinHostPort(replicaIP(i), strconv.Itoa(s.port)),
		p+"METRICS_ADDR="+metrics,
	)
	switch s.name {
	case "practice-catalog", "twinning", "discussion":
		// Each replica keeps its search index on its own disk, as in
		// production: a killed replica reopens it and catches up.
		env = append(env, p+"SEARCH_DIR="+filepath.Join(t.dir, fmt.Sprintf("search-%s-%d", s.name, i+1)))
	}
	switch s.name {
	case "discussion":
		env = append(env, "GEMELLA_AUTH_KEY_FILE="+t.keyFile, "GEMELLA_AUTH_PUBLIC_KEYS=")
	case "notification":
		env = append(env, p+"UNSUBSCRIBE_KEY="+t.csrfKey)
	}
	return env
}

func (t *topology) gatewayEnv(port int) []string {
	env := append(t.common(),
		"GEMELLA_HTTP_ADDR=127.0.0.1:"+strconv.Itoa(port),
		"GEMELLA_REQUEST_TIMEOUT="+requestTimeout.String(),
		"GEMELLA_PORTAL_CSRF_KEY="+t.csrfKey,
		"GEMELLA_PORTAL_ASSETS_DIR="+filepath.Join(t.root, "gateway/portal/web/node_modules"),
	)
	for _, r := range []string{"LOGIN", "REGISTER", "WRITE"} {
		env = append(env, "GEMELLA_RATE_"+r+"_PER_MINUTE=100000", "GEMELLA_RATE_"+r+"_BURST=100000")
	}
	return env
}

const (
	adminEmail    = "admin@topology.gemella.test"
	adminPassword = "topology-admin-2026"
)

// bootstrapAdmin runs "discussion bootstrap-admin" twice: the first makes
// the administrator, the second must be refused.
func (t *topology) bootstrapAdmin(ctx context.Context) error {
	d := t.svc("discussion")
	run := func() (int, string, error) {
		cmd := exec.CommandContext(ctx, d.bin, "bootstrap-admin", "--email", adminEmail, "--display-name", "Amministratrice Topologia")
		cmd.Env = append(append(os.Environ(), t.storeEnv(d)...), "GEMELLA_BOOTSTRAP_ADMIN_PASSWORD="+adminPassword,
			"GEMELLA_AUTH_KEY_FILE="+t.keyFile)
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		if err != nil && !errorsAs(err, &exit) {
			return 0, string(out), err
		}
		return cmd.ProcessState.ExitCode(), string(out), nil
	}
	code, out, err := run()
	if err != nil || code != 0 {
		return fmt.Errorf("discussion bootstrap-admin: exit %d: %v %s", code, err, out)
	}
	code, out, err = run()
	if err != nil || code != 1 {
		return fmt.Errorf("discussion bootstrap-admin run again: want exit 1 (refused), got %d: %v %s", code, err, out)
	}
	return nil
}

// waitServing waits until the replica answers its gRPC health check.
func (t *topology) waitServing(ctx context.Context, p *proc) error {
	if err := p.waitListening(ctx, startTimeout); err != nil {
		return err
	}
	conn, err := grpc.NewClient("passthrough:///"+p.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	hc := healthpb.NewHealthClient(conn)
	deadline := time.Now().Add(startTimeout)
	for {
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		res, err := hc.Check(cctx, &healthpb.HealthCheckRequest{})
		cancel()
		if err == nil && res.GetStatus() == healthpb.HealthCheckResponse_SERVING {
			return nil
		}
		if !p.running() {
			return fmt.Errorf("%s exited (see %s)", p.name, p.log)
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("%s not serving after %s: %v (see %s)", p.name, startTimeout, err, p.log)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitGateway waits until the gateway's /readyz answers 200.
func (t *topology) waitGateway(ctx context.Context, p *proc) error {
	if err := p.waitListening(ctx, startTimeout); err != nil {
		return err
	}
	deadline := time.Now().Add(startTimeout)
	c := &http.Client{Timeout: 2 * time.Second}
	for {
		res, err := c.Get("http://" + p.addr + "/readyz")
		if err == nil {
			_ = res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("%s not ready after %s (see %s)", p.name, startTimeout, p.log)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func errorsAs(err error, target any) bool { return errors.As(err, target) }
