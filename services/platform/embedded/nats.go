// Package embedded runs the infrastructure Gemella needs inside the current
// process: a NATS server with JetStream and a MongoDB-compatible FerretDB. It
// exists for the dev launcher and for integration tests; production talks to
// real clusters (see deploy/).
package embedded

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// natsReadyTimeout bounds how long StartNATS waits for the server to accept
// clients; an in-process server that is not ready by then never will be.
const natsReadyTimeout = 10 * time.Second

// NATSOptions configures an embedded NATS server.
type NATSOptions struct {
	// Host to listen on; default 127.0.0.1.
	Host string
	// Port to listen on; 0 picks a free port. The chosen port is kept, so
	// Restart comes back on the same address.
	Port int
	// StoreDir holds the JetStream file store; required. Restarting on the
	// same directory recovers streams, consumers and the duplicate window.
	StoreDir string
	// Logger receives the server's own log lines; nil keeps the server quiet.
	Logger *slog.Logger
	// Name identifies the server, in a cluster and in JetStream's placement
	// (consumer and stream leaders are reported by it); default
	// "gemella-embedded". Members of one cluster need distinct names.
	Name string
	// ClusterName, when set, makes the server a member of that NATS cluster:
	// it listens for routes on ClusterPort and connects to Routes, and
	// JetStream replicates streams across the members.
	ClusterName string
	// ClusterPort is the route port; 0 picks a free one. Kept across Restart.
	ClusterPort int
	// Routes are the other members' route URLs, nats-route://host:port.
	Routes []string
}

// NATS is an in-process nats-server with JetStream. It is safe for concurrent
// use; Shutdown and Restart may be called from any goroutine.
type NATS struct {
	opts NATSOptions

	mu  sync.Mutex
	srv *server.Server // nil while shut down
}

// StartNATS starts a NATS server with JetStream on file storage and waits
// until it accepts clients.
func StartNATS(opts NATSOptions) (*NATS, error) {
	if opts.StoreDir == "" {
		return nil, errors.New("start nats: StoreDir is required")
	}
	if opts.Port < 0 {
		return nil, fmt.Errorf("start nats: port %d is negative", opts.Port)
	}
	if opts.Host == "" {
		opts.Host = "127.0.0.1"
	}
	if opts.Name == "" {
		opts.Name = "gemella-embedded"
	}
	if opts.ClusterName == "" && (opts.ClusterPort != 0 || len(opts.Routes) > 0) {
		return nil, errors.New("start nats: ClusterPort and Routes need a ClusterName")
	}
	if opts.ClusterPort < 0 {
		return nil, fmt.Errorf("start nats: cluster port %d is negative", opts.ClusterPort)
	}
	n := &NATS{opts: opts}
	if err := n.start(); err != nil {
		return nil, err
	}
	return n, nil
}

// start launches the server; n.mu must be held or n not yet shared.
func (n *NATS) start() error {
	port := n.opts.Port
	if port == 0 {
		port = server.RANDOM_PORT
	}
	sopts := &server.Options{
		ServerName: n.opts.Name,
		Host:       n.opts.Host,
		Port:       port,
		JetStream:  true,
		StoreDir:   n.opts.StoreDir,
		// The embedding process owns signal handling.
		NoSigs: true,
		NoLog:  n.opts.Logger == nil,
	}
	if n.opts.ClusterName != "" {
		clusterPort := n.opts.ClusterPort
		if clusterPort == 0 {
			clusterPort = server.RANDOM_PORT
		}
		sopts.Cluster = server.ClusterOpts{Name: n.opts.ClusterName, Host: n.opts.Host, Port: clusterPort}
		for _, r := range n.opts.Routes {
			u, err := url.Parse(r)
			if err != nil {
				return fmt.Errorf("start nats %s: route %q: %w", n.opts.Name, r, err)
			}
			sopts.Routes = append(sopts.Routes, u)
		}
	}
	srv, err := server.NewServer(sopts)
	if err != nil {
		return fmt.Errorf("start nats %s: %w", n.opts.Name, err)
	}
	if n.opts.Logger != nil {
		debug := n.opts.Logger.Enabled(context.Background(), slog.LevelDebug)
		srv.SetLoggerV2(natsLogger{n.opts.Logger}, debug, false, false)
	}
	srv.Start()
	if !srv.ReadyForConnections(natsReadyTimeout) {
		srv.Shutdown()
		srv.WaitForShutdown()
		where := net.JoinHostPort(n.opts.Host, strconv.Itoa(n.opts.Port))
		if n.opts.ClusterName != "" {
			where += fmt.Sprintf(" (routes on port %d)", n.opts.ClusterPort)
		}
		return fmt.Errorf("start nats %s on %s: not ready after %s (a port taken?)", n.opts.Name, where, natsReadyTimeout)
	}
	addr, ok := srv.Addr().(*net.TCPAddr)
	if !ok {
		srv.Shutdown()
		srv.WaitForShutdown()
		return fmt.Errorf("start nats: unexpected listener address %v", srv.Addr())
	}
	n.opts.Port = addr.Port
	if n.opts.ClusterName != "" {
		if a := srv.ClusterAddr(); a != nil {
			n.opts.ClusterPort = a.Port
		}
	}
	n.srv = srv
	return nil
}

// Name is the server's name, as JetStream reports stream and consumer
// leaders.
func (n *NATS) Name() string { return n.opts.Name }

// Running reports whether the server is up (not shut down).
func (n *NATS) Running() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.srv != nil
}

// jetStreamState reports whether the server runs, leads JetStream's meta
// group, and has a current view of it.
func (n *NATS) jetStreamState() (running, leader, current bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.srv == nil {
		return false, false, false
	}
	return true, n.srv.JetStreamIsLeader(), n.srv.JetStreamIsCurrent()
}

// URL is the client URL, e.g. nats://127.0.0.1:4222. It stays valid across
// Restart.
func (n *NATS) URL() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return "nats://" + net.JoinHostPort(n.opts.Host, strconv.Itoa(n.opts.Port))
}

// Port is the TCP port the server listens on.
func (n *NATS) Port() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.opts.Port
}

// Shutdown stops the server and waits until it is down. Calling it on a
// stopped server does nothing.
func (n *NATS) Shutdown() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.shutdownLocked()
}

func (n *NATS) shutdownLocked() {
	if n.srv == nil {
		return
	}
	n.srv.Shutdown()
	n.srv.WaitForShutdown()
	n.srv = nil
}

// Restart stops the server if it runs and starts it again on the same port
// and store directory, so connected clients reconnect to the same URL and
// find their streams again.
func (n *NATS) Restart() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.shutdownLocked()
	return n.start()
}

// natsLogger forwards nats-server's printf-style logging to slog.
type natsLogger struct{ l *slog.Logger }

func (a natsLogger) Noticef(format string, v ...any) { a.l.Info(fmt.Sprintf(format, v...)) }
func (a natsLogger) Warnf(format string, v ...any)   { a.l.Warn(fmt.Sprintf(format, v...)) }
func (a natsLogger) Fatalf(format string, v ...any)  { a.l.Error(fmt.Sprintf(format, v...)) }
func (a natsLogger) Errorf(format string, v ...any)  { a.l.Error(fmt.Sprintf(format, v...)) }
func (a natsLogger) Debugf(format string, v ...any)  { a.l.Debug(fmt.Sprintf(format, v...)) }
func (a natsLogger) Tracef(format string, v ...any)  { a.l.Debug(fmt.Sprintf(format, v...)) }
