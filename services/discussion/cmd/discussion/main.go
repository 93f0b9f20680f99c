// Command discussion serves the community: members and their sessions,
// threads and posts, stories, moderation.
package main

import (
	"github.com/gemella/gemella/services/discussion/service"
	"github.com/gemella/gemella/services/platform/servicekit"
)

func main() { servicekit.Main(service.LoadConfig, service.New) }
