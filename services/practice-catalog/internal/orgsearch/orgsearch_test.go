package orgsearch

import (
	"testing"

	"github.com/gemella/gemella/services/practice-catalog/internal/domain/organization"
)

// An organisation's description is Markdown; search indexes its words, so
// that a hit's snippet shows no asterisks or link addresses.
func TestTheDescriptionIsIndexedWithoutItsMarkdown(t *testing.T) {
	o := &organization.Organization{ID: "toscana"}
	o.Name, o.Description = "Regione Toscana", "La **Regione** e il [Trio](https://www.progettotrio.it)."
	d, err := Doc(o)
	if err != nil {
		t.Fatal(err)
	}
	for _, tx := range d.Texts {
		if tx.Field == "description" {
			if tx.Text != "La Regione e il Trio." {
				t.Fatalf("description indexed as %q", tx.Text)
			}
			return
		}
	}
	t.Fatalf("no description in %+v", d.Texts)
}
