// Command practice-catalog serves the catalog of organisations and practices.
package main

import (
	"github.com/gemella/gemella/services/platform/servicekit"
	"github.com/gemella/gemella/services/practice-catalog/service"
)

func main() { servicekit.Main(service.LoadConfig, service.New) }
