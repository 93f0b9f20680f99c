package embedded

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
)

// defaultStartTimeout bounds start-up when the caller's context has no
// deadline of its own.
const defaultStartTimeout = 30 * time.Second

// FerretDBOptions configures an embedded FerretDB.
type FerretDBOptions struct {
	// Dir holds the SQLite databases, one file per database; required.
	// It is created if missing.
	Dir string
	// Addr is the TCP address to listen on; default 127.0.0.1:0 (a free port).
	Addr string
	// Logger receives FerretDB's log lines; nil silences them (FerretDB logs
	// every connection at info level).
	Logger *slog.Logger
}

// FerretDB is an in-process FerretDB v1 on SQLite speaking the MongoDB wire
// protocol. Use it for trying and testing, not for load: see
// ARCHITECTURE.md, "Storage".
type FerretDB struct {
	uri    string
	dir    string
	cancel context.CancelFunc
	done   chan struct{}
	// indexing is closed when keepIDLookups has returned.
	indexing chan struct{}
}

// StartFerretDB starts FerretDB and returns once it accepts TCP connections.
// ctx bounds the start-up only; the server runs until Stop.
func StartFerretDB(ctx context.Context, opts FerretDBOptions) (*FerretDB, error) {
	if opts.Dir == "" {
		return nil, errors.New("start ferretdb: Dir is required")
	}
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("start ferretdb: resolve %s: %w", opts.Dir, err)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("start ferretdb: create %s: %w", dir, err)
	}

	f, err := ferretdb.New(&ferretdb.Config{
		Listener: ferretdb.ListenerConfig{TCP: opts.Addr},
		Logger:   logger,
		Handler:  "sqlite",
		// FerretDB treats the URL as a directory only with the trailing slash.
		SQLiteURL: "file:" + dir + "/",
	})
	if err != nil {
		return nil, fmt.Errorf("start ferretdb on %s: %w", opts.Addr, err)
	}

	runCtx, cancel := context.WithCancel(context.Background())
	db := &FerretDB{dir: dir, cancel: cancel, done: make(chan struct{}), indexing: make(chan struct{})}
	go func() {
		defer close(db.done)
		if err := f.Run(runCtx); err != nil {
			logger.Error("ferretdb stopped", slog.Any("error", err))
		}
	}()

	if _, hasDeadline := ctx.Deadline(); !hasDeadline {
		var cancelStart context.CancelFunc
		ctx, cancelStart = context.WithTimeout(ctx, defaultStartTimeout)
		defer cancelStart()
	}
	db.uri, err = waitForFerretDB(ctx, f)
	if err != nil {
		close(db.indexing)
		db.Stop()
		return nil, fmt.Errorf("start ferretdb on %s: %w", opts.Addr, err)
	}
	// Lookups by _id use an index only with the one keepIDLookups adds
	// (see idlookup.go).
	warn := opts.Logger
	if warn == nil {
		warn = slog.Default()
	}
	go func() {
		defer close(db.indexing)
		keepIDLookups(runCtx, dir, warn)
	}()
	return db, nil
}

// waitForFerretDB polls until the listener has its real address and accepts
// a TCP connection.
func waitForFerretDB(ctx context.Context, f *ferretdb.FerretDB) (string, error) {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var lastErr error
	for {
		uri := f.MongoDBURI()
		u, err := url.Parse(uri)
		switch {
		case err != nil:
			lastErr = fmt.Errorf("parse uri %q: %w", uri, err)
		case u.Port() == "" || u.Port() == "0":
			lastErr = fmt.Errorf("listener has no port yet (%q)", uri)
		default:
			var d net.Dialer
			conn, err := d.DialContext(ctx, "tcp", u.Host)
			if err == nil {
				_ = conn.Close()
				return uri, nil
			}
			lastErr = err
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("not accepting connections: %w (last: %w)", ctx.Err(), lastErr)
		case <-tick.C:
		}
	}
}

// URI is the MongoDB connection string, e.g. mongodb://127.0.0.1:40123/.
func (f *FerretDB) URI() string { return f.uri }

// IndexLookups gives the collections made so far the index that lookups
// by _id need (see idlookup.go) now, rather than within the second that
// FerretDB's own check takes; it returns how many it added. For a caller
// that measures or loads a collection right after making it.
func (f *FerretDB) IndexLookups(ctx context.Context) (int, error) {
	return ensureIDLookups(ctx, f.dir)
}

// Stop shuts FerretDB down and waits until its listener and backend are
// closed. Calling it twice is harmless.
func (f *FerretDB) Stop() {
	f.cancel()
	<-f.done
	<-f.indexing
}
