package feed

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	eventsv1 "github.com/gemella/gemella/proto/gemella/events/v1"
	"github.com/gemella/gemella/services/platform/events"
)

// Config configures the hub.
type Config struct {
	// NATSURL of the cluster the services publish on.
	NATSURL string
	// Auth are the credentials and TLS of the connection; none is an
	// anonymous, plain connection (or what the URL says).
	Auth NATSAuth
	// Stream is the gateway's own stream that sources the services' streams,
	// so that every event has one sequence: the SSE event id.
	Stream string
	// Sources are the services' streams.
	Sources []string
	// Replicas of the feed stream (3 on a production cluster).
	Replicas int
	// MaxAge bounds how far back a reconnecting client can replay.
	MaxAge time.Duration
	// RingSize is how many recent public events are kept in memory for
	// cheap replay; older ones are read back from the stream.
	RingSize int
	// ClientBuffer is how many events may wait for one client; a client
	// that falls further behind is dropped (it reconnects and replays).
	ClientBuffer int
	// MaxReplay bounds the events one reconnect replays.
	MaxReplay int
	Logger    *slog.Logger
	// OnEvent, when set, is called for every message of the stream, public
	// or not, as it arrives (the gateway empties its cache of anonymous
	// reads); it must not block.
	OnEvent func()
}

func (c Config) withDefaults() Config {
	if c.Stream == "" {
		c.Stream = "FEED"
	}
	if len(c.Sources) == 0 {
		c.Sources = []string{"CATALOG", "TWINNING", "DISCUSSION"}
	}
	if c.Replicas == 0 {
		c.Replicas = 1
	}
	if c.MaxAge == 0 {
		c.MaxAge = 7 * 24 * time.Hour
	}
	if c.RingSize == 0 {
		c.RingSize = 1024
	}
	if c.ClientBuffer == 0 {
		c.ClientBuffer = 64
	}
	if c.MaxReplay == 0 {
		c.MaxReplay = 2000
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Filter selects the events of one twinning or practice; empty selects all.
type Filter struct {
	TwinningID string
	PracticeID string
}

func (f Filter) match(ev Event) bool {
	return (f.TwinningID == "" || ev.TwinningID == f.TwinningID) && (f.PracticeID == "" || ev.PracticeID == f.PracticeID)
}

// subscriber is one connected client. Its channel is closed by the hub when
// the client is dropped for being slow, or when the hub stops.
type subscriber struct {
	ch     chan Event
	filter Filter
	slow   bool
}

// Hub follows the feed stream and fans public events out to subscribers.
type Hub struct {
	cfg Config
	nc  *nats.Conn
	js  jetstream.JetStream
	log *slog.Logger

	mu          sync.Mutex
	ring        []Event
	coveredFrom uint64 // the ring holds every public event with a sequence >= coveredFrom
	lastSeq     uint64
	hidden      map[string]bool
	subs        map[*subscriber]struct{}
	closed      bool
	started     chan struct{}
}

// NewHub connects to NATS and makes sure the feed stream exists.
func NewHub(ctx context.Context, cfg Config) (*Hub, error) {
	cfg = cfg.withDefaults()
	opts, err := cfg.connectOptions()
	if err != nil {
		return nil, fmt.Errorf("live feed: %w", err)
	}
	nc, js, err := events.Connect(ctx, cfg.NATSURL, "gateway-feed", cfg.Logger, opts...)
	if err != nil {
		return nil, err
	}
	h := &Hub{cfg: cfg, nc: nc, js: js, log: cfg.Logger, hidden: map[string]bool{}, subs: map[*subscriber]struct{}{}, started: make(chan struct{})}
	if err := h.ensureStream(ctx); err != nil {
		nc.Close()
		return nil, err
	}
	return h, nil
}

// Conn is the hub's NATS connection, for the gateway's other uses of
// NATS (the replicas' presence).
func (h *Hub) Conn() *nats.Conn { return h.nc }

func (h *Hub) ensureStream(ctx context.Context) error {
	sc := jetstream.StreamConfig{
		Name:        h.cfg.Stream,
		Description: "Every service's events, in one sequence, for the gateway's live feed",
		Storage:     jetstream.FileStorage,
		Replicas:    h.cfg.Replicas,
		MaxAge:      h.cfg.MaxAge,
		Discard:     jetstream.DiscardOld,
	}
	for _, src := range h.cfg.Sources {
		sc.Sources = append(sc.Sources, &jetstream.StreamSource{Name: src})
	}
	// Two gateways starting together on a NATS cluster send the same
	// create at once; the server may leave one request, or both, without
	// an answer, while the stream is created all the same. So each
	// attempt is short, a stream that exists with this configuration is
	// success (whoever made it), and the attempts go on until
	// ensureStreamTimeout.
	ctx, cancel := context.WithTimeout(ctx, ensureStreamTimeout)
	defer cancel()
	var err error
	for {
		attempt, cancelAttempt := context.WithTimeout(ctx, ensureStreamAttempt)
		_, err = h.js.CreateOrUpdateStream(attempt, sc)
		if err != nil && h.streamExists(attempt, sc) {
			err = nil
		}
		cancelAttempt()
		if err == nil {
			return nil
		}
		h.log.Warn("live feed: ensure feed stream; trying again", "stream", sc.Name, "error", err)
		select {
		case <-ctx.Done():
			return fmt.Errorf("ensure feed stream %s: %w", h.cfg.Stream, err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Bounds of ensureStream: the whole, and each request.
const (
	ensureStreamTimeout = 60 * time.Second
	ensureStreamAttempt = 5 * time.Second
)

// streamExists reports whether the feed stream exists with the sources and
// replicas sc asks for (another gateway created it).
func (h *Hub) streamExists(ctx context.Context, sc jetstream.StreamConfig) bool {
	s, err := h.js.Stream(ctx, sc.Name)
	if err != nil {
		return false
	}
	got := s.CachedInfo().Config
	if got.Replicas != sc.Replicas || len(got.Sources) != len(sc.Sources) {
		return false
	}
	for i, src := range sc.Sources {
		if got.Sources[i] == nil || got.Sources[i].Name != src.Name {
			return false
		}
	}
	return true
}

// Run follows the stream until ctx is done, then closes every subscriber so
// that open feeds end cleanly.
func (h *Hub) Run(ctx context.Context) error {
	defer h.nc.Close()
	defer h.closeAll()
	stream, err := h.js.Stream(ctx, h.cfg.Stream)
	if err != nil {
		return fmt.Errorf("feed stream: %w", err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		return fmt.Errorf("feed stream info: %w", err)
	}
	// Start far enough back to fill the ring, so replay works right after a
	// gateway restart.
	start := uint64(1)
	if info.State.LastSeq > uint64(h.cfg.RingSize) {
		start = info.State.LastSeq - uint64(h.cfg.RingSize) + 1
	}
	if start < info.State.FirstSeq {
		start = info.State.FirstSeq
	}
	h.mu.Lock()
	h.coveredFrom, h.lastSeq = start, start-1
	h.mu.Unlock()
	close(h.started)
	cons, err := h.js.OrderedConsumer(ctx, h.cfg.Stream, jetstream.OrderedConsumerConfig{
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: start,
	})
	if err != nil {
		return fmt.Errorf("feed consumer: %w", err)
	}
	it, err := cons.Messages()
	if err != nil {
		return fmt.Errorf("feed messages: %w", err)
	}
	go func() { <-ctx.Done(); it.Stop() }()
	for {
		msg, err := it.Next()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				return nil
			}
			h.log.Warn("feed: next message", "err", err)
			continue
		}
		meta, err := msg.Metadata()
		if err != nil {
			continue
		}
		h.apply(meta.Sequence.Stream, msg.Data())
	}
}

// apply records one stream message and hands a public event to subscribers.
func (h *Hub) apply(seq uint64, data []byte) {
	var env eventsv1.Envelope
	if err := proto.Unmarshal(data, &env); err != nil {
		h.log.Warn("feed: undecodable message", "seq", seq, "err", err)
		return
	}
	if h.cfg.OnEvent != nil {
		h.cfg.OnEvent()
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.lastSeq = seq
	switch env.GetType() {
	case "discussion.post.hidden":
		var m eventsv1.PostModerated
		if env.GetPayload().UnmarshalTo(&m) == nil {
			h.hidden[m.GetPostId()] = true
		}
		return
	case "discussion.post.restored", "discussion.post.reports_dismissed":
		// Dismissed reports show again a post that the reports hid.
		var m eventsv1.PostModerated
		if env.GetPayload().UnmarshalTo(&m) == nil {
			delete(h.hidden, m.GetPostId())
		}
		return
	}
	ev, ok := public(&env)
	if !ok {
		return
	}
	ev.ID = seq
	h.ring = append(h.ring, ev)
	if len(h.ring) > h.cfg.RingSize {
		h.coveredFrom = h.ring[0].ID + 1
		h.ring = h.ring[1:]
	}
	for s := range h.subs {
		if !s.filter.match(ev) {
			continue
		}
		select {
		case s.ch <- ev:
		default:
			// Too slow: drop it rather than buffer without bound. It
			// reconnects with Last-Event-ID and replays what it missed.
			s.slow = true
			delete(h.subs, s)
			close(s.ch)
		}
	}
}

func (h *Hub) visible(ev Event) bool { return ev.postID == "" || !h.hidden[ev.postID] }

// subscribe registers a client and returns what it missed after lastID
// that the ring still holds, plus the range it must read from the stream.
func (h *Hub) subscribe(ctx context.Context, f Filter, lastID uint64, replay bool) (*subscriber, []Event, [2]uint64, error) {
	select {
	case <-h.started:
	case <-ctx.Done():
		return nil, nil, [2]uint64{}, ctx.Err()
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, nil, [2]uint64{}, errors.New("feed is shutting down")
	}
	s := &subscriber{ch: make(chan Event, h.cfg.ClientBuffer), filter: f}
	h.subs[s] = struct{}{}
	var backlog []Event
	var fromStream [2]uint64
	if replay {
		for _, ev := range h.ring {
			if ev.ID > lastID && f.match(ev) && h.visible(ev) {
				backlog = append(backlog, ev)
			}
		}
		if lastID+1 < h.coveredFrom {
			first := lastID + 1
			if h.coveredFrom-first > uint64(h.cfg.MaxReplay) {
				first = h.coveredFrom - uint64(h.cfg.MaxReplay)
			}
			fromStream = [2]uint64{first, h.coveredFrom - 1}
		}
	}
	return s, backlog, fromStream, nil
}

func (h *Hub) unsubscribe(s *subscriber) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.subs[s]; ok {
		delete(h.subs, s)
		close(s.ch)
	}
}

// replay reads the public events of [from, to] back from the stream.
func (h *Hub) replay(ctx context.Context, f Filter, from, to uint64) ([]Event, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cons, err := h.js.OrderedConsumer(ctx, h.cfg.Stream, jetstream.OrderedConsumerConfig{
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: from,
	})
	if err != nil {
		return nil, fmt.Errorf("replay consumer: %w", err)
	}
	var out []Event
	for seq := from; seq <= to; {
		batch, err := cons.Fetch(int(min(to-seq+1, 256)), jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			return out, fmt.Errorf("replay fetch: %w", err)
		}
		n := 0
		for msg := range batch.Messages() {
			n++
			meta, err := msg.Metadata()
			if err != nil {
				continue
			}
			seq = meta.Sequence.Stream + 1
			if meta.Sequence.Stream > to {
				break
			}
			var env eventsv1.Envelope
			if proto.Unmarshal(msg.Data(), &env) != nil {
				continue
			}
			if ev, ok := public(&env); ok {
				ev.ID = meta.Sequence.Stream
				h.mu.Lock()
				keep := f.match(ev) && h.visible(ev)
				h.mu.Unlock()
				if keep {
					out = append(out, ev)
				}
			}
		}
		if n == 0 {
			break // the range holds no more messages (expired or purged)
		}
	}
	return out, nil
}

// closeAll ends every open feed; the handlers see their channel closed.
func (h *Hub) closeAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for s := range h.subs {
		delete(h.subs, s)
		close(s.ch)
	}
}

// Subscribers is the number of open feeds.
func (h *Hub) Subscribers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}
