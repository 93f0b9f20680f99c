// Command twinning serves twinnings, their transfers and their activity log.
package main

import (
	"github.com/gemella/gemella/services/platform/servicekit"
	"github.com/gemella/gemella/services/twinning/service"
)

func main() { servicekit.Main(service.LoadConfig, service.New) }
