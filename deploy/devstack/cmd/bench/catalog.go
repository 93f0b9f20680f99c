package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	catalogv1 "github.com/gemella/gemella/proto/gemella/catalog/v1"
	"github.com/gemella/gemella/services/platform/config"
	"github.com/gemella/gemella/services/platform/grpcx"
	"github.com/gemella/gemella/services/practice-catalog/service"
)

// callDeadline bounds every call the harness makes itself.
const callDeadline = 5 * time.Second

// catalogUnderTest is the catalog on its in-memory repository, with one
// organisation and one published practice in it, which anyone may read.
type catalogUnderTest struct {
	addr       string
	conn       *grpc.ClientConn
	client     catalogv1.CatalogServiceClient
	practiceID string
	// practice is the message GetPractice answers, for the echo server.
	practice *catalogv1.Practice

	cancel context.CancelFunc
	served chan error
}

func startCatalog(ctx context.Context, logger *slog.Logger) (*catalogUnderTest, error) {
	id, err := newIdentity()
	if err != nil {
		return nil, err
	}
	svc, err := service.NewInMemory(config.GRPCServer{Addr: "127.0.0.1:0"}, logger, id.publicKey())
	if err != nil {
		return nil, fmt.Errorf("build catalog: %w", err)
	}
	if err := svc.Listen(); err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	c := &catalogUnderTest{addr: svc.Addr(), cancel: cancel, served: make(chan error, 1)}
	go func() { c.served <- svc.Run(runCtx) }()

	if c.conn, err = grpcx.Dial(c.addr, callDeadline); err != nil {
		return nil, errors.Join(err, c.stop())
	}
	c.client = catalogv1.NewCatalogServiceClient(c.conn)
	if err := c.seed(ctx, id); err != nil {
		return nil, errors.Join(fmt.Errorf("seed catalog: %w", err), c.stop())
	}
	return c, nil
}

// seed creates an organisation and a practice of a realistic size, so the
// messages on the wire are like those of the demo data, not a bare title,
// and publishes it: the benchmarks read it without a token, as visitors do.
func (c *catalogUnderTest) seed(ctx context.Context, id *identity) error {
	ctx, cancel := context.WithTimeout(ctx, callDeadline)
	defer cancel()
	public := ctx
	ctx, err := id.as(ctx)
	if err != nil {
		return err
	}
	org, err := c.client.CreateOrganization(ctx, &catalogv1.CreateOrganizationRequest{
		Organization: &catalogv1.Organization{
			Name:      "Regione Toscana",
			Kind:      catalogv1.OrganizationKind_ORGANIZATION_KIND_REGION,
			Territory: &catalogv1.Territory{Code: "ITI1", Name: "Toscana"},
		},
		RequestId: "bench-org",
	})
	if err != nil {
		return fmt.Errorf("create organisation: %w", err)
	}
	if ctx, err = id.as(public, org.GetId()); err != nil {
		return err
	}
	created, err := c.client.CreatePractice(ctx, &catalogv1.CreatePracticeRequest{
		Practice: &catalogv1.Practice{
			Title:                "Laboratori territoriali per l'occupabilità",
			Summary:              "Scuole, imprese e centri per l'impiego progettano insieme percorsi brevi che portano i giovani dalla formazione al lavoro.",
			Description:          strings.Repeat("Il percorso alterna aula e impresa; ogni gruppo ha un tutor scolastico e uno aziendale. ", 4),
			OwnerOrganizationIds: []string{org.GetId()},
			Themes:               []string{"occupabilità", "alternanza scuola-lavoro"},
			Sectors:              []string{"meccanica", "turismo"},
			Territory:            &catalogv1.Territory{Code: "ITI1", Name: "Toscana"},
			Problem:              "Molti diplomati non trovano lavoro nel settore per cui si sono formati.",
			Results:              "Due terzi dei partecipanti hanno un contratto entro sei mesi.",
			StartDate:            "2019-09-01",
			Ongoing:              true,
			Languages:            []string{"it", "en"},
			Models: []*catalogv1.Model{
				{Code: "A", Title: "Co-progettazione scuola-impresa", Description: "Un tavolo stabile decide i contenuti dei moduli."},
			},
		},
		RequestId: "bench-practice",
	})
	if err != nil {
		return fmt.Errorf("create practice: %w", err)
	}
	c.practiceID = created.GetId()
	submitted, err := c.client.SubmitPractice(ctx, &catalogv1.SubmitPracticeRequest{Id: c.practiceID, Etag: created.GetEtag()})
	if err != nil {
		return fmt.Errorf("submit practice %s: %w", c.practiceID, err)
	}
	if _, err := c.client.PublishPractice(ctx, &catalogv1.PublishPracticeRequest{Id: c.practiceID, Etag: submitted.GetEtag()}); err != nil {
		return fmt.Errorf("publish practice %s: %w", c.practiceID, err)
	}
	got, err := c.client.GetPractice(public, &catalogv1.GetPracticeRequest{Id: c.practiceID})
	if err != nil {
		return fmt.Errorf("get practice %s: %w", c.practiceID, err)
	}
	c.practice = proto.Clone(got).(*catalogv1.Practice)
	return nil
}

func (c *catalogUnderTest) stop() error {
	var errs []error
	if c.conn != nil {
		errs = append(errs, c.conn.Close())
	}
	c.cancel()
	select {
	case err := <-c.served:
		if err != nil && !errors.Is(err, context.Canceled) {
			errs = append(errs, fmt.Errorf("catalog: %w", err))
		}
	case <-time.After(15 * time.Second):
		errs = append(errs, errors.New("catalog did not stop within 15s"))
	}
	return errors.Join(errs...)
}
