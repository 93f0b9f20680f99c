package search

import (
	"time"

	"github.com/gemella/gemella/services/platform/config"
)

// Config configures a service's index (<SERVICE>_SEARCH_*).
type Config struct {
	// Dir holds this replica's index. Empty keeps it in memory, rebuilt
	// from the database at every start. The devstack passes a folder of
	// its data.
	Dir string `env:"DIR"`
	// ReconcileInterval is how often the index is compared with the
	// database and what differs is repaired; 0 never.
	ReconcileInterval time.Duration `env:"RECONCILE_INTERVAL" envDefault:"10m"`
}

// Validate reports every problem at once; prefix names the variables.
func (c Config) Validate(prefix string) error {
	var p config.Problems
	if c.ReconcileInterval < 0 {
		p.Addf("%sRECONCILE_INTERVAL: must not be negative, got %s", prefix, c.ReconcileInterval)
	}
	return p.Err()
}
