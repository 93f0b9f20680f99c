package main

import "testing"

// A port is handed out once per run, even when the kernel offers it again.
func TestPortSetHandsAPortOutOnce(t *testing.T) {
	s := portSet{ports: map[int]bool{}}
	if !s.reserve(42235) {
		t.Fatal("a new port was refused")
	}
	if s.reserve(42235) {
		t.Fatal("the same port was handed out twice")
	}
	if !s.reserve(42236) {
		t.Fatal("another port was refused")
	}
}

// freePort never gives one port twice in a run.
func TestFreePortsAreDistinct(t *testing.T) {
	seen := map[int]bool{}
	for range 200 {
		p, err := freePort("127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		if seen[p] {
			t.Fatalf("port %d handed out twice", p)
		}
		seen[p] = true
	}
}
