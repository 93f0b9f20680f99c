package protoconv

import (
	catalogv1 "github.com/gemella/gemella/proto/gemella/catalog/v1"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/practice"
)

// Adaptations converts what a practice adapts to messages.
func Adaptations(list []practice.Adaptation) []*catalogv1.PracticeAdaptation {
	var out []*catalogv1.PracticeAdaptation
	for _, a := range list {
		out = append(out, &catalogv1.PracticeAdaptation{PracticeId: a.PracticeID, ModelCode: a.ModelCode, TwinningId: a.TwinningID})
	}
	return out
}

// AdaptationsFrom reads the adaptations of a message.
func AdaptationsFrom(list []*catalogv1.PracticeAdaptation) []practice.Adaptation {
	var out []practice.Adaptation
	for _, a := range list {
		out = append(out, practice.Adaptation{PracticeID: a.GetPracticeId(), ModelCode: a.GetModelCode(), TwinningID: a.GetTwinningId()})
	}
	return out
}

func lineagePractice(p *practice.Practice, generation int) *catalogv1.LineagePractice {
	return &catalogv1.LineagePractice{
		Id: p.ID, Slug: p.Slug, Title: p.Title, Status: StatusToProto(p.Status),
		OwnerOrganizationIds: p.OwnerOrganizationIDs, Territory: territory(p.Territory),
		Generation: int32(generation), Adapts: Adaptations(p.Adapts), Adoption: Adoption(p.Adoption),
	}
}

// Lineage converts a practice's lineage.
func Lineage(l practice.Lineage) *catalogv1.PracticeLineage {
	m := &catalogv1.PracticeLineage{
		Practice:            lineagePractice(l.Practice, 0),
		DescendantAdoptions: int32(l.DescendantAdoptions),
		Truncated:           l.Truncated,
	}
	for _, n := range l.Ancestors {
		m.Ancestors = append(m.Ancestors, lineagePractice(n.Practice, n.Generation))
	}
	for _, n := range l.Descendants {
		m.Descendants = append(m.Descendants, lineagePractice(n.Practice, n.Generation))
	}
	return m
}
