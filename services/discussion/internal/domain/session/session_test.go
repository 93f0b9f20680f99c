package session_test

import (
	"testing"
	"time"

	"github.com/gemella/gemella/services/discussion/internal/domain/session"
	"github.com/gemella/gemella/services/platform/apperr"
)

var t0 = time.Date(2025, 5, 16, 9, 0, 0, 0, time.UTC)

func TestASessionRefreshesUntilItEndsOrAges(t *testing.T) {
	const maxAge = 12 * time.Hour
	s, err := session.New("s-1", "m-1", t0, maxAge)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Refresh("m-1", t0.Add(time.Hour), maxAge); err != nil || !s.RefreshedAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("refresh within the age: %v, refreshed at %s", err, s.RefreshedAt)
	}
	tests := []struct {
		name   string
		member string
		at     time.Time
		maxAge time.Duration
	}{
		{"another member's token", "m-2", t0.Add(time.Hour), maxAge},
		{"at the maximum age", "m-1", t0.Add(maxAge), maxAge},
		{"after the age was shortened", "m-1", t0.Add(2 * time.Hour), time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := *s
			if err := c.Refresh(tt.member, tt.at, tt.maxAge); apperr.KindOf(err) != apperr.KindUnauthenticated {
				t.Fatalf("Refresh = %v, want unauthenticated", err)
			}
		})
	}
	if err := s.End("m-2", t0.Add(2*time.Hour)); apperr.KindOf(err) != apperr.KindUnauthenticated || !s.EndedAt.IsZero() {
		t.Fatalf("another member ended the session: %v", err)
	}
	if err := s.End("m-1", t0.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.End("m-1", t0.Add(3*time.Hour)); err != nil || !s.EndedAt.Equal(t0.Add(2*time.Hour)) {
		t.Fatalf("ending twice moved the end: %v %s", err, s.EndedAt)
	}
	if err := s.Refresh("m-1", t0.Add(3*time.Hour), maxAge); apperr.KindOf(err) != apperr.KindUnauthenticated {
		t.Fatalf("refresh after log-out: %v", err)
	}
}
