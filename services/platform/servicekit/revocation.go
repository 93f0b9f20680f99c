package servicekit

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/gemella/gemella/services/platform/auth"
)

// Every service refuses the tokens of ended sessions: its verifier reads
// the revocations that a watch of the auth.RevocationBucket keeps current
// (watchRevocations, started once NATS is connected), and a service that
// ends a session (the discussion, on log-out) puts it there through
// Ports.RevokeSession. In memory the revocations are the service's own.

// revocationState is the service's revocations and, once NATS is up, the
// bucket they are watched from.
type revocationState struct {
	list *auth.Revocations
	mu   sync.Mutex
	kv   jetstream.KeyValue
}

func (r *revocationState) bucket() jetstream.KeyValue {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.kv
}

func (r *revocationState) setBucket(kv jetstream.KeyValue) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.kv = kv
}

// revokeSessionTimeout bounds putting one revocation.
const revokeSessionTimeout = 5 * time.Second

// revokeSession refuses the session's tokens here at once and, through
// the bucket, at every service. In memory it is this service's alone.
func (s *Service) revokeSession(ctx context.Context, sessionID string, until time.Time) error {
	s.revoked.list.Add(sessionID, until)
	if s.db == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, revokeSessionTimeout)
	defer cancel()
	kv := s.revoked.bucket()
	if kv == nil {
		js := s.jetStream()
		if js == nil {
			return errors.New("NATS is not connected: the other services cannot be told")
		}
		var err error
		if kv, err = auth.OpenRevocations(ctx, js, s.cfg.NATS.StreamReplicas); err != nil {
			return err
		}
	}
	return auth.Revoke(ctx, kv, sessionID, until)
}

// watchRevocations keeps the verifier's revocations current until ctx
// ends, opening the bucket and watching again after a failure.
func (s *Service) watchRevocations(ctx context.Context, js jetstream.JetStream) {
	_ = Retry(ctx, s.logger, "revocation watch", func(ctx context.Context) error {
		kv, err := auth.OpenRevocations(ctx, js, s.cfg.NATS.StreamReplicas)
		if err != nil {
			return err
		}
		s.revoked.setBucket(kv)
		if err := auth.WatchRevocations(ctx, kv, s.revoked.list); err != nil {
			return err
		}
		if ctx.Err() == nil {
			return fmt.Errorf("the %s watch ended", auth.RevocationBucket)
		}
		return nil
	})
}
