package adapters

import (
	"time"

	"github.com/gemella/gemella/services/practice-catalog/internal/domain/need"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/offer"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/organization"
)

// Collection names of needs ("cerco") and offers ("offro").
const (
	NeedsCollection  = "needs"
	OffersCollection = "offers"
)

// The documents are flat: BSON ignores an embedded struct of unexported
// type even with ",inline", so no field hides in one.

type needDoc struct {
	ID                string       `bson:"_id"`
	SortKey           string       `bson:"sort_key"`
	OrganizationID    string       `bson:"organization_id"`
	Title             string       `bson:"title"`
	Problem           string       `bson:"problem"`
	Themes            []string     `bson:"themes"`
	Sectors           []string     `bson:"sectors"`
	Territory         territoryDoc `bson:"territory"`
	DesiredStart      string       `bson:"desired_start,omitempty"`
	Language          string       `bson:"language"`
	Status            string       `bson:"status"`
	MatchedTwinningID string       `bson:"matched_twinning_id,omitempty"`
	Released          []string     `bson:"released_twinning_ids,omitempty"`
	CreatedAt         time.Time    `bson:"created_at"`
	UpdatedAt         time.Time    `bson:"updated_at"`
	Version           int64        `bson:"version"`
}

func toNeedDoc(n *need.Need) needDoc {
	return needDoc{
		ID: n.ID, SortKey: n.SortKey(), OrganizationID: n.OrganizationID, Title: n.Title, Problem: n.Problem,
		Themes: nonNil(n.Themes), Sectors: nonNil(n.Sectors), Territory: territoryDoc(n.Territory),
		DesiredStart: n.DesiredStart, Language: n.Language, Status: n.Status.String(), MatchedTwinningID: n.MatchedTwinningID,
		Released:  n.Released,
		CreatedAt: n.CreatedAt, UpdatedAt: n.UpdatedAt, Version: n.Version,
	}
}

func (d *needDoc) toDomain() *need.Need {
	st, _ := need.ParseStatus(d.Status)
	return &need.Need{
		ID: d.ID,
		Details: need.Details{
			OrganizationID: d.OrganizationID, Title: d.Title, Problem: d.Problem,
			Themes: emptyToNil(d.Themes), Sectors: emptyToNil(d.Sectors), Territory: organization.Territory(d.Territory),
			DesiredStart: d.DesiredStart, Language: d.Language,
		},
		Status: st, MatchedTwinningID: d.MatchedTwinningID, Released: d.Released,
		CreatedAt: d.CreatedAt.UTC(), UpdatedAt: d.UpdatedAt.UTC(), Version: d.Version,
	}
}

type offerDoc struct {
	ID             string    `bson:"_id"`
	SortKey        string    `bson:"sort_key"`
	OrganizationID string    `bson:"organization_id"`
	PracticeID     string    `bson:"practice_id"`
	PracticeTitle  string    `bson:"practice_title"`
	ModelCodes     []string  `bson:"model_codes"`
	Capacity       int       `bson:"capacity"`
	Languages      []string  `bson:"languages"`
	Conditions     string    `bson:"conditions,omitempty"`
	Status         string    `bson:"status"`
	CreatedAt      time.Time `bson:"created_at"`
	UpdatedAt      time.Time `bson:"updated_at"`
	Version        int64     `bson:"version"`
}

func toOfferDoc(o *offer.Offer) offerDoc {
	return offerDoc{
		ID: o.ID, SortKey: o.SortKey(), OrganizationID: o.OrganizationID, PracticeID: o.PracticeID, PracticeTitle: o.PracticeTitle,
		ModelCodes: nonNil(o.ModelCodes), Capacity: o.Capacity, Languages: nonNil(o.Languages), Conditions: o.Conditions,
		Status: o.Status.String(), CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt, Version: o.Version,
	}
}

func (d *offerDoc) toDomain() *offer.Offer {
	st, _ := offer.ParseStatus(d.Status)
	return &offer.Offer{
		ID: d.ID,
		Terms: offer.Terms{
			OrganizationID: d.OrganizationID, PracticeID: d.PracticeID, ModelCodes: emptyToNil(d.ModelCodes),
			Capacity: d.Capacity, Languages: emptyToNil(d.Languages), Conditions: d.Conditions,
		},
		Status: st, PracticeTitle: d.PracticeTitle,
		CreatedAt: d.CreatedAt.UTC(), UpdatedAt: d.UpdatedAt.UTC(), Version: d.Version,
	}
}
