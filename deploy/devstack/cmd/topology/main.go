// Command topology runs Gemella as an operator would and breaks it: the real
// binaries of the four services (two replicas each) and of the gateway
// (two), three clustered NATS servers with every stream at three replicas,
// and one FerretDB, each its own process on loopback. Writes flow through
// both gateways while, one after another, a stream leader and a consumer
// leader of NATS, one replica of each service and the store are killed or
// stopped and brought back. After each scenario it checks that every
// acknowledged write is stored as acknowledged, that every event is on its
// stream exactly once, that the consumers' effects converge, and that the
// gateways answered 503 (never 500, never past their deadline) meanwhile.
//
//	go run ./deploy/devstack/cmd/topology        # make test-topology
//
// It ends with "topology: N scenarios, 0 lost, 0 duplicated" and exits 0,
// or exits 1 naming what was lost, duplicated or wrong. Every child process
// runs in its own process group and dies with this program.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "nats":
			os.Exit(runNATSChild(os.Args[2:]))
		case "ferretdb":
			os.Exit(runFerretDBChild(os.Args[2:]))
		}
	}
	flags := flag.NewFlagSet("topology", flag.ExitOnError)
	timeout := flags.Duration("timeout", 9*time.Minute, "the whole run, the build included")
	keep := flags.Bool("keep", false, "keep the data and log folder after a successful run")
	verbose := flags.Bool("v", false, "log progress")
	dir := flags.String("dir", "", "data and log folder (default: a new temporary folder)")
	_ = flags.Parse(os.Args[1:])

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	work := *dir
	if work == "" {
		var err error
		if work, err = os.MkdirTemp("", "gemella-topology-"); err != nil {
			fmt.Fprintln(os.Stderr, "topology:", err)
			os.Exit(1)
		}
	}
	root, err := repoRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "topology:", err)
		os.Exit(1)
	}
	t := &topology{root: root, dir: work, verbose: *verbose, procs: &procs{}}
	err = t.run(ctx)
	t.procs.killAll()
	t.closeInfra()
	if err != nil {
		if ctx.Err() != nil && !errors.Is(err, context.Canceled) {
			err = fmt.Errorf("%w (the run's deadline of %s passed)", err, *timeout)
		}
		fmt.Fprintf(os.Stderr, "topology: FAIL: %v\n(logs in %s)\n", err, work)
		os.Exit(1)
	}
	if !*keep && *dir == "" {
		_ = os.RemoveAll(work)
	}
}

// repoRoot is the folder holding go.work, found upwards from the working
// directory.
func repoRoot() (string, error) {
	d, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(d, "go.work")); err == nil {
			return d, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", errors.New("run from inside the repository (no go.work found)")
		}
		d = parent
	}
}
