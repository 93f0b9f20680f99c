package outbox_test

import (
	"fmt"
	"testing"

	"github.com/gemella/gemella/services/platform/outbox"
)

// BenchmarkRelayDrain measures how fast one relay empties a backlog of
// documents with one event each on the embedded FerretDB and NATS.
func BenchmarkRelayDrain(b *testing.B) {
	w := newWorld(b)
	things := w.things(b, "things")
	relay := outbox.NewRelay(outbox.RelayConfig{Logger: quiet, Locks: w.locks}, w.pub, things)
	const docs = 200
	b.ResetTimer()
	for n := range b.N {
		b.StopTimer()
		for i := range docs {
			id := fmt.Sprintf("thing-%d-%d", n, i)
			if err := insertThing(testContext(b), things, id, thingRecord(b, id, 1)); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		published := 0
		for published < docs {
			got, err := relay.RelayOnce(testContext(b))
			if err != nil {
				b.Fatal(err)
			}
			published += got
		}
	}
	b.ReportMetric(float64(docs*b.N)/b.Elapsed().Seconds(), "events/s")
}
