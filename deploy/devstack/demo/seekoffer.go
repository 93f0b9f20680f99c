package demo

import (
	"context"
	"fmt"
	"log/slog"

	catalogv1 "github.com/gemella/gemella/proto/gemella/catalog/v1"
)

// "Cerco / offro" of the demo: needs that the seed texts' administrations
// and companies would post (seeds 000-002: the Tos.Ca. objectives of
// Regione Calabria and Comune di Vibo Valentia; the companies of the
// Valdera PTP and their "osservatorio delle professioni"), and the offers
// of support on the demo practices. Request ids are derived from each key,
// so LoadSeekOffer may run again and creates nothing twice.
const (
	needRequestPrefix  = "demo-need-"
	offerRequestPrefix = "demo-offer-"
)

type demoNeed struct {
	key, organization, title, problem string
	themes, sectors                   []string
	territory                         territory
	desiredStart                      string
}

var demoNeeds = []demoNeed{
	{
		key: "vibo-servizi-integrati", organization: "comune-di-vibo-valentia",
		title: "Un modello di servizi sociali e per il lavoro integrati",
		problem: "Il Comune vuole sperimentare nuove modalità di erogazione dei servizi al cittadino: un accesso unico e una presa " +
			"in carico comune tra servizi sociali e servizi per il lavoro, con il riconoscimento delle competenze dei cittadini " +
			"e l’orientamento verso la formazione, anche a distanza.",
		themes: []string{"politiche sociali", "lavoro"}, territory: vibo, desiredStart: "2025-09-01",
	},
	{
		key: "vibo-prima-infanzia", organization: "comune-di-vibo-valentia",
		title: "Qualificare i servizi per la prima infanzia",
		problem: "Il Comune cerca modalità e strumenti per qualificare l’offerta dei servizi per la prima infanzia e degli asili " +
			"nido: organizzazione dei servizi, coordinamento pedagogico, formazione del personale.",
		themes: []string{"prima infanzia"}, territory: vibo, desiredStart: "2025-09-01",
	},
	{
		key: "calabria-certificazione", organization: "regione-calabria",
		title: "Certificazione delle competenze dei cittadini",
		problem: "La Regione deve recuperare i ritardi nei servizi per l’occupabilità: definire standard regionali di tipo " +
			"professionale, un repertorio delle qualificazioni e le procedure di riconoscimento e certificazione delle " +
			"competenze acquisite anche in contesti non formali e informali.",
		themes: []string{"certificazione delle competenze", "lavoro"}, territory: calabria, desiredStart: "2025-06-01",
	},
	{
		key: "calabria-formazione-distanza", organization: "regione-calabria",
		title: "Formazione a distanza aperta a tutti i cittadini",
		problem: "La Regione vuole ammodernare il sistema formativo con moduli didattici a distanza su una piattaforma web " +
			"accessibile a tutti, con servizi di community, per le persone che non possono frequentare corsi in aula.",
		themes: []string{"e-learning", "istruzione e formazione"}, territory: calabria, desiredStart: "2026-01-15",
	},
	{
		key: "valdera-tecnici-cnc", organization: "impresa-meccanica-valdera",
		title: "Cerchiamo tecnici CNC formati da un Polo tecnico professionale",
		problem: "La nostra impresa meccanica non trova tecnici per le macchine a controllo numerico. Cerchiamo scuole, agenzie " +
			"formative e ITS in rete con le imprese della filiera che formino giovani già pronti per il lavoro, e un modo per " +
			"dire loro quali competenze ci servono.",
		sectors: []string{"meccanica"}, themes: []string{"istruzione e formazione", "lavoro"}, territory: pisa, desiredStart: "2025-10-01",
	},
	{
		key: "valdera-apprendistato", organization: "istituto-tecnico-valdera",
		title: "Apprendistato e alternanza scuola-lavoro con le imprese",
		problem: "L’istituto vuole portare i suoi studenti in azienda con l’apprendistato di primo livello e l’alternanza " +
			"scuola-lavoro, in accordo con le imprese meccaniche del territorio e con la Regione.",
		themes: []string{"apprendistato", "istruzione e formazione"}, sectors: []string{"meccanica"}, territory: pisa, desiredStart: "2025-09-15",
	},
}

type demoOffer struct {
	key, organization, practiceSlug string
	models                          []string
	capacity                        int32
	conditions                      string
}

var demoOffers = []demoOffer{
	{
		key: "toscana-tos-ca", organization: "regione-toscana", practiceSlug: TosCaSlug, models: []string{"A", "B", "C"}, capacity: 2,
		conditions: "Visite di studio a Firenze, affiancamento dei funzionari regionali e accesso alla piattaforma Trio; " +
			"la Regione destinataria individua un referente per ciascun modello.",
	},
	{
		key: "ptp-pistoia-rete", organization: "ptp-meccanica-pistoia", practiceSlug: "poli-tecnico-professionali-della-meccanica",
		models: []string{"B"}, capacity: 3,
		conditions: "Il Polo accompagna la costituzione della rete: modello di accordo, incontri con la scuola capofila e con le " +
			"associazioni datoriali, visita ai laboratori.",
	},
	{
		key: "marche-par-gol", organization: "regione-marche", practiceSlug: "marche-politiche-attive-del-lavoro-par-gol-duale-apprendistato",
		models: []string{"A", "B"}, capacity: 2,
		conditions: "Seminari con i Centri per l’Impiego delle Marche e condivisione dei documenti di programmazione del PAR GOL e del PAR Duale.",
	},
}

// LoadSeekOffer posts the demo needs and offers. The organisations and
// practices must be loaded first (Load). ctx carries whatever identity the
// catalog asks of the writer. Idempotent by request id.
func LoadSeekOffer(ctx context.Context, cat catalogv1.CatalogServiceClient, logger *slog.Logger) error {
	if logger == nil {
		logger = slog.Default()
	}
	orgIDs, err := demoOrganizationIDs(ctx, cat)
	if err != nil {
		return err
	}
	for _, n := range demoNeeds {
		orgID, ok := orgIDs[n.organization]
		if !ok {
			return fmt.Errorf("demo need %s: organisation %q is not in the catalog; load the catalog demo first", n.key, n.organization)
		}
		callCtx, cancel := context.WithTimeout(ctx, callTimeout)
		created, err := cat.CreateNeed(callCtx, &catalogv1.CreateNeedRequest{RequestId: needRequestPrefix + n.key, Need: &catalogv1.Need{
			OrganizationId: orgID, Title: n.title, Problem: n.problem, Themes: n.themes, Sectors: n.sectors,
			Territory: &catalogv1.Territory{Code: n.territory.code, Name: n.territory.name}, DesiredStart: n.desiredStart, Language: "it",
		}})
		cancel()
		if err != nil {
			return fmt.Errorf("demo need %s: %w", n.key, err)
		}
		logger.Debug("demo need", "key", n.key, "id", created.GetId(), "status", created.GetStatus())
	}
	for _, o := range demoOffers {
		orgID, ok := orgIDs[o.organization]
		if !ok {
			return fmt.Errorf("demo offer %s: organisation %q is not in the catalog; load the catalog demo first", o.key, o.organization)
		}
		callCtx, cancel := context.WithTimeout(ctx, callTimeout)
		p, err := cat.GetPractice(callCtx, &catalogv1.GetPracticeRequest{Id: o.practiceSlug})
		cancel()
		if err != nil {
			return fmt.Errorf("demo offer %s: practice %s: %w", o.key, o.practiceSlug, err)
		}
		callCtx, cancel = context.WithTimeout(ctx, callTimeout)
		created, err := cat.CreateOffer(callCtx, &catalogv1.CreateOfferRequest{RequestId: offerRequestPrefix + o.key, Offer: &catalogv1.Offer{
			OrganizationId: orgID, PracticeId: p.GetId(), ModelCodes: o.models, Capacity: o.capacity, Languages: []string{"it"}, Conditions: o.conditions,
		}})
		cancel()
		if err != nil {
			return fmt.Errorf("demo offer %s: %w", o.key, err)
		}
		logger.Debug("demo offer", "key", o.key, "id", created.GetId(), "status", created.GetStatus())
	}
	logger.Info("demo needs and offers loaded", "needs", len(demoNeeds), "offers", len(demoOffers))
	return nil
}

// demoOrganizationIDs maps the keys of the demo organisations to their ids
// in the catalog, found by name (the names of data.go).
func demoOrganizationIDs(ctx context.Context, cat catalogv1.CatalogServiceClient) (map[string]string, error) {
	byName := map[string]string{}
	for token := ""; ; {
		callCtx, cancel := context.WithTimeout(ctx, callTimeout)
		page, err := cat.ListOrganizations(callCtx, &catalogv1.ListOrganizationsRequest{PageSize: 100, PageToken: token})
		cancel()
		if err != nil {
			return nil, fmt.Errorf("demo: list organisations: %w", err)
		}
		for _, o := range page.GetOrganizations() {
			byName[o.GetName()] = o.GetId()
		}
		if token = page.GetNextPageToken(); token == "" {
			break
		}
	}
	ids := map[string]string{}
	for _, o := range organizations {
		if id, ok := byName[o.name]; ok {
			ids[o.key] = id
		}
	}
	return ids, nil
}
