package embedded

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "modernc.org/sqlite" // the SQLite driver FerretDB itself registers and uses
)

// # Why FerretDB's tables get one more index
//
// FerretDB v1.24 (SQLite backend) keeps each collection in a table with
// one JSON column and indexes _id with the expression
// `_ferretdb_sjson->"_id"` (metadata/registry.go, indexesCreate), but
// filters every find, update and delete by _id with the expression
// `_ferretdb_sjson->'$._id'` (metadata.IDColumn, used by
// backends/sqlite/collection.go). Both yield the same value, yet SQLite
// uses an expression index only for the very expression it was built on,
// so every lookup by _id scans the whole table and parses every
// document's JSON: EXPLAIN QUERY PLAN says "SCAN", and bench (d) spent
// about 40% of the process's CPU in SQLite's JSON parser, the cost of
// each command growing with its collection.
//
// keepIDLookups gives each collection's table an index on the expression
// FerretDB filters by, named "<table>-id-lookup" (FerretDB names its own
// "<table>_<index name>", so the two never meet), and keeps doing so for
// the collections created later. FerretDB does not know the index: it
// neither lists nor drops it, and SQLite drops it with the table. It is
// not unique (FerretDB's own index keeps _id unique) and adds one small
// index entry to each write.

// idLookupInterval is how often the database files are checked for
// collections created since.
const idLookupInterval = time.Second

// idLookupSuffix ends the name of the index that keepIDLookups adds.
const idLookupSuffix = "-id-lookup"

// keepIDLookups adds the _id lookup index to the tables of dir's databases
// now and every idLookupInterval until ctx ends. A failure is logged and
// tried again on the next round: without the index FerretDB is slower,
// never wrong.
func keepIDLookups(ctx context.Context, dir string, logger *slog.Logger) {
	tick := time.NewTicker(idLookupInterval)
	defer tick.Stop()
	var failing string
	for {
		_, err := ensureIDLookups(ctx, dir)
		if ctx.Err() != nil {
			return
		}
		switch {
		case err != nil && err.Error() != failing:
			failing = err.Error()
			logger.Warn("ferretdb: cannot index _id lookups; lookups by _id scan their collection until this works", slog.Any("error", err))
		case err == nil:
			failing = ""
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// ensureIDLookups adds the _id lookup index to every collection table of
// every database file in dir that lacks it, and returns how many it
// added.
func ensureIDLookups(ctx context.Context, dir string) (int, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.sqlite"))
	if err != nil {
		return 0, err
	}
	var added int
	var errs []error
	for _, file := range files {
		n, err := ensureIDLookupsIn(ctx, file)
		added += n
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", filepath.Base(file), err))
		}
	}
	return added, errors.Join(errs...)
}

// ensureIDLookupsIn is ensureIDLookups for one database file. It looks
// for tables without the index on a read-only connection, and opens the
// file for writing only when there are some. Neither creates the file
// (mode=ro, mode=rw: a database dropped meanwhile is not made again), and
// both are closed before it returns: they hold no snapshot that would
// keep SQLite from checkpointing FerretDB's writes, and a read-only
// connection never checkpoints or removes the write-ahead log on closing.
// A file gone meanwhile (its database dropped) is no error.
func ensureIDLookupsIn(ctx context.Context, file string) (int, error) {
	tables, err := withSQLite(file, "ro", func(db *sql.DB) ([]string, error) { return tablesWithoutIDLookup(ctx, db) })
	if err != nil || len(tables) == 0 {
		return 0, gone(file, err)
	}
	added, err := withSQLite(file, "rw", func(db *sql.DB) (int, error) {
		var added int
		for _, t := range tables {
			stmt := fmt.Sprintf(`CREATE INDEX IF NOT EXISTS %s ON %s (_ferretdb_sjson->'$._id')`,
				quoteIdent(t+idLookupSuffix), quoteIdent(t))
			if _, err := db.ExecContext(ctx, stmt); err != nil {
				if strings.Contains(err.Error(), "no such table") {
					continue // dropped since it was listed
				}
				return added, fmt.Errorf("index %s: %w", t, err)
			}
			added++
		}
		return added, nil
	})
	return added, gone(file, err)
}

// withSQLite opens file in mode (ro or rw), lets fn use it on one
// connection, and closes it.
func withSQLite[T any](file, mode string, fn func(*sql.DB) (T, error)) (T, error) {
	var zero T
	db, err := sql.Open("sqlite", "file:"+file+"?mode="+mode+"&_pragma=busy_timeout%2810000%29")
	if err != nil {
		return zero, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	return fn(db)
}

// gone is err, or nil when file no longer exists.
func gone(file string, err error) error {
	if err == nil {
		return nil
	}
	if _, statErr := os.Stat(file); errors.Is(statErr, fs.ErrNotExist) {
		return nil
	}
	return err
}

// tablesWithoutIDLookup lists the tables of FerretDB's collections (its
// _ferretdb_collections table; a file without it has none yet) that have
// no _id lookup index.
func tablesWithoutIDLookup(ctx context.Context, db *sql.DB) ([]string, error) {
	rows, err := db.QueryContext(ctx, `
		SELECT c.table_name FROM _ferretdb_collections AS c
		JOIN sqlite_master AS t ON t.type = 'table' AND t.name = c.table_name
		WHERE NOT EXISTS (
			SELECT 1 FROM sqlite_master AS i
			WHERE i.type = 'index' AND i.tbl_name = c.table_name AND i.name = c.table_name || ?)`, idLookupSuffix)
	if err != nil {
		if strings.Contains(err.Error(), "no such table") {
			return nil, nil
		}
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, err
		}
		out = append(out, name)
	}
	return out, rows.Err()
}

// quoteIdent quotes an SQLite identifier.
func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
