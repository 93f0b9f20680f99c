package ports

import (
	"context"

	eventsv1 "github.com/gemella/gemella/proto/gemella/events/v1"
	"github.com/gemella/gemella/services/notification/internal/app"
)

// Events is the consumers' port: every event of the three streams goes to
// the application, which decides whom it concerns.
type Events struct{ app *app.App }

// NewEvents wraps the application.
func NewEvents(a *app.App) Events { return Events{app: a} }

// Handle implements events.Handler.
func (e Events) Handle(ctx context.Context, env *eventsv1.Envelope) error {
	return e.app.HandleEvent(ctx, env)
}
