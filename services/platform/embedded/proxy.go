package embedded

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
)

// TCPProxy forwards TCP connections from a loopback port to a target
// address until it is told to blackhole them: then nothing passes any more
// in either direction, but the connections stay open, as they do to a host
// that died or sits behind a network partition. Tests use it to check what
// clients do with a half-open connection.
type TCPProxy struct {
	listener net.Listener
	target   string

	mu         sync.Mutex
	blackholed bool
	closed     bool
	conns      map[net.Conn]bool // both sides of every connection: true for those to the target
	wg         sync.WaitGroup
}

// StartTCPProxy listens on a free loopback port and forwards to target.
func StartTCPProxy(target string) (*TCPProxy, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("start tcp proxy to %s: %w", target, err)
	}
	p := &TCPProxy{listener: l, target: target, conns: map[net.Conn]bool{}}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Addr is the proxy's host:port.
func (p *TCPProxy) Addr() string { return p.listener.Addr().String() }

// Blackhole stops all forwarding, for good: the connections to the target
// are dropped, those of the clients are kept open and silent, and new ones
// are accepted and never answered.
func (p *TCPProxy) Blackhole() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.blackholed = true
	for c, toTarget := range p.conns {
		if toTarget {
			_ = c.Close()
			delete(p.conns, c)
		}
	}
}

// Close stops the proxy and closes every connection.
func (p *TCPProxy) Close() {
	p.mu.Lock()
	p.closed = true
	for c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
	_ = p.listener.Close()
	p.wg.Wait()
}

func (p *TCPProxy) accept() {
	defer p.wg.Done()
	for {
		client, err := p.listener.Accept()
		if err != nil {
			return
		}
		if !p.track(client, false) {
			_ = client.Close()
			return
		}
		p.wg.Add(1)
		go p.serve(client)
	}
}

// track registers c unless the proxy is closed, or blackholed for a
// connection to the target.
func (p *TCPProxy) track(c net.Conn, toTarget bool) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || toTarget && p.blackholed {
		return false
	}
	p.conns[c] = toTarget
	return true
}

func (p *TCPProxy) isBlackholed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.blackholed
}

func (p *TCPProxy) serve(client net.Conn) {
	defer p.wg.Done()
	upstream, err := net.Dial("tcp", p.target)
	if err == nil && !p.track(upstream, true) {
		_ = upstream.Close()
		err = errors.New("blackholed")
	}
	if err != nil {
		if p.isBlackholed() {
			// Keep the client's side open and swallow what it sends.
			_, _ = io.Copy(io.Discard, client)
		}
		_ = client.Close()
		return
	}
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		_, _ = io.Copy(upstream, client)
		_ = upstream.Close()
	}()
	_, _ = io.Copy(client, upstream)
	if p.isBlackholed() {
		<-sent
		_, _ = io.Copy(io.Discard, client)
	}
	_ = client.Close()
	<-sent
}
