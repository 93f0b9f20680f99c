package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// proc is one child process of the topology: a NATS server, the store, a
// service replica or a gateway. It runs in its own process group, so that
// a kill reaches whatever it started, and dies with the topology program
// (Pdeathsig) even if that is killed itself.
type proc struct {
	name string
	bin  string
	args []string
	env  []string
	log  string // file receiving stdout and stderr
	// addr is where it listens (the readiness check dials it).
	addr string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// start launches the process; it does not wait for it to listen.
func (p *proc) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		return fmt.Errorf("%s: already running", p.name)
	}
	f, err := os.OpenFile(p.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	fmt.Fprintf(f, "\n=== %s start %s\n", time.Now().UTC().Format(time.RFC3339Nano), p.name)
	cmd := exec.Command(p.bin, p.args...)
	cmd.Env = append(os.Environ(), p.env...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		_ = f.Close()
		return fmt.Errorf("%s: %w", p.name, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		_ = f.Close()
		close(done)
	}()
	p.cmd, p.done = cmd, done
	return nil
}

// running reports whether the process has been started and not reaped.
func (p *proc) running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return false
	}
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// signal sends sig to the process group.
func (p *proc) signal(sig syscall.Signal) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || p.cmd.Process == nil {
		return fmt.Errorf("%s: not running", p.name)
	}
	return syscall.Kill(-p.cmd.Process.Pid, sig)
}

// kill sends SIGKILL to the process group and waits until it is reaped.
func (p *proc) kill() {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGCONT)
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
	}
	p.mu.Lock()
	p.cmd = nil
	p.mu.Unlock()
}

// waitListening waits until p.addr accepts TCP connections, failing early
// when the process exits.
func (p *proc) waitListening(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	p.mu.Lock()
	done := p.done
	p.mu.Unlock()
	for {
		c, err := net.DialTimeout("tcp", p.addr, 200*time.Millisecond)
		if err == nil {
			_ = c.Close()
			return nil
		}
		select {
		case <-done:
			return fmt.Errorf("%s exited before listening on %s (see %s)", p.name, p.addr, p.log)
		case <-ctx.Done():
			return fmt.Errorf("%s not listening on %s after %s (see %s)", p.name, p.addr, timeout, p.log)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// procs are every child, killed together at the end.
type procs struct {
	mu   sync.Mutex
	list []*proc
}

func (ps *procs) add(p *proc) *proc {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	ps.list = append(ps.list, p)
	return p
}

func (ps *procs) killAll() {
	ps.mu.Lock()
	list := append([]*proc(nil), ps.list...)
	ps.mu.Unlock()
	var wg sync.WaitGroup
	for _, p := range list {
		wg.Add(1)
		go func() { defer wg.Done(); p.kill() }()
	}
	wg.Wait()
}

// freePort reserves a free TCP port on host and releases it. The kernel
// may hand a released port out again at once, so a port freePort gave
// before in this run is never given again: a NATS server once got the
// same port for its clients and its routes, failed to bind the second,
// and the cluster ran with two nodes (CI, 2026-12-03).
func freePort(host string) (int, error) {
	for attempt := 0; attempt < 100; attempt++ {
		l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
		if err != nil {
			return 0, err
		}
		port := l.Addr().(*net.TCPAddr).Port
		if err := l.Close(); err != nil {
			return 0, err
		}
		if handedOut.reserve(port) {
			return port, nil
		}
	}
	return 0, errors.New("no free port that this run has not handed out already")
}

// handedOut are the ports freePort gave in this run.
var handedOut = portSet{ports: map[int]bool{}}

type portSet struct {
	mu    sync.Mutex
	ports map[int]bool
}

// reserve reports whether port was not handed out yet, and marks it.
func (s *portSet) reserve(port int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ports[port] {
		return false
	}
	s.ports[port] = true
	return true
}

// freePortOn finds one port free on every host: the replicas of a service
// listen on the same port at different loopback addresses, as pods behind
// a headless Service do at different pod addresses.
func freePortOn(hosts ...string) (int, error) {
	for attempt := 0; attempt < 50; attempt++ {
		port, err := freePort(hosts[0])
		if err != nil {
			return 0, err
		}
		ok := true
		for _, h := range hosts[1:] {
			l, err := net.Listen("tcp", net.JoinHostPort(h, strconv.Itoa(port)))
			if err != nil {
				ok = false
				break
			}
			_ = l.Close()
		}
		if ok {
			return port, nil
		}
	}
	return 0, errors.New("no port free on every replica address")
}

// buildBinaries builds the services' and the gateway's commands into dir.
func buildBinaries(ctx context.Context, root, dir string) (map[string]string, error) {
	pkgs := map[string]string{
		"practice-catalog": "./services/practice-catalog/cmd/practice-catalog",
		"twinning":         "./services/twinning/cmd/twinning",
		"discussion":       "./services/discussion/cmd/discussion",
		"notification":     "./services/notification/cmd/notification",
		"gateway":          "./gateway/cmd/gateway",
	}
	bins := map[string]string{}
	args := []string{"build", "-o", dir + string(os.PathSeparator)}
	for name, pkg := range pkgs {
		args = append(args, pkg)
		bins[name] = filepath.Join(dir, name)
	}
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("go build: %w", err)
	}
	return bins, nil
}
