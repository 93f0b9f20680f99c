package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/gemella/gemella/services/platform/embedded"
)

// runNATSChild is "topology nats": one member of the NATS cluster, in a
// process of its own so that kill -9 takes it down as a crash would.
func runNATSChild(args []string) int {
	flags := flag.NewFlagSet("topology nats", flag.ContinueOnError)
	name := flags.String("name", "", "server name")
	port := flags.Int("port", 0, "client port")
	clusterPort := flags.Int("cluster-port", 0, "route port")
	routes := flags.String("routes", "", "other members' route URLs, comma-separated")
	store := flags.String("store", "", "JetStream store folder")
	if err := flags.Parse(args); err != nil {
		return 2
	}
	n, err := embedded.StartNATS(embedded.NATSOptions{
		Name: *name, Port: *port, StoreDir: *store,
		ClusterName: "topology", ClusterPort: *clusterPort, Routes: strings.Split(*routes, ","),
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo})),
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "nats %s listening on %s\n", *name, n.URL())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	n.Shutdown()
	return 0
}

// runFerretDBChild is "topology ferretdb": the store, in a process of its
// own so that it can be stopped (SIGSTOP) and killed.
func runFerretDBChild(args []string) int {
	flags := flag.NewFlagSet("topology ferretdb", flag.ContinueOnError)
	addr := flags.String("addr", "127.0.0.1:0", "listen address")
	dir := flags.String("dir", "", "data folder")
	if err := flags.Parse(args); err != nil {
		return 2
	}
	startCtx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	f, err := embedded.StartFerretDB(startCtx, embedded.FerretDBOptions{Dir: *dir, Addr: *addr})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "ferretdb listening on %s\n", f.URI())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	f.Stop()
	return 0
}
