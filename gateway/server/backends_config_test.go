package server

import "testing"

// Any backend may be left out, the catalog too; a bad address is still refused.
func TestEveryBackendCanBeLeftOut(t *testing.T) {
	cfg := DefaultConfig()
	cfg.CatalogAddr, cfg.TwinningAddr, cfg.DiscussionAddr, cfg.NotificationAddr = BackendDisabled, BackendDisabled, BackendDisabled, BackendDisabled
	if err := cfg.Validate(); err != nil {
		t.Fatalf("all backends left out: %v", err)
	}
	cfg.CatalogAddr = "no-port"
	if err := cfg.Validate(); err == nil {
		t.Fatal("a malformed catalog address was accepted")
	}
}

// A backend behind a headless Service is dialled as dns:///name:port.
func TestBackendsTakeDNSTargets(t *testing.T) {
	cfg := DefaultConfig()
	cfg.CatalogAddr = "dns:///practice-catalog-headless.gemella.svc.cluster.local:9091"
	if err := cfg.Validate(); err != nil {
		t.Fatalf("dns target refused: %v", err)
	}
	cfg.CatalogAddr = "dns:///practice-catalog-headless"
	if err := cfg.Validate(); err == nil {
		t.Fatal("a dns target without a port was accepted")
	}
}
