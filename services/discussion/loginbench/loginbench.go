// Package loginbench measures what log-in costs and whether the log-in
// limiter keeps the community service responsive under password guessing:
//
//   - argon2id hashes per second on one core, and the memory each takes,
//     with the parameters (and whether they meet OWASP's recommendation);
//   - a whole log-in over gRPC, one at a time;
//   - the latency of a normal read (ListMembers) without load, while 50
//     wrong-password log-ins a second hit one account with the limiter on,
//     and the same attack with the limiter off, for comparison; and how
//     long another member's log-in takes during the attack.
//
// The service runs on its in-memory repositories in this process, on
// loopback, so the figures are of our own code and of argon2id, not of a
// database. `make bench` calls Run.
package loginbench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	discussionv1 "github.com/gemella/gemella/proto/gemella/discussion/v1"
	"github.com/gemella/gemella/services/discussion/internal/password"
	"github.com/gemella/gemella/services/discussion/service"
	"github.com/gemella/gemella/services/platform/grpcx"
)

// Options are the knobs of a run; zero values take the defaults.
type Options struct {
	// Phase is how long each measurement lasts; default 3s.
	Phase time.Duration
	// AttackRate is the wrong-password log-ins per second; default 50.
	AttackRate int
	// ReadEvery paces the measured reads; default 10ms.
	ReadEvery time.Duration
	// Members registered before reading; default 20 (a page of ListMembers).
	Members int
}

func (o Options) withDefaults() Options {
	if o.Phase <= 0 {
		o.Phase = 3 * time.Second
	}
	if o.AttackRate <= 0 {
		o.AttackRate = 50
	}
	if o.ReadEvery <= 0 {
		o.ReadEvery = 10 * time.Millisecond
	}
	if o.Members <= 0 {
		o.Members = 20
	}
	return o
}

// Latency summarises the durations of a set of calls.
type Latency struct {
	Count              int
	Errors             int
	P50, P95, P99, Max time.Duration
}

func summarise(samples []time.Duration, errs int) Latency {
	l := Latency{Count: len(samples), Errors: errs}
	if len(samples) == 0 {
		return l
	}
	slices.Sort(samples)
	at := func(q float64) time.Duration {
		return samples[min(len(samples)-1, int(math.Ceil(q*float64(len(samples))))-1)]
	}
	l.P50, l.P95, l.P99, l.Max = at(0.50), at(0.95), at(0.99), samples[len(samples)-1]
	return l
}

// Attack counts how the service answered the wrong-password log-ins.
type Attack struct {
	Sent int
	// Checked were answered Unauthenticated: the password was hashed.
	Checked int
	// Refused were answered ResourceExhausted at once, without hashing.
	Refused int
	Other   int
}

// Result holds every figure of a run.
type Result struct {
	Params     service.Argon2
	MeetsOWASP bool
	// Hashing on one core (GOMAXPROCS 1 while it runs).
	HashesPerSecond float64
	HashDuration    time.Duration
	HashBytes       uint64
	// Whole log-ins over gRPC, one at a time.
	LoginsPerSecond float64
	LoginDuration   time.Duration
	LoginBytes      uint64
	// ListMembers latency without load, during the attack with the limiter
	// on, and during the attack with the limiter off.
	ReadIdle, ReadAttacked, ReadAttackedNoLimiter Latency
	Attacked, AttackedNoLimiter                   Attack
	// OtherLogin is another member's log-in during the attack (limiter on).
	OtherLogin Latency
}

// Run measures with the default options and prints the figures to out.
func Run(ctx context.Context, out io.Writer) error {
	r, err := Measure(ctx, Options{})
	if err != nil {
		return err
	}
	Print(out, r)
	return nil
}

// Measure runs every measurement; it takes about 6 phases plus set-up.
func Measure(ctx context.Context, o Options) (Result, error) {
	o = o.withDefaults()
	cfg := service.DefaultConfig()
	cfg.GRPC.Addr = "127.0.0.1:0"
	r := Result{Params: cfg.Argon2}
	r.MeetsOWASP = cfg.Argon2.Params().Validate() == nil

	if err := measureHashing(ctx, cfg.Argon2.Params(), o.Phase, &r); err != nil {
		return r, err
	}

	limited, err := startService(ctx, cfg, o)
	if err != nil {
		return r, err
	}
	defer limited.stop()
	r.Params = limited.svc.PasswordHashing()
	if err := limited.measureLogins(ctx, o.Phase, &r); err != nil {
		return r, err
	}
	r.ReadIdle = limited.reads(ctx, o.Phase, o.ReadEvery)
	r.ReadAttacked, r.Attacked, r.OtherLogin = limited.underAttack(ctx, o, true)

	// The same attack on a service whose limiter never holds anyone back.
	lax := cfg
	lax.Login.FreeFailures, lax.Login.LockAfter = math.MaxInt32-1, math.MaxInt32
	open, err := startService(ctx, lax, o)
	if err != nil {
		return r, err
	}
	defer open.stop()
	r.ReadAttackedNoLimiter, r.AttackedNoLimiter, _ = open.underAttack(ctx, o, false)
	return r, ctx.Err()
}

// measureHashing hashes on one core for a phase.
func measureHashing(ctx context.Context, params password.Params, phase time.Duration, r *Result) error {
	h, err := password.New(params, 1)
	if err != nil {
		return err
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	n, elapsed, bytes, err := repeat(ctx, phase, func() error {
		_, err := h.Hash(ctx, "una password di prova abbastanza lunga")
		return err
	})
	if err != nil {
		return err
	}
	r.HashesPerSecond = float64(n) / elapsed.Seconds()
	r.HashDuration = elapsed / time.Duration(n)
	r.HashBytes = bytes / uint64(n)
	return nil
}

// repeat calls fn one at a time for d and reports the calls, their time
// and the bytes they allocated.
func repeat(ctx context.Context, d time.Duration, fn func() error) (n int, elapsed time.Duration, allocated uint64, err error) {
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	for time.Since(start) < d && ctx.Err() == nil {
		if err := fn(); err != nil {
			return 0, 0, 0, err
		}
		n++
	}
	elapsed = time.Since(start)
	runtime.ReadMemStats(&after)
	if n == 0 {
		return 0, 0, 0, errors.New("no call completed")
	}
	return n, elapsed, after.TotalAlloc - before.TotalAlloc, ctx.Err()
}

const (
	benchPassword = "una password di prova abbastanza lunga"
	targetEmail   = "bersaglio@example.it"
	userEmail     = "utente@example.it"
)

type running struct {
	svc    *service.Service
	client discussionv1.DiscussionServiceClient
	stop   func()
}

func startService(ctx context.Context, cfg service.Config, o Options) (*running, error) {
	quiet := slog.New(slog.DiscardHandler)
	svc, err := service.NewInMemory(cfg, quiet)
	if err != nil {
		return nil, err
	}
	if err := svc.Listen(); err != nil {
		return nil, err
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { _ = svc.Run(runCtx); close(done) }()
	conn, err := grpcx.Dial(svc.Addr(), 10*time.Second)
	if err != nil {
		cancel()
		<-done
		return nil, err
	}
	r := &running{svc: svc, client: discussionv1.NewDiscussionServiceClient(conn), stop: func() { _ = conn.Close(); cancel(); <-done }}
	emails := []string{targetEmail, userEmail}
	for i := 0; i < o.Members; i++ {
		emails = append(emails, fmt.Sprintf("membro%02d@example.it", i))
	}
	for i, email := range emails {
		_, err := r.client.RegisterMember(ctx, &discussionv1.RegisterMemberRequest{
			Member:   &discussionv1.Member{DisplayName: fmt.Sprintf("Membro %d", i), Email: email, OrganizationName: "Regione Toscana", RoleTitle: "Funzionario"},
			Password: benchPassword, PrivacyConsent: true,
		})
		if err != nil {
			r.stop()
			return nil, fmt.Errorf("register %s: %w", email, err)
		}
	}
	return r, nil
}

func (s *running) login(ctx context.Context, email, pw string) error {
	_, err := s.client.CreateSession(ctx, &discussionv1.CreateSessionRequest{Email: email, Password: pw})
	return err
}

func (s *running) measureLogins(ctx context.Context, phase time.Duration, r *Result) error {
	n, elapsed, bytes, err := repeat(ctx, phase, func() error { return s.login(ctx, userEmail, benchPassword) })
	if err != nil {
		return err
	}
	r.LoginsPerSecond = float64(n) / elapsed.Seconds()
	r.LoginDuration = elapsed / time.Duration(n)
	r.LoginBytes = bytes / uint64(n)
	return nil
}

// reads calls ListMembers every `every` for d and summarises the latencies.
func (s *running) reads(ctx context.Context, d, every time.Duration) Latency {
	var samples []time.Duration
	errs := 0
	tick := time.NewTicker(every)
	defer tick.Stop()
	end := time.Now().Add(d)
	for time.Now().Before(end) && ctx.Err() == nil {
		start := time.Now()
		_, err := s.client.ListMembers(ctx, &discussionv1.ListMembersRequest{PageSize: 20})
		if err != nil {
			errs++
		} else {
			samples = append(samples, time.Since(start))
		}
		<-tick.C
	}
	return summarise(samples, errs)
}

// underAttack sends o.AttackRate wrong-password log-ins a second at one
// account while measuring reads and, with the limiter on, another member's
// log-ins.
func (s *running) underAttack(ctx context.Context, o Options, otherLogins bool) (Latency, Attack, Latency) {
	attackCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var sent, checked, refused, other atomic.Int64
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(time.Second / time.Duration(o.AttackRate))
		defer tick.Stop()
		for {
			select {
			case <-attackCtx.Done():
				return
			case <-tick.C:
			}
			sent.Add(1)
			wg.Add(1)
			go func() {
				defer wg.Done()
				callCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
				defer cancel()
				switch status.Code(s.login(callCtx, targetEmail, "tentativo sbagliato")) {
				case codes.Unauthenticated:
					checked.Add(1)
				case codes.ResourceExhausted:
					refused.Add(1)
				default:
					other.Add(1)
				}
			}()
		}
	}()
	var otherLatency Latency
	var lmu sync.Mutex
	if otherLogins {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var samples []time.Duration
			errs := 0
			for attackCtx.Err() == nil {
				start := time.Now()
				if err := s.login(attackCtx, userEmail, benchPassword); err != nil {
					if attackCtx.Err() == nil {
						errs++
					}
				} else {
					samples = append(samples, time.Since(start))
				}
				select {
				case <-attackCtx.Done():
				case <-time.After(200 * time.Millisecond):
				}
			}
			lmu.Lock()
			otherLatency = summarise(samples, errs)
			lmu.Unlock()
		}()
	}
	// Let the attack reach its steady state before measuring.
	time.Sleep(time.Second)
	read := s.reads(ctx, o.Phase, o.ReadEvery)
	stop()
	wg.Wait()
	lmu.Lock()
	defer lmu.Unlock()
	return read, Attack{Sent: int(sent.Load()), Checked: int(checked.Load()), Refused: int(refused.Load()), Other: int(other.Load())}, otherLatency
}

// Print writes the figures for a reader.
func Print(out io.Writer, r Result) {
	mib := func(b uint64) float64 { return float64(b) / (1 << 20) }
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	owasp := "meets"
	if !r.MeetsOWASP {
		owasp = "DOES NOT meet"
	}
	fmt.Fprintln(out, "log-in benchmark: discussion service on in-memory repositories, client and server in this process on loopback")
	fmt.Fprintf(out, "  password hash      argon2id m=%d KiB (%.1f MiB), t=%d, p=%d; %s the OWASP minimum (m=19456 KiB, t=2, p=1 or equivalent); at most %d hashes at once\n",
		r.Params.MemoryKiB, float64(r.Params.MemoryKiB)/1024, r.Params.Iterations, r.Params.Parallelism, owasp, r.Params.MaxConcurrent)
	fmt.Fprintf(out, "  hashing, one core  %.1f hashes/s (%.1f ms each), %.1f MiB allocated per hash\n", r.HashesPerSecond, ms(r.HashDuration), mib(r.HashBytes))
	fmt.Fprintf(out, "  log-in over gRPC   %.1f log-ins/s one at a time (%.1f ms each), %.1f MiB allocated per attempt\n", r.LoginsPerSecond, ms(r.LoginDuration), mib(r.LoginBytes))
	line := func(name string, l Latency) {
		fmt.Fprintf(out, "  %-46s n=%-4d p50 %6.2f ms  p95 %6.2f ms  p99 %6.2f ms  max %7.2f ms  errors %d\n", name, l.Count, ms(l.P50), ms(l.P95), ms(l.P99), ms(l.Max), l.Errors)
	}
	fmt.Fprintln(out, "  ListMembers (page of 20) latency:")
	line("no load", r.ReadIdle)
	line("50 wrong log-ins/s on one account, limiter on", r.ReadAttacked)
	line("the same, limiter off (for comparison)", r.ReadAttackedNoLimiter)
	line("another member's log-in during the attack", r.OtherLogin)
	attack := func(name string, a Attack) {
		fmt.Fprintf(out, "  %-46s %d sent: %d checked (password hashed), %d refused at once (RESOURCE_EXHAUSTED), %d other\n", name, a.Sent, a.Checked, a.Refused, a.Other)
	}
	attack("attack, limiter on", r.Attacked)
	attack("attack, limiter off", r.AttackedNoLimiter)
	if r.ReadIdle.P99 > 0 {
		fmt.Fprintf(out, "  read p99 under attack / idle: %.2f with the limiter, %.2f without\n",
			float64(r.ReadAttacked.P99)/float64(r.ReadIdle.P99), float64(r.ReadAttackedNoLimiter.P99)/float64(r.ReadIdle.P99))
	}
}
