package config

import (
	"fmt"
	"strings"
)

// DocLockMode is how a service serialises the writes to one document
// (Mongo.DocLocks, MONGO_DOC_LOCKS): off, process or lease. The zero
// value is off.
type DocLockMode string

// The modes of Mongo.DocLocks.
const (
	// DocLocksOff takes no lock: MongoDB.
	DocLocksOff DocLockMode = "off"
	// DocLocksProcess locks in memory only: a store whose every writer
	// runs in this process.
	DocLocksProcess DocLockMode = "process"
	// DocLocksLease locks in memory and with a lease document in the
	// store: a store shared by several processes.
	DocLocksLease DocLockMode = "lease"
)

// UnmarshalText reads a mode; false and true, the values of the boolean
// this used to be, mean off and lease.
func (m *DocLockMode) UnmarshalText(text []byte) error {
	switch v := strings.ToLower(strings.TrimSpace(string(text))); v {
	case "", "off", "false":
		*m = DocLocksOff
	case "process":
		*m = DocLocksProcess
	case "lease", "true":
		*m = DocLocksLease
	default:
		return fmt.Errorf("MONGO_DOC_LOCKS: %q is not one of off, process, lease (false and true mean off and lease)", string(text))
	}
	return nil
}

// MarshalText writes the mode's name.
func (m DocLockMode) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// On reports whether writes are locked (process or lease).
func (m DocLockMode) On() bool { return m == DocLocksProcess || m == DocLocksLease }

// Leases reports whether the locks write lease documents (lease).
func (m DocLockMode) Leases() bool { return m == DocLocksLease }

func (m DocLockMode) valid() bool { return m == "" || m == DocLocksOff || m.On() }

// String is the mode's name; off for the zero value.
func (m DocLockMode) String() string {
	if m == "" {
		return string(DocLocksOff)
	}
	return string(m)
}
