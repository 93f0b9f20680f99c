package events

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Publisher puts one message on a stream and returns once the stream has
// stored it. msgID becomes the Nats-Msg-Id, so publishing the same event
// again within the stream's duplicate window stores nothing new.
type Publisher interface {
	Publish(ctx context.Context, subject, msgID string, data []byte) error
}

// NewJetStreamPublisher publishes through js and waits for the stream's ack.
// The W3C trace context of ctx (traceparent, tracestate) goes into the
// message headers, where Consume picks it up. Without a deadline on ctx,
// the JetStream default (5s) applies.
func NewJetStreamPublisher(js jetstream.JetStream) Publisher {
	return jetStreamPublisher{js: js}
}

type jetStreamPublisher struct {
	js jetstream.JetStream
}

func (p jetStreamPublisher) Publish(ctx context.Context, subject, msgID string, data []byte) error {
	if msgID == "" {
		// Without an id the duplicate window cannot protect re-publishes.
		return fmt.Errorf("publish to %s: %w", subject, errors.New("message id is required"))
	}
	msg := nats.NewMsg(subject)
	msg.Data = data
	traceContext.Inject(ctx, headerCarrier(msg.Header))
	if _, err := p.js.PublishMsg(ctx, msg, jetstream.WithMsgID(msgID)); err != nil {
		return fmt.Errorf("publish %s to %s: %w", msgID, subject, err)
	}
	return nil
}
