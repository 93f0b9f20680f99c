package embedded

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// natsClusterReadyTimeout bounds how long StartNATSCluster waits for
// JetStream to elect its meta leader; raft elections take seconds.
const natsClusterReadyTimeout = 30 * time.Second

// NATSClusterOptions configures a NATS cluster of in-process servers.
type NATSClusterOptions struct {
	// Size is the number of servers; default 3.
	Size int
	// StoreDir holds one JetStream file store per server (StoreDir/<name>);
	// required.
	StoreDir string
	// Name of the cluster; default "gemella". The servers are named
	// <name>-1 … <name>-<size>.
	Name string
	// Logger receives the servers' log lines; nil keeps them quiet.
	Logger *slog.Logger
}

// NATSCluster is a full mesh of in-process NATS servers on loopback with
// clustered JetStream, for tests of what a NATS node failure does. Each
// member can be shut down and restarted on its ports and store.
type NATSCluster struct {
	members []*NATS
}

// StartNATSCluster starts opts.Size servers routed to each other and waits
// until JetStream has a meta leader that every member follows.
func StartNATSCluster(opts NATSClusterOptions) (*NATSCluster, error) {
	if opts.StoreDir == "" {
		return nil, errors.New("start nats cluster: StoreDir is required")
	}
	if opts.Size == 0 {
		opts.Size = 3
	}
	if opts.Size < 1 {
		return nil, fmt.Errorf("start nats cluster: size %d must be at least 1", opts.Size)
	}
	if opts.Name == "" {
		opts.Name = "gemella"
	}
	// A route port reserved by startNATSCluster may be taken by another
	// process before its server listens on it; the cluster then starts
	// again on other ports.
	var c *NATSCluster
	err := errPortTaken
	for attempt := 0; attempt < clusterStartAttempts && errors.Is(err, errPortTaken); attempt++ {
		c, err = startNATSCluster(opts, attempt)
	}
	if err != nil {
		return nil, fmt.Errorf("start nats cluster: %w", err)
	}
	if err := c.WaitJetStream(natsClusterReadyTimeout); err != nil {
		c.Shutdown()
		return nil, fmt.Errorf("start nats cluster: %w", err)
	}
	return c, nil
}

// errPortTaken marks a member that did not start, most likely because its
// reserved route port was taken meanwhile.
var errPortTaken = errors.New("member did not start")

// clusterStartAttempts is how many sets of route ports StartNATSCluster
// tries.
const clusterStartAttempts = 3

// startNATSCluster starts the members; attempt numbers their stores, so that
// a new attempt does not find the state of a failed one.
func startNATSCluster(opts NATSClusterOptions, attempt int) (*NATSCluster, error) {
	// Every member needs every other's route port in its configuration, so
	// the route ports are reserved before any server starts.
	ports, err := freePorts("127.0.0.1", opts.Size)
	if err != nil {
		return nil, err
	}
	c := &NATSCluster{}
	for i := range opts.Size {
		var routes []string
		for j, p := range ports {
			if j != i {
				routes = append(routes, "nats-route://"+net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
			}
		}
		name := opts.Name + "-" + strconv.Itoa(i+1)
		logger := opts.Logger
		if logger != nil {
			logger = logger.With(slog.String("nats_server", name))
		}
		store := filepath.Join(opts.StoreDir, name)
		if attempt > 0 {
			store += "-attempt-" + strconv.Itoa(attempt+1)
		}
		n, err := StartNATS(NATSOptions{
			Name:        name,
			StoreDir:    store,
			ClusterName: opts.Name,
			ClusterPort: ports[i],
			Routes:      routes,
			Logger:      logger,
		})
		if err != nil {
			c.Shutdown()
			return nil, fmt.Errorf("%w: %w", errPortTaken, err)
		}
		c.members = append(c.members, n)
	}
	return c, nil
}

// freePorts reserves n distinct free TCP ports on host. Another process may
// take one between this and the server's listen; that start then fails.
func freePorts(host string, n int) ([]int, error) {
	var ports []int
	var listeners []net.Listener
	defer func() {
		for _, l := range listeners {
			_ = l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
		if err != nil {
			return nil, fmt.Errorf("reserve a port: %w", err)
		}
		listeners = append(listeners, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// WaitJetStream waits until one running member leads JetStream's meta group
// and every running member is current with it, or timeout passes.
func (c *NATSCluster) WaitJetStream(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		var running, leaders, current int
		for _, m := range c.members {
			up, leader, cur := m.jetStreamState()
			if !up {
				continue
			}
			running++
			if leader {
				leaders++
			}
			if cur {
				current++
			}
		}
		if running > 0 && leaders == 1 && current == running {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("jetstream not ready after %s: %d of %d members running, %d meta leaders, %d current",
				timeout, running, len(c.members), leaders, current)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Members are the servers, in start order.
func (c *NATSCluster) Members() []*NATS { return c.members }

// Member is the server called name, as JetStream reports leaders, or nil.
func (c *NATSCluster) Member(name string) *NATS {
	for _, m := range c.members {
		if m.Name() == name {
			return m
		}
	}
	return nil
}

// URLs lists every member's client URL, comma-separated, as nats.Connect
// takes them.
func (c *NATSCluster) URLs() string {
	urls := make([]string, len(c.members))
	for i, m := range c.members {
		urls[i] = m.URL()
	}
	return strings.Join(urls, ",")
}

// Shutdown stops every member.
func (c *NATSCluster) Shutdown() {
	for _, m := range c.members {
		m.Shutdown()
	}
}
