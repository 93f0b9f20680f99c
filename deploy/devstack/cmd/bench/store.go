package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	catalogv1 "github.com/gemella/gemella/proto/gemella/catalog/v1"
	"github.com/gemella/gemella/services/platform/embedded"
)

// insertBatch is how many documents one InsertMany carries.
const insertBatch = 100

// storedPractice is shaped like the catalog's practice documents (string
// _id, a handful of text fields and lists), about 1 KB in BSON.
type storedPractice struct {
	ID                   string    `bson:"_id"`
	SortKey              string    `bson:"sort_key"`
	Slug                 string    `bson:"slug"`
	Title                string    `bson:"title"`
	Summary              string    `bson:"summary"`
	Description          string    `bson:"description"`
	OwnerOrganizationIDs []string  `bson:"owner_organization_ids"`
	Themes               []string  `bson:"themes"`
	Sectors              []string  `bson:"sectors"`
	TerritoryCode        string    `bson:"territory_code"`
	Status               string    `bson:"status"`
	Revision             int       `bson:"revision"`
	CreatedAt            time.Time `bson:"created_at"`
	UpdatedAt            time.Time `bson:"updated_at"`
	Version              int64     `bson:"version"`
}

func newStoredPractice(i int, now time.Time) storedPractice {
	id := rand.Text()
	return storedPractice{
		ID:                   id,
		SortKey:              fmt.Sprintf("%s\t%s", now.Format(time.RFC3339Nano), id),
		Slug:                 fmt.Sprintf("pratica-di-prova-%d", i),
		Title:                fmt.Sprintf("Pratica di prova numero %d", i),
		Summary:              "Scuole, imprese e centri per l'impiego progettano insieme percorsi brevi verso il lavoro.",
		Description:          strings.Repeat("Il percorso alterna aula e impresa, con un tutor per parte. ", 7),
		OwnerOrganizationIDs: []string{rand.Text()},
		Themes:               []string{"occupabilità", "alternanza scuola-lavoro"},
		Sectors:              []string{"meccanica", "turismo"},
		TerritoryCode:        "ITI1",
		Status:               "published",
		Revision:             1,
		CreatedAt:            now,
		UpdatedAt:            now,
		Version:              1,
	}
}

// benchStore measures pair (c): FindOne by _id on the embedded FerretDB,
// next to the in-memory GetPractice of (b) (measured here if (b) did not run).
func benchStore(ctx context.Context, s settings, catalog *catalogUnderTest, grpcSerial callPair) (storePair, error) {
	p := storePair{Documents: s.Documents}
	if grpcSerial.Catalog.Iterations > 0 {
		p.GetPractice = grpcSerial.Catalog
		p.GetPracticeFrom = "pair (b), serial, best round"
	} else {
		progress("(c) GetPractice, serial (pair b was not run)")
		req := &catalogv1.GetPracticeRequest{Id: catalog.practiceID}
		st, err := benchCalls(ctx, 0, func(ctx context.Context) error {
			_, err := catalog.client.GetPractice(ctx, req)
			return err
		})
		if err != nil {
			return p, fmt.Errorf("GetPractice: %w", err)
		}
		p.GetPractice, p.GetPracticeFrom = st, "measured in (c), serial, one round"
	}

	dir, err := os.MkdirTemp("", "gemella-bench-ferretdb-")
	if err != nil {
		return p, err
	}
	defer os.RemoveAll(dir)
	startCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	progress("(c) starting FerretDB in %s", dir)
	db, err := embedded.StartFerretDB(startCtx, embedded.FerretDBOptions{Dir: dir})
	if err != nil {
		return p, err
	}
	defer db.Stop()
	client, err := mongo.Connect(options.Client().ApplyURI(db.URI()).SetTimeout(callDeadline))
	if err != nil {
		return p, fmt.Errorf("connect to ferretdb: %w", err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), callDeadline)
		defer cancel()
		_ = client.Disconnect(ctx)
	}()
	coll := client.Database("gemella_bench").Collection("practices")

	ids, err := fill(ctx, coll, s.Documents, &p)
	if err != nil {
		return p, err
	}
	// The lookup index is made within a second of the collection; the
	// measure starts with it.
	if _, err := db.IndexLookups(ctx); err != nil {
		return p, err
	}

	progress("(c) FindOne by _id among %d documents", s.Documents)
	i := 0
	p.FindOne, err = benchCalls(ctx, 0, func(ctx context.Context) error {
		// Walk the ids with a stride, so consecutive finds hit different
		// documents and pages.
		id := ids[(i*7919)%len(ids)]
		i++
		ctx, cancel := context.WithTimeout(ctx, callDeadline)
		defer cancel()
		var doc storedPractice
		if err := coll.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&doc); err != nil {
			return fmt.Errorf("find %s: %w", id, err)
		}
		if doc.ID != id {
			return fmt.Errorf("find %s: got %s", id, doc.ID)
		}
		return nil
	})
	if err != nil {
		return p, fmt.Errorf("FindOne: %w", err)
	}
	p.Ratio = p.FindOne.NsPerOp / p.GetPractice.NsPerOp
	p.StoreShare = p.FindOne.NsPerOp / (p.FindOne.NsPerOp + p.GetPractice.NsPerOp)
	return p, nil
}

// fill inserts n documents in batches and returns their ids.
func fill(ctx context.Context, coll *mongo.Collection, n int, p *storePair) ([]string, error) {
	progress("(c) inserting %d documents in batches of %d", n, insertBatch)
	now := time.Now().UTC().Truncate(time.Millisecond)
	ids := make([]string, 0, n)
	var totalBytes int
	start := time.Now()
	for first := 0; first < n; first += insertBatch {
		batch := make([]storedPractice, 0, min(insertBatch, n-first))
		for i := first; i < first+cap(batch); i++ {
			d := newStoredPractice(i, now)
			raw, err := bson.Marshal(d)
			if err != nil {
				return nil, fmt.Errorf("encode document: %w", err)
			}
			totalBytes += len(raw)
			batch = append(batch, d)
			ids = append(ids, d.ID)
		}
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		res, err := coll.InsertMany(ctx, batch)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("insert documents %d-%d: %w", first, first+len(batch)-1, err)
		}
		if len(res.InsertedIDs) != len(batch) {
			return nil, errors.New("insert: fewer documents inserted than sent")
		}
	}
	p.InsertSeconds = time.Since(start).Seconds()
	p.AvgDocBytes = totalBytes / n
	return ids, nil
}
