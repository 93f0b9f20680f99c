// Command gemella-secrets writes throw-away keys, certificates and
// passwords for trying a deployment, keeping files that exist:
//
//	go run ./deploy/check/cmd/gemella-secrets -compose deploy/compose/secrets
//	go run ./deploy/check/cmd/gemella-secrets -k8s deploy/k8s/secrets
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/gemella/gemella/deploy/check/devsecrets"
)

func main() {
	compose := flag.String("compose", "", "folder of the Compose secrets (deploy/compose/secrets)")
	k8s := flag.String("k8s", "", "folder of the Kubernetes secrets (deploy/k8s/secrets)")
	flag.Parse()
	if *compose == "" && *k8s == "" {
		fmt.Fprintln(os.Stderr, "gemella-secrets: give -compose DIR, -k8s DIR or both")
		os.Exit(2)
	}
	for dir, layout := range map[string]devsecrets.Layout{*compose: devsecrets.Compose, *k8s: devsecrets.Kubernetes} {
		if dir == "" {
			continue
		}
		if err := devsecrets.Write(dir, layout); err != nil {
			fmt.Fprintf(os.Stderr, "gemella-secrets: %s: %v\n", dir, err)
			os.Exit(1)
		}
		fmt.Printf("gemella-secrets: %s has every file (existing ones kept)\n", dir)
	}
}
