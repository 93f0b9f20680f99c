package adapters

import (
	"github.com/gemella/gemella/services/platform/mongox"
	"github.com/gemella/gemella/services/twinning/internal/domain/twinning"
)

// twinningAggregate is how a twinning is kept: one description serves the
// MongoDB store and its in-memory twin alike. The code is the twinnings'
// other unique index.
func twinningAggregate(events mongox.Events[twinning.Twinning]) mongox.Aggregate[twinning.Twinning, twinningDoc] {
	return mongox.Aggregate[twinning.Twinning, twinningDoc]{
		Name: "twinning", ToDoc: toTwinningDoc, ToDomain: (*twinningDoc).toDomain, NotFound: twinning.ErrNotFound,
		Version:    func(t *twinning.Twinning) *int64 { return &t.Version },
		Events:     events,
		Conflict:   func(t *twinning.Twinning) error { return twinning.ErrCodeTaken(t.Code) },
		UniqueKeys: func(d *twinningDoc) []string { return []string{codeKey(d.Code)} },
	}
}

func codeKey(code string) string { return "code:" + code }
