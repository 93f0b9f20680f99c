package app

import (
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/matching"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/need"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/offer"
)

// SeekOfferDeps are the ports of needs, offers, search and matching.
type SeekOfferDeps struct {
	Needs  need.Repository
	Offers offer.Repository
	// Search is the full-text index; nil answers searches and matches
	// with Unavailable.
	Search SearchIndex
	// Matching weighs the ranking; zero means matching.DefaultWeights.
	Matching matching.Weights
}

// SeekOffer are the use cases of "cerco / offro": needs, offers, the
// full-text search and the matchmaking between them.
type SeekOffer struct {
	CreateNeed      CreateNeedHandler
	UpdateNeed      UpdateNeedHandler
	CloseNeed       CloseNeedHandler
	GetNeed         GetNeedHandler
	ListNeeds       ListNeedsHandler
	MarkNeedMatched MarkNeedMatchedHandler
	ReleaseNeed     ReleaseNeedHandler

	CreateOffer CreateOfferHandler
	CloseOffer  CloseOfferHandler
	GetOffer    GetOfferHandler
	ListOffers  ListOffersHandler

	SearchPractices   SearchPracticesHandler
	SearchNeeds       SearchNeedsHandler
	ListNeedMatches   ListNeedMatchesHandler
	ListMatchingNeeds ListMatchingNeedsHandler
}

// newSeekOffer wires the handlers; zero weights mean the defaults.
func newSeekOffer(d Deps) SeekOffer {
	if d.Matching == (matching.Weights{}) {
		d.Matching = matching.DefaultWeights()
	}
	return SeekOffer{
		CreateNeed: CreateNeedHandler{d}, UpdateNeed: UpdateNeedHandler{d}, CloseNeed: CloseNeedHandler{d},
		GetNeed: GetNeedHandler{d}, ListNeeds: ListNeedsHandler{d}, MarkNeedMatched: MarkNeedMatchedHandler{d}, ReleaseNeed: ReleaseNeedHandler{d},
		CreateOffer: CreateOfferHandler{d}, CloseOffer: CloseOfferHandler{d}, GetOffer: GetOfferHandler{d}, ListOffers: ListOffersHandler{d},
		SearchPractices: SearchPracticesHandler{d}, SearchNeeds: SearchNeedsHandler{d},
		ListNeedMatches: ListNeedMatchesHandler{d}, ListMatchingNeeds: ListMatchingNeedsHandler{d},
	}
}
