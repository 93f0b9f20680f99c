package servicekit

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

// Main is a service's whole main: it loads the configuration (exit 2 when
// it is invalid), builds the service, and runs it until SIGINT or SIGTERM
// (exit 1 when it fails), logging JSON to stderr.
//
//	func main() { servicekit.Main(service.LoadConfig, service.New) }
func Main[C any, S interface{ Run(context.Context) error }](load func() (C, error), build func(context.Context, C, *slog.Logger) (S, error)) {
	os.Exit(run(load, build))
}

func run[C any, S interface{ Run(context.Context) error }](load func() (C, error), build func(context.Context, C, *slog.Logger) (S, error)) int {
	logger := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	cfg, err := load()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	svc, err := build(ctx, cfg, logger)
	if err != nil {
		logger.Error("start", "err", err)
		return 1
	}
	defer flushTracing(logger)
	if err := svc.Run(ctx); err != nil {
		logger.Error("stopped", "err", err)
		return 1
	}
	return 0
}
