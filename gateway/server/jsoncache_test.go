package server

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	catalogv1 "github.com/gemella/gemella/proto/gemella/catalog/v1"
)

// countingEncoder counts the misses, the messages actually encoded.
type countingEncoder struct {
	runtime.JSONPb
	calls int
}

func (c *countingEncoder) Marshal(v any) ([]byte, error) {
	c.calls++
	return c.JSONPb.Marshal(v)
}

func newCountingEncoder() *countingEncoder {
	return &countingEncoder{JSONPb: runtime.JSONPb{MarshalOptions: protojson.MarshalOptions{UseProtoNames: true, EmitDefaultValues: true}}}
}

// TestEncodedCacheAnswersOnlyTheSameMessage: an answer seen before comes
// from the cache; a changed field, another etag or another message type is
// encoded anew, and what comes out is always the JSON of the message given.
func TestEncodedCacheAnswersOnlyTheSameMessage(t *testing.T) {
	c := newEncodedCache(1<<20, 64<<10)
	enc := newCountingEncoder()
	check := func(m proto.Message, wantCalls int) {
		t.Helper()
		got, err := c.marshal(m, enc)
		if err != nil {
			t.Fatal(err)
		}
		want, err := newCountingEncoder().Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("cache gave %s, want %s", got, want)
		}
		if enc.calls != wantCalls {
			t.Errorf("%d encodings, want %d", enc.calls, wantCalls)
		}
	}
	p := proto.Clone(benchPractice).(*catalogv1.Practice)
	check(p, 1)
	check(proto.Clone(p), 1) // an equal message: a hit
	p.Etag = `"4"`
	check(p, 2)
	p.Themes = append(p.Themes, "inclusione")
	check(p, 3)
	check(&catalogv1.Territory{Code: "ITI1", Name: "Toscana"}, 4)
	// A Model with these values has the same binary encoding as the
	// Territory (fields 1 and 2, both strings): the type is part of the key.
	territory, _ := proto.Marshal(&catalogv1.Territory{Code: "ITI1", Name: "Toscana"})
	model, _ := proto.Marshal(&catalogv1.Model{Code: "ITI1", Title: "Toscana"})
	if !bytes.Equal(territory, model) {
		t.Fatalf("test premise: the two encodings differ")
	}
	check(&catalogv1.Model{Code: "ITI1", Title: "Toscana"}, 5)
	check(&catalogv1.Territory{Code: "ITI1", Name: "Toscana"}, 5)

	// The bytes handed out are not the cache's to change: appending copies.
	out, _ := c.marshal(p, enc)
	_ = append(out, "tail"...)
	again, _ := c.marshal(p, enc)
	if !bytes.Equal(out, again) {
		t.Errorf("an append by the caller changed the cached JSON")
	}
}

// TestEncodedCacheStaysWithinItsBound: however many answers go through,
// the cache holds at most its byte bound, and answers larger than an entry
// may be are encoded and not kept.
func TestEncodedCacheStaysWithinItsBound(t *testing.T) {
	const bound = 64 << 10
	c := newEncodedCache(bound, 8<<10)
	enc := newCountingEncoder()
	for i := range 2000 {
		p := proto.Clone(benchPractice).(*catalogv1.Practice)
		p.Id = fmt.Sprintf("p-%d", i)
		if _, err := c.marshal(p, enc); err != nil {
			t.Fatal(err)
		}
		if _, n := c.size(); n > bound {
			t.Fatalf("after %d answers the cache holds %d bytes, bound %d", i+1, n, bound)
		}
	}
	entries, n := c.size()
	if entries == 0 || n < bound/2 {
		t.Errorf("cache holds %d entries, %d bytes: it should stay near its bound", entries, n)
	}
	big := proto.Clone(benchPractice).(*catalogv1.Practice)
	big.Description = string(bytes.Repeat([]byte("x"), 10<<10))
	before, _ := c.size()
	for range 2 {
		if _, err := c.marshal(big, enc); err != nil {
			t.Fatal(err)
		}
	}
	if after, _ := c.size(); after > before {
		t.Errorf("an answer over the entry bound was kept")
	}
}
