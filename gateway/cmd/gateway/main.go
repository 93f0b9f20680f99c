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

	"github.com/gemella/gemella/gateway/server"
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
	srv, err := server.New(ctx, cfg, logger)
	if err != nil {
		return err
	}
	return errors.Join(srv.Run(ctx), srv.Close())
}
