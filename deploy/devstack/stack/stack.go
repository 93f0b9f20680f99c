// Package stack runs all of Gemella in one process for development and
// integration tests: an embedded NATS server with JetStream, an embedded
// FerretDB (MongoDB wire protocol on SQLite), every gRPC service and the
// REST gateway, with their data in one directory. It is what `make run`
// starts; production runs each piece on its own (see deploy/compose, k8s).
package stack

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"google.golang.org/grpc"

	"github.com/gemella/gemella/deploy/devstack/demo"
	gateway "github.com/gemella/gemella/gateway/server"
	catalogv1 "github.com/gemella/gemella/proto/gemella/catalog/v1"
	discussionv1 "github.com/gemella/gemella/proto/gemella/discussion/v1"
	twinningv1 "github.com/gemella/gemella/proto/gemella/twinning/v1"
	discussion "github.com/gemella/gemella/services/discussion/service"
	"github.com/gemella/gemella/services/notification/mailbox"
	"github.com/gemella/gemella/services/platform/auth"
	"github.com/gemella/gemella/services/platform/embedded"
	"github.com/gemella/gemella/services/platform/grpcx"
)

const (
	// readyTimeout bounds the wait for the services to answer when the
	// caller's context has no deadline; FerretDB's first queries are slow.
	readyTimeout = 60 * time.Second
	// probeTimeout bounds one readiness attempt.
	probeTimeout = 5 * time.Second
	// probeInterval is the pause between readiness attempts.
	probeInterval = 100 * time.Millisecond
	// demoTimeout bounds loading the demo data when the caller's context
	// has no deadline.
	demoTimeout = 2 * time.Minute
	// clientDeadline is the deadline of the stack's own gRPC calls.
	clientDeadline = 10 * time.Second
)

// URLs says where each part of a running stack can be reached.
type URLs struct {
	// Gateway is the base URL of the REST API, e.g. http://127.0.0.1:8080.
	Gateway string
	// OpenAPI is the URL of the OpenAPI document.
	OpenAPI string
	// Catalog is the practice-catalog gRPC address, e.g. 127.0.0.1:9091.
	Catalog string
	// Twinning is the twinning gRPC address, e.g. 127.0.0.1:9092.
	Twinning string
	// Discussion is the discussion gRPC address, e.g. 127.0.0.1:9093.
	Discussion string
	// Notification is the notification gRPC address, e.g. 127.0.0.1:9094.
	Notification string
	// Mailbox is the page of the e-mail the devstack sent, e.g.
	// http://127.0.0.1:8025/; SMTP is the mailbox's SMTP URL and MailDir
	// the folder of its messages.
	Mailbox, SMTP, MailDir string
	// NATS is the client URL of the embedded NATS server.
	NATS string
	// Mongo is the MongoDB URI of the embedded FerretDB.
	Mongo string
}

// Stack is a running set of infrastructure, services and gateway. Every
// goroutine it starts is stopped and waited for by Stop.
type Stack struct {
	logger *slog.Logger

	nats    *embedded.NATS
	ferret  *embedded.FerretDB
	mailbox *mailbox.Mailbox
	// mailboxPage serves the mailbox's page.
	mailboxPage *http.Server
	mailboxAddr string
	// running are the services and the gateway, in start order.
	running []*component
	// addrs are the bound gRPC addresses by service name.
	addrs       map[string]string
	services    map[string]grpcService
	gatewayAddr string
	// gatewayListener holds the gateway's free port from the moment it is
	// chosen (the e-mails link to it) until the gateway takes it over.
	gatewayListener net.Listener
	// releaseReady ends the gateway's readiness hold taken at its start.
	releaseReady func()
	// keyFile signs session tokens; loader mints the demo loader's.
	keyFile string
	loader  *loader

	failOnce sync.Once
	failed   chan error    // receives the first unexpected stop; closed by Stop
	died     chan struct{} // closed on the first unexpected stop

	stopOnce sync.Once
	stopErr  error
}

// component is one Run loop the stack owns.
type component struct {
	name   string
	cancel context.CancelFunc
	done   chan struct{}
	// stopErr is what Run returned after being asked to stop; read it once
	// done is closed.
	stopErr error
}

// Start brings the stack up: the data directories, NATS, FerretDB, then each
// service and the gateway, each serving in a goroutine of the stack. It
// returns once every service answers and, if asked, the demo data is loaded.
// ctx bounds the start-up only; the stack runs until Stop. On error,
// everything already started is stopped again.
func Start(ctx context.Context, opts Options) (_ *Stack, err error) {
	opts = opts.withDefaults()
	if err := opts.validate(); err != nil {
		return nil, fmt.Errorf("devstack options: %w", err)
	}
	s := &Stack{
		logger:   opts.Logger,
		addrs:    map[string]string{},
		services: map[string]grpcService{},
		failed:   make(chan error, 1),
		died:     make(chan struct{}),
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, s.shutdown())
		}
	}()

	dataDir, err := filepath.Abs(opts.DataDir)
	if err != nil {
		return nil, fmt.Errorf("resolve data directory %s: %w", opts.DataDir, err)
	}
	natsDir, ferretDir := filepath.Join(dataDir, "nats"), filepath.Join(dataDir, "ferretdb")
	for _, dir := range []string{natsDir, ferretDir} {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("create data directory: %w", err)
		}
	}

	// NATS and FerretDB log every connection at info, and FerretDB dumps
	// every failed command (even the driver's harmless endSessions) at
	// warning: only what matters to a developer gets through.
	s.nats, err = embedded.StartNATS(embedded.NATSOptions{
		StoreDir: natsDir,
		Port:     opts.NATSPort,
		Logger:   atLeast(slog.LevelWarn, s.logger.With("component", "nats")),
	})
	if err != nil {
		return nil, err
	}
	s.logger.Info("started", "component", "nats", "url", s.nats.URL(), "store", natsDir)

	s.ferret, err = embedded.StartFerretDB(ctx, embedded.FerretDBOptions{
		Dir:    ferretDir,
		Addr:   opts.MongoAddr,
		Logger: atLeast(slog.LevelError, s.logger.With("component", "ferretdb")),
	})
	if err != nil {
		return nil, err
	}
	s.logger.Info("started", "component", "ferretdb", "uri", s.ferret.URI(), "dir", ferretDir)

	// The devstack (and only the devstack) makes its own signing key; the
	// discussion service signs with it, the others verify with its public
	// half, and the demo loader's tokens are signed with it (loader.go).
	s.keyFile = signingKeyFile(dataDir)
	key, err := auth.LoadOrCreateKeyFile(s.keyFile)
	if err != nil {
		return nil, fmt.Errorf("session signing key: %w", err)
	}
	if s.loader, err = newLoader(key); err != nil {
		return nil, err
	}
	// The e-mails link to the portal: a free port for the gateway is
	// chosen, and held, now, before the notification service starts.
	if opts.HTTPAddr, s.gatewayListener, err = reservePort(opts.HTTPAddr); err != nil {
		return nil, err
	}
	if err := s.startMailbox(filepath.Join(dataDir, "mail"), opts.SMTPAddr, opts.MailboxAddr); err != nil {
		return nil, err
	}
	infra := infrastructure{natsURL: s.nats.URL(), mongoURI: s.ferret.URI(), addrs: s.addrs, signingKeyFile: s.keyFile, publicKeys: s.loader.publicKey(), dataDir: opts.DataDir,
		smtpURL: s.mailbox.URL(), unsubscribeKey: unsubscribeKey(key), publicURL: "http://" + dialable(opts.HTTPAddr), mailDelay: opts.MailDelay}
	gatewayCfg := gateway.DefaultConfig()
	gatewayCfg.HTTPAddr = opts.HTTPAddr
	// The gateway routes only to the services the stack runs; each
	// service's entry sets its own address below.
	gatewayCfg.TwinningAddr = gateway.BackendDisabled
	gatewayCfg.DiscussionAddr = gateway.BackendDisabled
	gatewayCfg.NotificationAddr = gateway.BackendDisabled
	gatewayCfg.NATSURL = s.nats.URL()
	for _, spec := range services() {
		addr, err := s.startService(ctx, spec, infra, spec.addr(opts))
		if err != nil {
			return nil, err
		}
		spec.toGateway(&gatewayCfg, dialable(addr))
	}
	if opts.Gateway != nil {
		opts.Gateway(&gatewayCfg)
	}
	if err := s.startGateway(ctx, gatewayCfg); err != nil {
		return nil, err
	}

	conns, err := s.dialServices()
	if err != nil {
		return nil, err
	}
	defer closeAll(conns)
	if err := s.waitReady(ctx, conns); err != nil {
		return nil, err
	}

	if opts.LoadDemo {
		loadCtx := ctx
		if _, ok := ctx.Deadline(); !ok {
			var cancel context.CancelFunc
			loadCtx, cancel = context.WithTimeout(ctx, demoTimeout)
			defer cancel()
		}
		if err := s.loadDemo(loadCtx, conns); err != nil {
			return nil, err
		}
	}
	s.releaseReady()
	s.logger.Info("devstack ready", "gateway", s.GatewayURL())
	return s, nil
}

// loadDemo loads the demo data through the services' APIs, as the demo
// loader (loader.go): the catalog, the Tos.Ca. twinning, its community,
// then the demo accounts.
func (s *Stack) loadDemo(ctx context.Context, conns map[string]*grpc.ClientConn) error {
	logger := s.logger.With("component", "demo")
	asAdmin, err := s.loader.context(ctx, nil)
	if err != nil {
		return err
	}
	client := catalogv1.NewCatalogServiceClient(conns["catalog"])
	// The practices are written with a fresh token on ctx, not one added
	// to the administrator's: a call carries one token.
	if err := demo.Load(asAdmin, client, logger, demo.AsEditorOf(func(_ context.Context, orgIDs []string) (context.Context, error) {
		return s.loader.context(ctx, orgIDs)
	})); err != nil {
		return fmt.Errorf("load demo data: %w", err)
	}
	orgIDs, err := organizationIDs(ctx, conns["catalog"])
	if err != nil {
		return err
	}
	asStaff, err := s.loader.context(ctx, orgIDs)
	if err != nil {
		return err
	}
	tw := twinningv1.NewTwinningServiceClient(conns["twinning"])
	if err := demo.LoadTwinnings(asStaff, tw, client, logger); err != nil {
		return fmt.Errorf("load demo twinnings: %w", err)
	}
	if err := demo.LoadSeekOffer(asStaff, client, logger); err != nil {
		return fmt.Errorf("load demo needs and offers: %w", err)
	}
	tosCa, err := tw.GetTwinning(asStaff, &twinningv1.GetTwinningRequest{Id: demo.TosCaCode})
	if err != nil {
		return fmt.Errorf("find the Tos.Ca. twinning: %w", err)
	}
	community := discussionv1.NewDiscussionServiceClient(conns["discussion"])
	discussionSvc := s.services["discussion"].(*discussion.Service)
	grant := discussionSvc.GrantRoles
	// The community's members write as themselves: ctx carries no token.
	if err := demo.LoadCommunity(ctx, community, grant, logger, demo.WithTosCaTwinning(tosCa.GetId(), 30*time.Second)); err != nil {
		return fmt.Errorf("load demo community: %w", err)
	}
	if err := demo.LoadAccounts(asAdmin, community, client, logger); err != nil {
		return fmt.Errorf("load demo accounts: %w", err)
	}
	// Their addresses are the devstack's own: no banner asks to confirm them.
	for _, email := range demo.Emails() {
		if err := discussionSvc.MarkEmailVerified(ctx, email); err != nil {
			return fmt.Errorf("mark the demo address %s verified: %w", email, err)
		}
	}
	return nil
}

// startService builds a service, binds its address and runs it.
func (s *Stack) startService(ctx context.Context, spec serviceSpec, infra infrastructure, addr string) (string, error) {
	svc, err := spec.build(ctx, infra, addr, s.logger.With("component", spec.name))
	if err != nil {
		return "", fmt.Errorf("start %s: %w", spec.name, err)
	}
	if err := svc.Listen(); err != nil {
		svc.Close()
		return "", fmt.Errorf("start %s: %w", spec.name, err)
	}
	bound := svc.Addr()
	s.addrs[spec.name] = bound
	s.services[spec.name] = svc
	s.launch(spec.name, svc.Run)
	return bound, nil
}

// startGateway builds the gateway, binds its address and runs it.
func (s *Stack) startGateway(ctx context.Context, cfg gateway.Config) error {
	gw, err := gateway.New(ctx, cfg, s.logger.With("component", "gateway"))
	if err != nil {
		return fmt.Errorf("start gateway: %w", err)
	}
	listen := gw.Listen
	if ln := s.gatewayListener; ln != nil {
		s.gatewayListener = nil // the gateway's now, closed with it
		listen = func() error { return gw.ListenOn(ln) }
	}
	if err := listen(); err != nil {
		return errors.Join(fmt.Errorf("start gateway: %w", err), gw.Close())
	}
	s.gatewayAddr = gw.Addr()
	// Not ready until the demo data is loaded (Start releases it).
	s.releaseReady = gw.HoldReadiness()
	s.launch("gateway", func(ctx context.Context) error {
		return errors.Join(gw.Run(ctx), gw.Close())
	})
	return nil
}

// launch runs fn in a goroutine until Stop cancels its context. If fn
// returns before that, the stack reports it on Wait.
func (s *Stack) launch(name string, fn func(context.Context) error) {
	// Not derived from Start's context: that one bounds the start-up only.
	ctx, cancel := context.WithCancel(context.Background())
	c := &component{name: name, cancel: cancel, done: make(chan struct{})}
	s.running = append(s.running, c)
	go func() {
		defer close(c.done)
		err := fn(ctx)
		if ctx.Err() != nil {
			c.stopErr = err
			return
		}
		if err == nil {
			err = errors.New("stopped on its own")
		}
		s.fail(fmt.Errorf("%s: %w", name, err))
	}()
}

// fail records the first unexpected stop.
func (s *Stack) fail(err error) {
	s.failOnce.Do(func() {
		s.logger.Error("component stopped unexpectedly", "err", err)
		s.failed <- err
		close(s.died)
	})
}

// dialServices opens one client connection per service.
func (s *Stack) dialServices() (map[string]*grpc.ClientConn, error) {
	conns := map[string]*grpc.ClientConn{}
	for _, spec := range services() {
		conn, err := grpcx.Dial(dialable(s.addrs[spec.name]), clientDeadline)
		if err != nil {
			closeAll(conns)
			return nil, fmt.Errorf("dial %s: %w", spec.name, err)
		}
		conns[spec.name] = conn
	}
	return conns, nil
}

func closeAll(conns map[string]*grpc.ClientConn) {
	for _, c := range conns {
		_ = c.Close()
	}
}

// waitReady polls each service until it answers, then the gateway.
func (s *Stack) waitReady(ctx context.Context, conns map[string]*grpc.ClientConn) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, readyTimeout)
		defer cancel()
	}
	for _, spec := range services() {
		conn := conns[spec.name]
		if err := s.poll(ctx, spec.name, func(ctx context.Context) error { return healthProbe(ctx, conn) }); err != nil {
			return err
		}
	}
	healthz := s.GatewayURL() + "/healthz"
	client := &http.Client{Timeout: probeTimeout}
	return s.poll(ctx, "gateway", func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, healthz, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s", healthz, resp.Status)
		}
		return nil
	})
}

// poll calls check until it succeeds, ctx ends, or a component dies.
func (s *Stack) poll(ctx context.Context, name string, check func(context.Context) error) error {
	tick := time.NewTicker(probeInterval)
	defer tick.Stop()
	for {
		attemptCtx, cancel := context.WithTimeout(ctx, probeTimeout)
		err := check(attemptCtx)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not answering: %w (last: %w)", name, ctx.Err(), err)
		case <-s.died:
			return <-s.failed
		case <-tick.C:
		}
	}
}

// Wait returns a channel that receives an error when a service or the
// gateway stops without being asked to; main exits non-zero then. The
// channel is closed when Stop has finished.
func (s *Stack) Wait() <-chan error { return s.failed }

// Stop stops the gateway, then the services in reverse start order, then
// FerretDB and NATS, and waits for every goroutine of the stack. It returns
// what went wrong while stopping; calling it again returns the same.
func (s *Stack) Stop() error {
	s.stopOnce.Do(func() {
		s.stopErr = s.shutdown()
		close(s.failed)
	})
	return s.stopErr
}

// shutdown stops whatever has been started, in reverse order.
func (s *Stack) shutdown() error {
	var errs []error
	if s.gatewayListener != nil { // reserved, and the gateway never started
		_ = s.gatewayListener.Close()
		s.gatewayListener = nil
	}
	for i := len(s.running) - 1; i >= 0; i-- {
		c := s.running[i]
		c.cancel()
		<-c.done
		if c.stopErr != nil {
			errs = append(errs, fmt.Errorf("stop %s: %w", c.name, c.stopErr))
		}
		s.logger.Info("stopped", "component", c.name)
	}
	s.running = nil
	if s.mailboxPage != nil {
		_ = s.mailboxPage.Close()
	}
	if s.mailbox != nil {
		_ = s.mailbox.Close()
		s.logger.Info("stopped", "component", "mailbox")
	}
	if s.ferret != nil {
		s.ferret.Stop()
		s.logger.Info("stopped", "component", "ferretdb")
	}
	if s.nats != nil {
		s.nats.Shutdown()
		s.logger.Info("stopped", "component", "nats")
	}
	return errors.Join(errs...)
}

// URLs says where everything listens.
func (s *Stack) URLs() URLs {
	return URLs{
		Gateway:    s.GatewayURL(),
		OpenAPI:    s.GatewayURL() + "/openapi.json",
		Catalog:    s.CatalogAddr(),
		Twinning:   dialable(s.addrs["twinning"]),
		Discussion: dialable(s.addrs["discussion"]),
		NATS:       s.NATSURL(),
		Mongo:      s.MongoURI(),

		Notification: dialable(s.addrs["notification"]),
		Mailbox:      "http://" + dialable(s.mailboxAddr) + "/",
		SMTP:         s.mailbox.URL(),
		MailDir:      s.mailbox.Dir(),
	}
}

// GatewayURL is the base URL of the REST gateway, e.g. http://127.0.0.1:8080.
func (s *Stack) GatewayURL() string { return "http://" + dialable(s.gatewayAddr) }

// CatalogAddr is the practice-catalog's gRPC address.
func (s *Stack) CatalogAddr() string { return dialable(s.addrs["catalog"]) }

// NATSURL is the embedded NATS server's client URL.
func (s *Stack) NATSURL() string { return s.nats.URL() }

// MongoURI is the embedded FerretDB's MongoDB URI.
func (s *Stack) MongoURI() string { return s.ferret.URI() }

// dialable turns a listen address into one a client can dial: a wildcard
// host (0.0.0.0, ::, empty) becomes the loopback address.
func dialable(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	ip := net.ParseIP(host)
	switch {
	case host == "", ip != nil && ip.IsUnspecified() && ip.To4() != nil:
		host = "127.0.0.1"
	case ip != nil && ip.IsUnspecified():
		host = "::1"
	}
	return net.JoinHostPort(host, port)
}

// atLeast passes on the records of level min and above only.
func atLeast(level slog.Level, l *slog.Logger) *slog.Logger {
	return slog.New(minLevel{Handler: l.Handler(), min: level})
}

// minLevel drops records below min.
type minLevel struct {
	slog.Handler
	min slog.Level
}

func (h minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (h minLevel) WithAttrs(attrs []slog.Attr) slog.Handler {
	return minLevel{Handler: h.Handler.WithAttrs(attrs), min: h.min}
}

func (h minLevel) WithGroup(name string) slog.Handler {
	return minLevel{Handler: h.Handler.WithGroup(name), min: h.min}
}

// startMailbox starts the SMTP receiver that keeps the devstack's e-mail
// under dir, and its page.
func (s *Stack) startMailbox(dir, smtpAddr, pageAddr string) error {
	box, err := mailbox.Start(dir, smtpAddr, s.logger.With("component", "mailbox"))
	if err != nil {
		return err
	}
	s.mailbox = box
	ln, err := net.Listen("tcp", pageAddr)
	if err != nil {
		return fmt.Errorf("mailbox page: listen on %s: %w", pageAddr, err)
	}
	s.mailboxAddr = ln.Addr().String()
	s.mailboxPage = &http.Server{Handler: box.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.mailboxPage.Serve(ln) }()
	s.logger.Info("started", "component", "mailbox", "smtp", box.URL(), "page", "http://"+dialable(s.mailboxAddr)+"/", "dir", dir)
	return nil
}

// Mailbox is the devstack's SMTP receiver, for tests.
func (s *Stack) Mailbox() *mailbox.Mailbox { return s.mailbox }

// unsubscribeKey derives the key of the e-mails' unsubscribe links from
// the signing key, so that links stay valid across restarts.
func unsubscribeKey(key ed25519.PrivateKey) string {
	sum := sha256.Sum256(append([]byte("gemella-unsubscribe\x00"), key.Seed()...))
	return hex.EncodeToString(sum[:])
}

// reservePort binds a host:0 address now and returns the port chosen with
// the listener that holds it (nil for an address with its port given).
// Picking a free port and binding it again later let another process take
// it in between: a CI run saw "address already in use" from the gateway
// while other test packages started servers.
func reservePort(addr string) (string, net.Listener, error) {
	if _, port, err := net.SplitHostPort(addr); err != nil || port != "0" {
		return addr, nil, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, fmt.Errorf("pick a port for %s: %w", addr, err)
	}
	return ln.Addr().String(), ln, nil
}

// UnsubscribeKey signs the unsubscribe links of the devstack's e-mail.
func (s *Stack) UnsubscribeKey() (string, error) {
	key, err := auth.LoadKeyFile(s.keyFile)
	if err != nil {
		return "", err
	}
	return unsubscribeKey(key), nil
}
