// Command discussion serves the community: members and their sessions,
// threads and posts, stories, moderation.
//
//	discussion                      serve (configuration: README, "Configuration")
//	discussion bootstrap-admin ...  make the first administrator, once (bootstrap.go)
package main

import (
	"os"

	"github.com/gemella/gemella/services/discussion/service"
	"github.com/gemella/gemella/services/platform/servicekit"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == bootstrapCommand {
		os.Exit(bootstrapAdmin(os.Args[2:], os.Stdin, os.Stdout, os.Stderr))
	}
	servicekit.Main(service.LoadConfig, service.New)
}
