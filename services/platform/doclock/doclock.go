// Package doclock serialises the writes to one document, across every
// process that writes the same database, on a store whose updates are not
// atomic.
//
// # Why
//
// The embedded FerretDB v1 (SQLite backend) applies an update by reading
// the matching documents, changing them in Go and writing each back with
// "UPDATE … WHERE _id = ?", and a delete by reading the matches and then
// "DELETE … WHERE _id IN (…)" (internal/handler/msg_update.go,
// msg_delete.go and backends/sqlite/collection.go of FerretDB v1.24): the
// filter is checked on the read, not in the write. So two "update if the
// version is still v" calls can both succeed, each writing a document
// computed from the same read, and one write is lost; the same holds for
// any two writers of one document (an aggregate write and the outbox
// relay's clear), and a conditional delete can delete what replaced the
// document it read. Two service replicas on one FerretDB both answered 200
// to two PATCHes with the same etag. MongoDB applies each single-document
// write atomically with its filter and needs none of this.
//
// # The guard
//
// Locks made by New (the lease mode) hold a lease while Acquire holds
// them: one document per locked document in the database's doc_locks
// collection,
//
//	{_id: <random token>, key: "<collection>/<id>", holder, expires_at}
//
// under a unique index on key. Acquire inserts it; a duplicate-key error
// means another writer holds the key, and Acquire waits and tries again.
// Release deletes the lease by its token. A lease whose expires_at has
// passed (its holder crashed, or lost the store, before releasing) is
// deleted by its token by whoever finds it, and the key is then taken by
// insert as usual.
//
// Why this holds on FerretDB v1 although its updates and deletes do not:
//
//   - An insert is one SQLite INSERT inside a transaction, and the unique
//     index (CREATE UNIQUE INDEX on the key field) is checked by SQLite in
//     that statement, under SQLite's single-writer lock; FerretDB returns
//     the constraint failure as duplicate key (E11000). So at most one
//     lease per key exists at any time: two inserts cannot both succeed.
//   - The lease is never updated, and deleted only by its _id, a random
//     token used for that one lease: FerretDB's read-then-delete-by-_id can
//     at worst delete the lease it read, never a newer lease of the same key
//     (which has another _id). Two writers taking over one expired lease
//     both delete it (one deletes nothing) and then race on the insert,
//     which one wins.
//   - A lease is held around one write call (the relay: one read and one
//     write), each bounded by the store's operation timeout
//     (GEMELLA_<SVC>_MONGO_TIMEOUT, 10s by default), far inside the lease's
//     time to live (Options.TTL, 30s): a live holder's lease does not
//     expire under it. Expiry is judged on the taker's clock against the
//     holder's: the processes of one embedded store must keep their clocks
//     within TTL minus the operation timeout of each other (they run on one
//     machine, or a few with NTP).
//
// Inside a process a semaphore (one per stripe of keys) comes first, so
// the process's own writers of one document queue in memory and only one
// of them polls the store.
//
// # Where, and which mode
//
// The locks are taken only where the configuration asks for them
// (config.Mongo.DocLocks, GEMELLA_<SVC>_MONGO_DOC_LOCKS), and servicekit
// builds them for the service's database by its mode:
//
//   - off (or false), the default, for MongoDB: a nil *Locks, which locks
//     nothing, so that no lock is held across network I/O there;
//   - process, for a store whose every writer runs in this one process
//     (the dev stack of make run, each service once beside its embedded
//     FerretDB): InProcess, the semaphores alone, shared by every user of
//     the same database in the process, writing nothing to the store;
//   - lease (or true), for a store shared by several processes (the
//     topology test): New, the semaphores and the leases above, an insert
//     and a delete of a doc_locks document around every locked write.
//
// In either locked mode the writers filter each write by exact _id and
// check its conditions (a version, a rev, "no pending events") on a read
// by _id under the lock: FerretDB v1 uses an index only for a filter that
// is exactly {_id: value} (and that index only because the embedded
// FerretDB adds it: platform/embedded, idlookup.go) and scans the whole
// collection for any other,
// so a conditional filter would cost as much as the collection is large.
// The locks are held around the single database call that writes (with
// the read that decides it), never across the domain's decision: the
// aggregate stores (mongox), the idempotency keys and the outbox relay's
// clear of one database share one set. The zero Locks is the in-process
// half only, for tests and tools of a single process.
//
// # Stamps: the read before the lock
//
// An aggregate's update reads the document to decide, then writes under
// the lock. With the in-process locks, whose holders are every writer of
// the database, the write may rely on that first read instead of reading
// again: Stamp, taken before the read, and Unchanged, asked under the
// lock, tell whether any holder released the document's lock in between.
// Every writer holds the lock and releases it only after its write
// returned, so no release in between means no write the read missed.
// Releases are counted per stripe: another document's writer makes the
// stamp stale, which costs a read, never a lost update. A lease's stamp is
// never unchanged (other processes' writes are not counted).
package doclock

import (
	"context"
	cryptorand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

const (
	stripes = 256
	// DefaultCollection holds the leases of a database.
	DefaultCollection = "doc_locks"
	// DefaultTTL is a lease's time to live.
	DefaultTTL = 30 * time.Second
	// keyIndex is the unique index that makes a lease exclusive.
	keyIndex = "doc_locks_key"
	// releaseTimeout bounds the delete of a lease; a lease not deleted
	// expires.
	releaseTimeout = 5 * time.Second
	// maxPoll is the longest pause between two attempts on a held key.
	maxPoll = 25 * time.Millisecond
)

// Options configure New.
type Options struct {
	// Collection holds the leases; DefaultCollection when empty.
	Collection string
	// TTL is how long a lease lasts unless released: what a crashed
	// holder costs the next writer of its document. It must exceed the
	// longest write a holder makes (see the package doc); DefaultTTL when 0.
	TTL time.Duration
	// Logger reports takeovers and failed releases; slog.Default() when nil.
	Logger *slog.Logger
	// Now is the clock; time.Now when nil (tests move it).
	Now func() time.Time
}

// Locks serialise the writes to one document: among the goroutines of this
// process (a semaphore per stripe of keys) and, when made by New, among
// every process on the same database (a lease document). The zero value is
// ready to use for the first half only; a nil *Locks locks nothing.
type Locks struct {
	initOnce sync.Once
	sem      [stripes]chan struct{}
	// released counts the releases of each stripe's lock (Stamp).
	released [stripes]atomic.Uint64

	// leases is nil for the zero value: no lease, in-process only.
	leases *mongo.Collection
	ttl    time.Duration
	log    *slog.Logger
	now    func() time.Time
	holder string

	indexMu sync.Mutex
	indexed bool
}

// New returns locks that hold across the processes on db, keeping their
// leases in db's collection opts.Collection (created with its unique index
// on first use, or by EnsureIndexes).
func New(db *mongo.Database, opts Options) *Locks {
	if opts.Collection == "" {
		opts.Collection = DefaultCollection
	}
	if opts.TTL <= 0 {
		opts.TTL = DefaultTTL
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	host, _ := os.Hostname()
	return &Locks{
		leases: db.Collection(opts.Collection), ttl: opts.TTL, log: opts.Logger, now: opts.Now,
		holder: fmt.Sprintf("%s/%d", host, os.Getpid()),
	}
}

// InProcess returns the in-process locks of database, one set for every
// caller in this process that names the same database (two instances of
// a service in one process share them, as they share its documents). They
// write nothing to the store: right only when no other process writes the
// database.
func InProcess(database string) *Locks {
	processMu.Lock()
	defer processMu.Unlock()
	l := processLocks[database]
	if l == nil {
		l = &Locks{}
		processLocks[database] = l
	}
	return l
}

var (
	processMu    sync.Mutex
	processLocks = map[string]*Locks{}
)

// EnsureIndexes creates the unique index the leases rely on; Acquire does
// it on first use otherwise. A no-op for in-process locks.
func (l *Locks) EnsureIndexes(ctx context.Context) error {
	if l == nil || l.leases == nil {
		return nil
	}
	l.indexMu.Lock()
	defer l.indexMu.Unlock()
	if l.indexed {
		return nil
	}
	_, err := l.leases.Indexes().CreateOne(ctx, mongo.IndexModel{
		Keys:    bson.D{{Key: "key", Value: 1}},
		Options: options.Index().SetName(keyIndex).SetUnique(true),
	})
	if err != nil {
		return fmt.Errorf("document locks: create index %s on %s: %w", keyIndex, l.leases.Name(), err)
	}
	l.indexed = true
	return nil
}

// Key names the lock of document id of collection.
func Key(collection, id string) string { return collection + "/" + id }

// Acquire waits until it holds the lock of document id of collection, or
// ctx ends, or the store fails; release gives it back (and must be called
// once, whatever the write did). On a nil *Locks it returns at once.
func (l *Locks) Acquire(ctx context.Context, collection, id string) (release func(), err error) {
	if l == nil {
		return func() {}, nil
	}
	key := Key(collection, id)
	i := l.stripeOf(key)
	sem := l.sem[i]
	select {
	case sem <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("lock %s: %w", key, ctx.Err())
	}
	unlock := func() {
		l.released[i].Add(1)
		<-sem
	}
	if l.leases == nil {
		return unlock, nil
	}
	token, err := l.lease(ctx, key)
	if err != nil {
		unlock()
		return nil, fmt.Errorf("lock %s: %w", key, err)
	}
	return func() {
		l.release(key, token)
		unlock()
	}, nil
}

// Lock is Acquire for callers without a context or a way to fail: it waits
// for the lock, up to the lease's time to live and the store's answer;
// should the store fail (the write that follows then fails too) it holds
// only this process's half and logs why.
//
// Deprecated: use Acquire, which takes the caller's deadline and reports
// the failure.
func (l *Locks) Lock(collection, id string) (unlock func()) {
	if l == nil {
		return func() {}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*l.leaseTTL()+releaseTimeout)
	defer cancel()
	release, err := l.Acquire(ctx, collection, id)
	if err == nil {
		return release
	}
	l.logger().Warn("document lock: holding only this process's lock", slog.String("key", Key(collection, id)), slog.Any("error", err))
	i := l.stripeOf(Key(collection, id))
	l.sem[i] <- struct{}{}
	return func() {
		l.released[i].Add(1)
		<-l.sem[i]
	}
}

// lease inserts the key's lease, waiting while another holds it and taking
// over one that expired. It returns the lease's token.
func (l *Locks) lease(ctx context.Context, key string) (string, error) {
	if err := l.EnsureIndexes(ctx); err != nil {
		return "", err
	}
	token := newToken()
	for attempt := 0; ; attempt++ {
		// The insert is not cut short when the caller gives up (a
		// shutdown, a deadline): the server would go on with it after the
		// client stopped waiting, and leave a lease that nobody holds
		// blocking the key until it expires. It is bounded by itself.
		insertCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
		_, err := l.leases.InsertOne(insertCtx, bson.D{
			{Key: "_id", Value: token}, {Key: "key", Value: key}, {Key: "holder", Value: l.holder},
			{Key: "expires_at", Value: l.now().Add(l.ttl)},
		})
		cancel()
		if err == nil && ctx.Err() != nil {
			// Taken, but the caller no longer waits for it.
			l.release(key, token)
			return "", ctx.Err()
		}
		if err == nil {
			return token, nil
		}
		if !isDuplicateKey(err) {
			// The insert may have gone through all the same (a timeout):
			// a lease nobody holds would block the key until it expires.
			l.release(key, token)
			return "", fmt.Errorf("take lease: %w", err)
		}
		var held struct {
			Token     string    `bson:"_id"`
			ExpiresAt time.Time `bson:"expires_at"`
			Holder    string    `bson:"holder"`
		}
		err = l.leases.FindOne(ctx, bson.D{{Key: "key", Value: key}}).Decode(&held)
		switch {
		case errors.Is(err, mongo.ErrNoDocuments):
			continue // released in between
		case err != nil:
			return "", fmt.Errorf("read lease: %w", err)
		case held.Token == token:
			// An earlier insert of ours went through although it failed.
			return token, nil
		case !l.now().Before(held.ExpiresAt):
			// Deleted by its token: never a newer lease of the key.
			if _, err := l.leases.DeleteOne(ctx, bson.D{{Key: "_id", Value: held.Token}}); err != nil {
				return "", fmt.Errorf("take over expired lease: %w", err)
			}
			l.logger().Warn("document lock: took over an expired lease", slog.String("key", key),
				slog.String("holder", held.Holder), slog.Time("expired_at", held.ExpiresAt))
			continue
		}
		if err := pause(ctx, attempt, held.ExpiresAt.Sub(l.now())); err != nil {
			return "", err
		}
	}
}

// release deletes the lease by its token, bounded; a lease it cannot
// delete expires.
func (l *Locks) release(key, token string) {
	ctx, cancel := context.WithTimeout(context.Background(), releaseTimeout)
	defer cancel()
	if _, err := l.leases.DeleteOne(ctx, bson.D{{Key: "_id", Value: token}}); err != nil {
		l.logger().Warn("document lock: release failed; the lease expires", slog.String("key", key),
			slog.Duration("ttl", l.ttl), slog.Any("error", err))
	}
}

// stripeOf is the index of key's stripe, its semaphore ready.
func (l *Locks) stripeOf(key string) uint32 {
	l.initOnce.Do(func() {
		for i := range l.sem {
			l.sem[i] = make(chan struct{}, 1)
		}
	})
	h := fnv.New32a()
	_, _ = h.Write([]byte(key))
	return h.Sum32() % stripes
}

// Shared reports whether the locks hold across processes (New's leases):
// other processes may write the database, and what this one knows of a
// document it did not just read may be out of date.
func (l *Locks) Shared() bool { return l != nil && l.leases != nil }

// A Stamp marks a moment in the life of one document's lock, so that a
// later holder of the lock can tell whether anyone held it in between
// (Unchanged). The zero Stamp tells nothing.
type Stamp struct {
	stripe   uint32
	released uint64
	known    bool
}

// Stamp is taken before a read of document id of collection that a later
// write under its lock wants to rely on: when Unchanged(stamp) holds under
// that lock, no writer of the document released its lock since, so the
// read saw the document as it still is, and the write need not read it
// again. It is known only for the in-process locks (InProcess, the zero
// Locks), whose holders are every writer there is; the leases of New
// cannot tell what other processes did, and their stamps are never
// Unchanged. Releases count by stripe, so another key's writer can make a
// stamp stale: a read again, never a wrong answer.
func (l *Locks) Stamp(collection, id string) Stamp {
	if l == nil || l.leases != nil {
		return Stamp{}
	}
	i := l.stripeOf(Key(collection, id))
	return Stamp{stripe: i, released: l.released[i].Load(), known: true}
}

// Held is Stamp for the holder of the lock of document id of collection,
// about to release it: the stamp of the moment it does, so that a later
// holder can tell whether the document is still as this one left it.
func (l *Locks) Held(collection, id string) Stamp {
	s := l.Stamp(collection, id)
	if s.known {
		s.released++ // this holder's own release, which no other can precede
	}
	return s
}

// Unchanged reports whether the lock that s stamped was not released
// since s was taken; call it holding that lock. A writer's release comes
// after its write has returned, and the read after the stamp, so a
// release not counted yet when s was taken belongs to a write the read saw.
func (l *Locks) Unchanged(s Stamp) bool {
	return l != nil && s.known && l.leases == nil && l.released[s.stripe].Load() == s.released
}

func (l *Locks) leaseTTL() time.Duration {
	if l.ttl <= 0 {
		return DefaultTTL
	}
	return l.ttl
}

func (l *Locks) logger() *slog.Logger {
	if l.log == nil {
		return slog.Default()
	}
	return l.log
}

// pause waits before the next attempt on a held key: a jittered delay
// growing from about a millisecond to maxPoll, never past the lease's
// expiry, when a takeover is due.
func pause(ctx context.Context, attempt int, untilExpiry time.Duration) error {
	ceiling := min(time.Millisecond<<min(attempt, 5), maxPoll)
	d := rand.N(ceiling) + time.Millisecond/2
	if untilExpiry > 0 {
		d = min(d, untilExpiry+time.Millisecond)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func newToken() string {
	var b [16]byte
	_, _ = cryptorand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// isDuplicateKey is mongox.IsDuplicateKey (which imports this package):
// the embedded store's error carries SQLite's text.
func isDuplicateKey(err error) bool {
	return mongo.IsDuplicateKeyError(err) || strings.Contains(err.Error(), "UNIQUE constraint failed")
}
