// Command devstack runs all of Gemella in one process, with embedded NATS and
// FerretDB and the demo data: `make run`. Its data lives in GEMELLA_DATA_DIR
// (default: .data at the repository root) and survives restarts. Its
// variables (stack.Config) are in the README's "Configuration" tables:
// every address can be set, or left to a free port with
// GEMELLA_DEVSTACK_FREE_PORTS=1; the banner says what was chosen.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/gemella/gemella/deploy/devstack/demo"
	"github.com/gemella/gemella/deploy/devstack/stack"
)

// startTimeout bounds start-up, demo data included: FerretDB is slow.
const startTimeout = 3 * time.Minute

func main() {
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(logger); err != nil {
		logger.Error("devstack failed", "err", err)
		os.Exit(1)
	}
}

func run(logger *slog.Logger) error {
	cfg, err := stack.LoadConfig()
	if err != nil {
		return err
	}
	dataDir, err := dataDir(cfg.DataDir)
	if err != nil {
		return err
	}
	opts := cfg.Options(dataDir)
	opts.Logger = logger
	opts.LoadDemo = true

	ctx, stopSignals := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stopSignals()

	startCtx, cancel := context.WithTimeout(ctx, startTimeout)
	st, err := stack.Start(startCtx, opts)
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			// Interrupted while starting: Start has stopped what it started.
			return nil
		}
		return err
	}
	printWelcome(os.Stdout, st.URLs(), dataDir, cfg.FreePorts)

	select {
	case <-ctx.Done():
		logger.Info("stopping")
		return st.Stop()
	case failure := <-st.Wait():
		return errors.Join(failure, st.Stop())
	}
}

// dataDir is the configured folder (GEMELLA_DATA_DIR), or .data in the
// repository root: the folder holding go.work, found by walking up from
// the working directory.
func dataDir(configured string) (string, error) {
	if configured != "" {
		return filepath.Abs(configured)
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("working directory: %w", err)
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return filepath.Join(dir, ".data"), nil
		}
		if filepath.Dir(dir) == dir {
			return "", fmt.Errorf("no go.work in %s or above it: run from inside the repository or set GEMELLA_DATA_DIR", wd)
		}
	}
}

// printWelcome says where everything listens: the addresses chosen, free
// ports included, so that tools can be pointed at them.
func printWelcome(w io.Writer, u stack.URLs, dataDir string, freePorts bool) {
	ports := "the configured ports"
	if freePorts {
		ports = "free ports (GEMELLA_DEVSTACK_FREE_PORTS) where no address was set"
	}
	fmt.Fprintf(w, `
Gemella is running (data in %s, on %s). Ctrl-C stops it.

  portal             %s/
  REST API           %s/v1/
  OpenAPI            %s
  catalog gRPC       %s
  twinning gRPC      %s
  discussion gRPC    %s
  notification gRPC  %s
  live feed          %s/v1/events
  e-mail sent        %s (SMTP %s; files in %s)
  NATS               %s
  MongoDB            %s

Try:
  curl -s %s/v1/practices
  curl -s %s/v1/practices/%s
  curl -s '%s/v1/organizations?kind=ORGANIZATION_KIND_REGION'
  curl -s %s/v1/twinnings
  curl -N %s/v1/events
  grpcurl -plaintext %s list

Demo accounts (README, "Demo accounts"), password %s:
  %s
  curl -s -X POST %s/v1/sessions -d '{"email":"editor.toscana@demo.gemella.test","password":"%s"}'

`, dataDir, ports, u.Gateway, u.Gateway, u.OpenAPI, u.Catalog, u.Twinning, u.Discussion, u.Notification, u.Gateway, u.Mailbox, u.SMTP, u.MailDir, u.NATS, u.Mongo,
		u.Gateway, u.Gateway, demo.TosCaSlug, u.Gateway, u.Gateway, u.Gateway, u.Catalog,
		demo.AccountPassword, accountList(), u.Gateway, demo.AccountPassword)
}

// accountList names every demo account, as "member@, …, admin@demo.gemella.test".
func accountList() string {
	names := make([]string, len(demo.Accounts))
	domain := ""
	for i, a := range demo.Accounts {
		local, d, _ := strings.Cut(a.Email, "@")
		names[i], domain = local+"@", d
	}
	return strings.Join(names, ", ") + domain
}
