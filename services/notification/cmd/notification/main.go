// Command notification serves follows and notifications and mails them.
package main

import (
	"github.com/gemella/gemella/services/notification/service"
	"github.com/gemella/gemella/services/platform/servicekit"
)

func main() { servicekit.Main(service.LoadConfig, service.New) }
