package envdoc

import (
	"github.com/gemella/gemella/deploy/devstack/stack"
	gateway "github.com/gemella/gemella/gateway/server"
	discussion "github.com/gemella/gemella/services/discussion/service"
	notification "github.com/gemella/gemella/services/notification/service"
	catalog "github.com/gemella/gemella/services/practice-catalog/service"
	twinning "github.com/gemella/gemella/services/twinning/service"
)

// Binaries are Gemella's programs and the configuration each loads, in
// the README's order. A new binary, or a new configuration struct a
// binary loads, is added here.
func Binaries() []Binary {
	return []Binary{
		{Name: "practice-catalog", EnvFile: true, Configs: []any{catalog.DefaultConfig()},
			Intro: "The catalogue of organisations, practices, needs and offers (`services/practice-catalog/cmd/practice-catalog`)."},
		{Name: "twinning", EnvFile: true, Configs: []any{twinning.DefaultConfig()},
			Intro: "Twinnings, transfers and activities (`services/twinning/cmd/twinning`)."},
		{Name: "discussion", EnvFile: true, Configs: []any{discussion.DefaultConfig(), discussion.BootstrapConfig{}},
			Intro: "Members, sessions, threads, posts and stories (`services/discussion/cmd/discussion`); `discussion bootstrap-admin` reads the same variables (it uses the store and the password hashing) and `GEMELLA_BOOTSTRAP_ADMIN_PASSWORD`."},
		{Name: "notification", EnvFile: true, Configs: []any{notification.DefaultConfig()},
			Intro: "Follows, notifications, their live stream and their e-mail (`services/notification/cmd/notification`)."},
		{Name: "gateway", EnvFile: true, Configs: []any{gateway.DefaultConfig()},
			Intro: "The REST API, the portal and the live feed (`gateway/cmd/gateway`)."},
		{Name: "devstack", Configs: []any{stack.DefaultConfig()},
			Intro: "`make run` (`deploy/devstack/cmd/devstack`) reads only these: it configures the services and the gateway it runs itself, on its embedded NATS and FerretDB."},
	}
}
