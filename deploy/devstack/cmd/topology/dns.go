package main

import (
	"net"
	"strings"
	"sync"

	"golang.org/x/net/dns/dnsmessage"
)

// dnsServer answers A queries for the topology's service names with the
// addresses of their replicas, as the cluster DNS answers for a Kubernetes
// headless Service: the services and gateways dial
// dns://<this server>/<name>:<port> and spread their calls over the
// replicas (gRPC's round robin), reconnecting to a killed one when it
// returns. Every other query is answered NXDOMAIN.
type dnsServer struct {
	conn  *net.UDPConn
	mu    sync.Mutex
	hosts map[string][]net.IP // "catalog.topo." → replicas
	wg    sync.WaitGroup
}

func startDNS(hosts map[string][]net.IP) (*dnsServer, error) {
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	s := &dnsServer{conn: conn, hosts: map[string][]net.IP{}}
	for name, ips := range hosts {
		s.hosts[strings.ToLower(strings.TrimSuffix(name, "."))+"."] = ips
	}
	s.wg.Add(1)
	go s.serve()
	return s, nil
}

// Addr is host:port of the server, the authority of a dns:// target.
func (s *dnsServer) Addr() string { return s.conn.LocalAddr().String() }

func (s *dnsServer) Close() {
	_ = s.conn.Close()
	s.wg.Wait()
}

func (s *dnsServer) serve() {
	defer s.wg.Done()
	buf := make([]byte, 1500)
	for {
		n, from, err := s.conn.ReadFromUDP(buf)
		if err != nil {
			return
		}
		if out := s.answer(buf[:n]); out != nil {
			_, _ = s.conn.WriteToUDP(out, from)
		}
	}
}

func (s *dnsServer) answer(query []byte) []byte {
	var p dnsmessage.Parser
	h, err := p.Start(query)
	if err != nil {
		return nil
	}
	q, err := p.Question()
	if err != nil {
		return nil
	}
	s.mu.Lock()
	ips, known := s.hosts[strings.ToLower(q.Name.String())]
	s.mu.Unlock()
	rh := dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true, RecursionDesired: h.RecursionDesired}
	if !known {
		rh.RCode = dnsmessage.RCodeNameError
	}
	b := dnsmessage.NewBuilder(nil, rh)
	b.EnableCompression()
	if err := b.StartQuestions(); err != nil {
		return nil
	}
	if err := b.Question(q); err != nil {
		return nil
	}
	if err := b.StartAnswers(); err != nil {
		return nil
	}
	if known && q.Type == dnsmessage.TypeA {
		for _, ip := range ips {
			var a [4]byte
			copy(a[:], ip.To4())
			if err := b.AResource(dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 0}, dnsmessage.AResource{A: a}); err != nil {
				return nil
			}
		}
	}
	out, err := b.Finish()
	if err != nil {
		return nil
	}
	return out
}
