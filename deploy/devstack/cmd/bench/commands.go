package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/event"
)

// commandCounter watches the store commands of the services' clients (a
// mongo-driver CommandMonitor on each) during (d)'s window: what one
// event costs the store, command by command, and how many of those
// commands the embedded FerretDB cannot serve through an index. Its
// SQLite backend uses one only for a filter that is exactly {_id: value};
// any other filter scans and decodes the whole collection, so it grows
// with the collection.
type commandCounter struct {
	mu       sync.Mutex
	on       bool
	groups   map[commandKey]*commandGroup
	inFlight map[int64]*commandGroup // by request id, between started and finished
}

type commandKey struct{ database, collection, command string }

// commandGroup is what the window saw of one command on one collection.
type commandGroup struct {
	Database   string `json:"database"`
	Collection string `json:"collection"`
	Command    string `json:"command"`
	Count      int    `json:"count"`
	// NotByID counts the commands with a filter other than exactly
	// {_id: value}: a collection scan on the embedded FerretDB.
	NotByID    int     `json:"not_by_id"`
	PerEvent   float64 `json:"per_event"`
	MeanMillis float64 `json:"mean_ms"`
	// MillisPerEvent is the store time of these commands per event.
	MillisPerEvent float64 `json:"ms_per_event"`
	total          time.Duration
}

// storeCommands is what commandCounter reports for a window of events.
type storeCommands struct {
	Events          int     `json:"events"`
	Commands        int     `json:"commands"`
	PerEvent        float64 `json:"per_event"`
	NotByIDPerEvent float64 `json:"not_by_id_per_event"`
	// MillisPerEvent adds up the store time of every command, per event:
	// commands of one event overlap with those of others, and the
	// services' commands run side by side, so it is not a latency.
	MillisPerEvent float64         `json:"store_ms_per_event"`
	Groups         []*commandGroup `json:"by_command"`
}

func newCommandCounter() *commandCounter {
	return &commandCounter{groups: map[commandKey]*commandGroup{}, inFlight: map[int64]*commandGroup{}}
}

// monitor is the CommandMonitor to give each service's client.
func (c *commandCounter) monitor() *event.CommandMonitor {
	return &event.CommandMonitor{
		Started: c.started,
		Succeeded: func(_ context.Context, e *event.CommandSucceededEvent) {
			c.finished(e.RequestID, e.Duration)
		},
		Failed: func(_ context.Context, e *event.CommandFailedEvent) {
			c.finished(e.RequestID, e.Duration)
		},
	}
}

// count turns counting on or off; commands started while on are counted.
func (c *commandCounter) count(on bool) {
	c.mu.Lock()
	c.on = on
	c.mu.Unlock()
}

func (c *commandCounter) started(_ context.Context, e *event.CommandStartedEvent) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.on {
		return
	}
	key := commandKey{e.DatabaseName, collectionOf(e.CommandName, e.Command), e.CommandName}
	g := c.groups[key]
	if g == nil {
		g = &commandGroup{Database: key.database, Collection: key.collection, Command: key.command}
		c.groups[key] = g
	}
	g.Count++
	if !filtersByID(e.CommandName, e.Command) {
		g.NotByID++
	}
	c.inFlight[e.RequestID] = g
}

func (c *commandCounter) finished(requestID int64, took time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if g := c.inFlight[requestID]; g != nil {
		g.total += took
		delete(c.inFlight, requestID)
	}
}

// report divides what was counted by events, largest cost first.
func (c *commandCounter) report(events int) storeCommands {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := storeCommands{Events: events}
	per := func(n float64) float64 {
		if events == 0 {
			return 0
		}
		return n / float64(events)
	}
	var notByID int
	var total time.Duration
	for _, g := range c.groups {
		g.PerEvent = per(float64(g.Count))
		g.MeanMillis = millis(g.total) / float64(max(1, g.Count))
		g.MillisPerEvent = per(millis(g.total))
		out.Commands += g.Count
		notByID += g.NotByID
		total += g.total
		out.Groups = append(out.Groups, g)
	}
	out.PerEvent, out.NotByIDPerEvent, out.MillisPerEvent = per(float64(out.Commands)), per(float64(notByID)), per(millis(total))
	slices.SortFunc(out.Groups, func(a, b *commandGroup) int {
		return cmp.Or(cmp.Compare(b.MillisPerEvent, a.MillisPerEvent), cmp.Compare(b.Count, a.Count),
			strings.Compare(a.Database+a.Collection+a.Command, b.Database+b.Collection+b.Command))
	})
	return out
}

// collectionOf names the collection a command works on: the value of its
// first element for the CRUD commands, "collection" for getMore.
func collectionOf(name string, cmd bson.Raw) string {
	if name == "getMore" {
		if s, ok := cmd.Lookup("collection").StringValueOK(); ok {
			return s
		}
	}
	elems, err := cmd.Elements()
	if err != nil || len(elems) == 0 {
		return ""
	}
	if s, ok := elems[0].Value().StringValueOK(); ok && elems[0].Key() == name {
		return s
	}
	return ""
}

// filtersByID reports whether every filter of cmd is exactly {_id: value}
// (value not an operator document), or cmd has none: what the embedded
// FerretDB serves without a scan.
func filtersByID(name string, cmd bson.Raw) bool {
	var filters []bson.RawValue
	switch name {
	case "find":
		filters = append(filters, cmd.Lookup("filter"))
	case "findAndModify", "count", "distinct":
		filters = append(filters, cmd.Lookup("query"))
	case "update", "delete":
		list := "updates"
		if name == "delete" {
			list = "deletes"
		}
		arr, ok := cmd.Lookup(list).ArrayOK()
		if !ok {
			return false
		}
		vals, err := arr.Values()
		if err != nil {
			return false
		}
		for _, v := range vals {
			doc, ok := v.DocumentOK()
			if !ok {
				return false
			}
			filters = append(filters, doc.Lookup("q"))
		}
	case "aggregate":
		return false
	default: // insert, getMore, createIndexes, ping...: no filter
		return true
	}
	for _, f := range filters {
		if !exactID(f) {
			return false
		}
	}
	return true
}

func exactID(f bson.RawValue) bool {
	doc, ok := f.DocumentOK()
	if !ok {
		return false
	}
	elems, err := doc.Elements()
	if err != nil || len(elems) != 1 || elems[0].Key() != "_id" {
		return false
	}
	if sub, ok := elems[0].Value().DocumentOK(); ok {
		if first, err := sub.IndexErr(0); err == nil && strings.HasPrefix(first.Key(), "$") {
			return false
		}
	}
	return true
}

// print writes the commands per event, the costliest first.
func (s storeCommands) print(w io.Writer) {
	if s.Events == 0 {
		return
	}
	fmt.Fprintf(w, "    store commands of the services per event of the window: %.1f (%.1f not by exact _id, a collection scan on FerretDB), %.2f ms of store time per event\n",
		s.PerEvent, s.NotByIDPerEvent, s.MillisPerEvent)
	for _, g := range s.Groups {
		if g.PerEvent < 0.05 {
			continue
		}
		notByID := ""
		if g.NotByID > 0 {
			notByID = fmt.Sprintf("  %d not by _id", g.NotByID)
		}
		fmt.Fprintf(w, "      %-44s %5.2f/event  mean %6.2fms  %6.2fms/event%s\n",
			strings.TrimPrefix(g.Database, "gemella_")+"."+g.Collection+" "+g.Command, g.PerEvent, g.MeanMillis, g.MillisPerEvent, notByID)
	}
}
