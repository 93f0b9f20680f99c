package embedded

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"testing"
	"time"
)

// RestartableFerretDB is an embedded FerretDB that can be stopped and
// started again on the same address and the same files: what a test needs
// to see how a service behaves while its store is away, and after it is
// back. It is safe for concurrent use.
type RestartableFerretDB struct {
	opts FerretDBOptions

	mu  sync.Mutex
	db  *FerretDB // nil while stopped
	uri string
}

// StartRestartableFerretDB starts FerretDB as StartFerretDB does and
// remembers the address it got, so that Start comes back on it.
func StartRestartableFerretDB(ctx context.Context, opts FerretDBOptions) (*RestartableFerretDB, error) {
	db, err := StartFerretDB(ctx, opts)
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(db.URI())
	if err != nil || u.Host == "" {
		db.Stop()
		return nil, fmt.Errorf("start ferretdb: cannot read the address of %q: %v", db.URI(), err)
	}
	opts.Addr = u.Host
	return &RestartableFerretDB{opts: opts, db: db, uri: db.URI()}, nil
}

// URI is the MongoDB connection string; it stays the same across Stop and
// Start.
func (r *RestartableFerretDB) URI() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.uri
}

// Stop shuts FerretDB down and waits until it no longer listens. Stopping
// a stopped server does nothing.
func (r *RestartableFerretDB) Stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.db != nil {
		r.db.Stop()
		r.db = nil
	}
}

// Start starts a stopped FerretDB again on its address and files; on a
// running one it does nothing. ctx bounds the start-up.
func (r *RestartableFerretDB) Start(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.db != nil {
		return nil
	}
	db, err := StartFerretDB(ctx, r.opts)
	if err != nil {
		return err
	}
	if db.URI() != r.uri {
		db.Stop()
		return errors.New("restart ferretdb: came back on " + db.URI() + ", not " + r.uri)
	}
	r.db = db
	return nil
}

// RestartableFerretDBForTest is FerretDBForTest for a test that stops and
// starts the store; it is stopped when the test ends.
func RestartableFerretDBForTest(t testing.TB) *RestartableFerretDB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := StartRestartableFerretDB(ctx, FerretDBOptions{Dir: t.TempDir()})
	if err != nil {
		t.Fatalf("embedded ferretdb: %v", err)
	}
	t.Cleanup(r.Stop)
	return r
}
