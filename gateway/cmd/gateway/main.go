// Command gateway serves the Gemella REST API in front of the gRPC services.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/gemella/gemella/gateway/server"
	"github.com/gemella/gemella/services/platform/telemetry"
)

func main() {
	cfg, err := server.LoadConfig()
	if err != nil {
		fmt.Fprintf(os.Stderr, "gateway: invalid configuration:\n%v\n", err)
		os.Exit(2)
	}
	logger := slog.New(slog.NewJSONHandler(os.Stderr, nil))

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	if err := run(ctx, cfg, logger); err != nil {
		logger.Error("gateway stopped", slog.String("error", err.Error()))
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg server.Config, logger *slog.Logger) error {
	// Tracing follows the standard OTEL_* variables: exported over OTLP when
	// OTEL_EXPORTER_OTLP_ENDPOINT is set, propagated only otherwise.
	shutdownTracing, err := telemetry.Setup(ctx, "gateway", logger)
	if err != nil {
		return err
	}
	srv, err := server.New(ctx, cfg, logger)
	if err != nil {
		return errors.Join(err, shutdownTracing(context.WithoutCancel(ctx)))
	}
	runErr := errors.Join(srv.Run(ctx), srv.Close())
	// Flush the last spans, within a bound: a collector that is gone must
	// not hold the process after its requests are done.
	flushCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	return errors.Join(runErr, shutdownTracing(flushCtx))
}
