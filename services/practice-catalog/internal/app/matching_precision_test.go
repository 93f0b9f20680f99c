package app_test

import (
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/gemella/gemella/services/practice-catalog/internal/adapters"
	"github.com/gemella/gemella/services/practice-catalog/internal/app"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/need"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/offer"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/organization"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/practice"
	"github.com/gemella/gemella/services/practice-catalog/internal/search"
)

// The labelled set: practices a region, a municipality or a network of the
// catalogue could publish, and needs that administrations and companies
// could post, each labelled with the practices a civil servant who knows
// the catalogue would expect to see suggested. Written for this test from
// the domain (DOMAIN.md and the seed texts), not taken from the ranking.

type labelledOrg struct {
	key, name string
	kind      organization.Kind
	territory string
}

var labelledOrgs = []labelledOrg{
	{"toscana", "Regione Toscana", organization.Region, "ITI1"},
	{"firenze", "Comune di Firenze", organization.Municipality, "048017"},
	{"marche", "Regione Marche", organization.Region, "ITI3"},
	{"ptp-pistoia", "Polo Tecnico Professionale della meccanica di Pistoia", organization.Network, "ITI13"},
	{"ptp-valdera", "Polo Tecnico Professionale Valdera per la meccanica", organization.Network, "ITI17"},
	{"puglia", "Regione Puglia", organization.Region, "ITF4"},
	{"emilia", "Regione Emilia-Romagna", organization.Region, "ITH5"},
	{"lazio", "Regione Lazio", organization.Region, "ITI4"},
	{"ptp-moda", "Polo Tecnico Professionale del sistema moda", organization.Network, "ITI1"},
	// Those who ask.
	{"calabria", "Regione Calabria", organization.Region, "ITF6"},
	{"vibo", "Comune di Vibo Valentia", organization.Municipality, "102047"},
	{"impresa-valdera", "Impresa meccanica della Valdera", organization.Company, "050"},
	{"sicilia", "Regione Siciliana", organization.Region, "ITG1"},
	{"basilicata", "Regione Basilicata", organization.Region, "ITF5"},
	{"matera", "Comune di Matera", organization.Municipality, "077014"},
	{"campania", "Regione Campania", organization.Region, "ITF3"},
	{"coop-sardegna", "Cooperativa sociale Terra e Lavoro", organization.Association, "ITG2"},
	{"distretto-fermano", "Distretto calzaturiero fermano", organization.Association, "109"},
	{"napoli", "Comune di Napoli", organization.Municipality, "063049"},
	{"molise", "Regione Molise", organization.Region, "ITF2"},
	{"impresa-brescia", "Officine meccaniche bresciane", organization.Company, "017"},
	{"umbria", "Regione Umbria", organization.Region, "ITI2"},
	{"bari", "Comune di Bari", organization.Municipality, "072006"},
	{"liguria", "Regione Liguria", organization.Region, "ITC3"},
	{"palermo", "Comune di Palermo", organization.Municipality, "082053"},
	{"abruzzo", "Regione Abruzzo", organization.Region, "ITF1"},
	{"its-veneto", "Fondazione ITS meccanica del Veneto", organization.ITSFoundation, "ITH3"},
	{"grosseto", "Comune di Grosseto", organization.Municipality, "053011"},
	{"reggio", "Comune di Reggio Calabria", organization.Municipality, "080063"},
	{"friuli", "Regione Friuli Venezia Giulia", organization.Region, "ITH4"},
	{"bologna", "Città metropolitana di Bologna", organization.Province, "037"},
}

type labelledPractice struct {
	key, title, summary, description, problem, results string
	owners, themes, sectors                            []string
	territory                                          string
	models                                             [][2]string
	adoption                                           practice.Adoption
	offered                                            bool
}

var labelledPractices = []labelledPractice{
	{key: "certificazione", title: "Sistema regionale di certificazione delle competenze e Libretto formativo del cittadino",
		summary: "Regole, procedure e strumenti per riconoscere e certificare le competenze acquisite dai cittadini anche in contesti non formali e informali, registrate nel Libretto formativo.",
		description: "Il repertorio regionale delle figure professionali descrive le competenze per la programmazione dell'offerta formativa. " +
			"Il Libretto formativo del cittadino registra le esperienze di apprendimento; gli operatori accompagnano la ricostruzione delle esperienze e la validazione delle competenze fino alla certificazione.",
		problem: "Le competenze maturate sul lavoro e nella vita non sono riconosciute: i lavoratori in mobilità e in cassa integrazione non possono spenderle.",
		results: "Migliaia di competenze validate, standard professionali regionali adottati da altre regioni.",
		owners:  []string{"toscana"}, themes: []string{"certificazione delle competenze", "lavoro"}, territory: "ITI1",
		models:   [][2]string{{"A", "Repertorio regionale delle figure professionali"}, {"B", "Libretto formativo del cittadino"}, {"C", "Validazione e certificazione delle competenze"}},
		adoption: practice.Adoption{Twinnings: 2, Adopted: 3, PartiallyAdopted: 1}},
	{key: "elearning", title: "Trio: formazione a distanza gratuita e aperta a tutti i cittadini",
		summary:     "Una piattaforma di e-learning pubblica con corsi online gratuiti, tutoraggio e servizi di community per cittadini, lavoratori e dipendenti pubblici.",
		description: "Trio eroga moduli didattici a distanza su una piattaforma web accessibile a tutti; i corsi coprono lingue, informatica, sicurezza sul lavoro e competenze trasversali, con tutor e aule virtuali.",
		problem:     "Molte persone non possono frequentare corsi in aula per orari, distanze o costi.",
		results:     "Centinaia di migliaia di utenti registrati e corsi completati ogni anno.",
		owners:      []string{"toscana"}, themes: []string{"e-learning", "istruzione e formazione"}, territory: "ITI1",
		models:   [][2]string{{"A", "Piattaforma e-learning e catalogo dei corsi online"}, {"B", "Tutoraggio a distanza e community"}},
		adoption: practice.Adoption{Twinnings: 1, Adopted: 1}},
	{key: "nidi", title: "Qualità dei servizi educativi per la prima infanzia: asili nido e coordinamento pedagogico",
		summary:     "Un modello organizzativo dei servizi per l'infanzia 0-3 anni: asili nido comunali e convenzionati, coordinamento pedagogico, formazione continua delle educatrici.",
		description: "Il Comune qualifica l'offerta dei nidi d'infanzia con standard di qualità, un coordinamento pedagogico territoriale, la formazione delle educatrici e il coinvolgimento delle famiglie.",
		problem:     "Pochi posti negli asili nido e qualità disomogenea dei servizi per la prima infanzia.",
		results:     "Più bambini accolti, liste d'attesa ridotte, famiglie soddisfatte.",
		owners:      []string{"firenze"}, themes: []string{"prima infanzia", "istruzione e formazione"}, territory: "048017",
		models:  [][2]string{{"E", "Servizi per la prima infanzia"}},
		offered: true},
	{key: "sportello", title: "Servizi sociali e servizi per il lavoro integrati: lo sportello unico del cittadino",
		summary:     "Un unico punto di accesso in cui assistenti sociali e operatori dei servizi per l'impiego prendono in carico insieme le persone e le famiglie in difficoltà.",
		description: "La presa in carico integrata unisce servizi sociali, orientamento e inserimento lavorativo: un'equipe multiprofessionale definisce con la persona un progetto personalizzato.",
		problem:     "Le persone fragili passano da un ufficio all'altro; i servizi sociali e quelli per il lavoro non si parlano.",
		results:     "Tempi di presa in carico dimezzati, più inserimenti lavorativi delle persone seguite dai servizi sociali.",
		owners:      []string{"firenze"}, themes: []string{"politiche sociali", "lavoro", "inclusione sociale"}, territory: "048017",
		models:   [][2]string{{"D", "Servizi territoriali integrati sociali e per l'occupabilità"}},
		adoption: practice.Adoption{Twinnings: 1, Adopted: 1}},
	{key: "ptp-meccanica", title: "Polo tecnico professionale della meccanica: scuole, imprese e ITS formano i tecnici",
		summary:     "Una rete formalizzata tra istituti tecnici e professionali, imprese meccaniche, agenzie formative e ITS che condivide laboratori e docenti per formare tecnici delle macchine a controllo numerico (CNC).",
		description: "Il Polo integra risorse professionali, strumentali e finanziarie: laboratori condivisi, stage in azienda, docenti dalle imprese. Contrasta la dispersione scolastica e avvicina la filiera formativa alla filiera produttiva.",
		problem:     "Le imprese meccaniche non trovano tecnici qualificati; i giovani non conoscono le professioni della filiera.",
		results:     "Diplomati assunti dalle imprese del territorio, laboratori CNC condivisi.",
		owners:      []string{"ptp-pistoia"}, themes: []string{"istruzione e formazione", "lavoro", "orientamento"}, sectors: []string{"meccanica"}, territory: "ITI13",
		models: [][2]string{{"A", "Rete formalizzata scuola-impresa-ITS"}, {"B", "Laboratori condivisi di meccanica e CNC"}}},
	{key: "osservatorio", title: "Osservatorio delle professioni: le imprese dicono alle scuole quali competenze cercano",
		summary:     "Uno spazio di incontro reale e virtuale in cui le aziende della meccanica comunicano agli istituti e ai centri di formazione i loro fabbisogni professionali.",
		description: "Le imprese segnalano profili e competenze richieste; scuole e agenzie formative adattano i percorsi. Si riduce il mismatch tra domanda e offerta di competenze sul territorio.",
		problem:     "L'offerta formativa non corrisponde ai fabbisogni di competenze delle imprese.",
		results:     "Percorsi formativi riprogettati con le imprese, tirocini e assunzioni.",
		owners:      []string{"ptp-valdera"}, themes: []string{"orientamento", "istruzione e formazione"}, sectors: []string{"meccanica"}, territory: "ITI17",
		models: [][2]string{{"A", "Rilevazione dei fabbisogni professionali delle imprese"}}},
	{key: "gol", title: "PAR GOL: percorsi personalizzati di reinserimento lavorativo nei centri per l'impiego",
		summary:     "I centri per l'impiego offrono a disoccupati e persone fragili percorsi personalizzati di accompagnamento al lavoro, aggiornamento e riqualificazione professionale.",
		description: "Il programma Garanzia di occupabilità dei lavoratori ridisegna i servizi per il lavoro: profilazione, patto di servizio, formazione breve o riqualificazione, e per i bisogni complessi la collaborazione con i servizi sociali.",
		problem:     "Disoccupazione di lunga durata e inattività giovanile; servizi per l'impiego poco personalizzati.",
		results:     "Più persone prese in carico dai centri per l'impiego e reinserite nel lavoro.",
		owners:      []string{"marche"}, themes: []string{"lavoro", "inclusione sociale"}, territory: "ITI3",
		models:   [][2]string{{"A", "Profilazione e patto di servizio personalizzato"}, {"B", "Riqualificazione professionale dei disoccupati"}},
		adoption: practice.Adoption{Twinnings: 1, Dropped: 1}, offered: true},
	{key: "duale", title: "Sistema duale e apprendistato di primo livello: imparare a scuola e in azienda",
		summary:     "La programmazione regionale del sistema duale: apprendistato di primo livello, alternanza scuola-lavoro rafforzata e simulata nei percorsi di istruzione e formazione professionale.",
		description: "La Regione programma con scuole, camere di commercio e imprese i corsi e gli apprendistati da attivare; le imprese accolgono gli studenti in alternanza e assumono apprendisti.",
		problem:     "Pochi contratti di apprendistato per i giovani e scarso raccordo tra scuola e impresa.",
		results:     "Più apprendisti assunti, nuovi corsi IeFP in sistema duale.",
		owners:      []string{"marche"}, themes: []string{"apprendistato", "istruzione e formazione"}, territory: "ITI3",
		models: [][2]string{{"A", "Programmazione del sistema duale"}, {"B", "Apprendistato di primo livello"}}},
	{key: "turismo", title: "Accoglienza turistica e beni culturali: formare guide e operatori dell'ospitalità",
		summary:     "Percorsi di formazione per guide turistiche, operatori museali e addetti all'accoglienza, progettati con le imprese del turismo e gli enti dei beni culturali.",
		description: "La filiera del turismo e dei beni culturali collabora con le scuole alberghiere e gli ITS: stage nei musei, nelle strutture ricettive e negli itinerari culturali del territorio.",
		problem:     "Il turismo cresce ma mancano operatori qualificati per l'accoglienza e la valorizzazione del patrimonio culturale.",
		results:     "Operatori formati assunti da strutture ricettive e musei.",
		owners:      []string{"puglia"}, themes: []string{"istruzione e formazione", "turismo"}, sectors: []string{"turismo e beni culturali"}, territory: "ITF4",
		models: [][2]string{{"A", "Formazione di guide turistiche e operatori museali"}}},
	{key: "agri", title: "Filiera agroalimentare di qualità: formazione per giovani agricoltori",
		summary:     "Formazione tecnica e accompagnamento per i giovani che avviano un'impresa agricola, con le aziende della filiera agroalimentare e gli istituti agrari.",
		description: "Corsi su produzioni di qualità, agricoltura sostenibile, trasformazione e vendita dei prodotti agroalimentari; tutoraggio per il ricambio generazionale nelle aziende agricole.",
		problem:     "Le aziende agricole invecchiano e i giovani agricoltori mancano di competenze imprenditoriali.",
		results:     "Nuove imprese agricole di giovani, prodotti certificati.",
		owners:      []string{"emilia"}, themes: []string{"istruzione e formazione", "sviluppo rurale"}, sectors: []string{"agribusiness"}, territory: "ITH5",
		models: [][2]string{{"A", "Accademia dei giovani agricoltori"}}},
	{key: "fattoria", title: "Agricoltura sociale: inserimento lavorativo di persone fragili nelle aziende agricole",
		summary:     "Aziende agricole e cooperative sociali accolgono persone con disabilità o svantaggiate in percorsi di inclusione e di inserimento lavorativo.",
		description: "La Regione riconosce le fattorie sociali: tirocini di inclusione, borse lavoro e assunzioni di persone fragili nelle attività agricole, in rete con i servizi sociali.",
		problem:     "Le persone con disabilità e svantaggio faticano a trovare lavoro.",
		results:     "Tirocini trasformati in contratti, nuove fattorie sociali.",
		owners:      []string{"lazio"}, themes: []string{"inclusione sociale", "lavoro"}, sectors: []string{"agribusiness"}, territory: "ITI4",
		models:   [][2]string{{"A", "Riconoscimento delle fattorie sociali"}, {"B", "Tirocini di inclusione in agricoltura"}},
		adoption: practice.Adoption{Twinnings: 1, PartiallyAdopted: 1}},
	{key: "moda", title: "Sistema moda: laboratori di sartoria, pelletteria e calzature con le imprese del distretto",
		summary:     "Scuole e imprese della moda progettano insieme percorsi per modellisti, sarti, pellettieri e tecnici della calzatura.",
		description: "Il Polo del sistema moda organizza laboratori nelle aziende, docenti esperti dalle imprese, stage nei distretti della pelletteria e della calzatura.",
		problem:     "Le imprese della moda non trovano artigiani qualificati per sostituire chi va in pensione.",
		results:     "Giovani formati assunti nelle imprese del distretto.",
		owners:      []string{"ptp-moda"}, themes: []string{"istruzione e formazione", "lavoro"}, sectors: []string{"sistema moda"}, territory: "ITI1",
		models: [][2]string{{"A", "Laboratori di sartoria e pelletteria in azienda"}}},
}

type labelledNeed struct {
	org, title, problem string
	themes, sectors     []string
	territory, language string
	relevant            []string
}

var labelledNeeds = []labelledNeed{
	{org: "vibo", title: "Un modello per servizi sociali e per il lavoro integrati",
		problem: "Il Comune vuole sperimentare servizi sociali e servizi per il lavoro integrati: un unico accesso per i cittadini e una presa in carico comune tra assistenti sociali e centro per l'impiego.",
		themes:  []string{"politiche sociali", "lavoro"}, territory: "102047",
		relevant: []string{"sportello", "gol"}},
	{org: "impresa-valdera", title: "Cerchiamo tecnici CNC formati da un polo tecnico professionale",
		problem: "La nostra impresa meccanica non trova tecnici per le macchine a controllo numerico; vorremmo collaborare con scuole e ITS che li formino.",
		sectors: []string{"meccanica"}, territory: "050",
		relevant: []string{"ptp-meccanica", "osservatorio"}},
	{org: "calabria", title: "Certificazione delle competenze dei cittadini",
		problem: "La Regione deve definire standard regionali e procedure per riconoscere e certificare le competenze dei cittadini acquisite anche fuori dalla scuola.",
		themes:  []string{"certificazione delle competenze"}, territory: "ITF6",
		relevant: []string{"certificazione"}},
	{org: "vibo", title: "Qualificare i servizi per la prima infanzia",
		problem: "Il Comune vuole aumentare i posti negli asili nido e migliorare la qualità dei servizi educativi per i bambini da 0 a 3 anni.",
		themes:  []string{"prima infanzia"}, territory: "102047",
		relevant: []string{"nidi"}},
	{org: "calabria", title: "Formazione a distanza per i cittadini",
		problem: "Vorremmo offrire corsi online gratuiti ai cittadini delle aree interne con una piattaforma di e-learning pubblica.",
		themes:  []string{"e-learning"}, territory: "ITF6",
		relevant: []string{"elearning"}},
	{org: "sicilia", title: "Reinserimento lavorativo dei disoccupati di lunga durata",
		problem: "I centri per l'impiego devono offrire percorsi personalizzati ai disoccupati di lunga durata e alle persone fragili.",
		themes:  []string{"lavoro"}, territory: "ITG1",
		relevant: []string{"gol", "sportello"}},
	{org: "basilicata", title: "Più apprendistato per i giovani",
		problem: "Vogliamo diffondere l'apprendistato di primo livello e l'alternanza scuola-lavoro nelle imprese lucane.",
		themes:  []string{"apprendistato"}, territory: "ITF5",
		relevant: []string{"duale"}},
	{org: "matera", title: "Formare guide e operatori per il turismo culturale",
		problem: "Con l'aumento dei visitatori servono guide turistiche e operatori dell'accoglienza preparati per valorizzare i Sassi e il patrimonio culturale.",
		sectors: []string{"turismo e beni culturali"}, territory: "077014",
		relevant: []string{"turismo"}},
	{org: "campania", title: "Giovani agricoltori e filiera agroalimentare",
		problem: "Vogliamo accompagnare i giovani che avviano un'azienda agricola con formazione su produzioni agroalimentari di qualità.",
		sectors: []string{"agribusiness"}, territory: "ITF3",
		relevant: []string{"agri", "fattoria"}},
	{org: "coop-sardegna", title: "Lavoro in agricoltura per persone con disabilità",
		problem: "La cooperativa cerca un modello di agricoltura sociale per l'inserimento lavorativo di persone con disabilità nelle aziende agricole.",
		themes:  []string{"inclusione sociale"}, sectors: []string{"agribusiness"}, territory: "ITG2",
		relevant: []string{"fattoria"}},
	{org: "distretto-fermano", title: "Artigiani per il distretto calzaturiero",
		problem: "Le imprese della calzatura e della pelletteria non trovano giovani formati come modellisti e orlatrici.",
		sectors: []string{"sistema moda"}, territory: "109",
		relevant: []string{"moda"}},
	{org: "napoli", title: "Formazione delle educatrici degli asili nido",
		problem: "Il Comune vuole un coordinamento pedagogico e la formazione continua del personale dei nidi d'infanzia.",
		themes:  []string{"prima infanzia"}, territory: "063049",
		relevant: []string{"nidi"}},
	{org: "molise", title: "Un repertorio regionale delle qualificazioni professionali",
		problem: "La Regione non ha ancora un repertorio delle figure professionali né standard per validare le competenze.",
		themes:  []string{"certificazione delle competenze"}, territory: "ITF2",
		relevant: []string{"certificazione"}},
	{org: "impresa-brescia", title: "Le scuole non formano le competenze che ci servono",
		problem: "Vogliamo comunicare alle scuole tecniche del territorio i fabbisogni professionali delle imprese meccaniche e ridurre il mismatch di competenze.",
		sectors: []string{"meccanica"}, territory: "017",
		relevant: []string{"osservatorio", "ptp-meccanica"}},
	{org: "umbria", title: "Orientare i giovani verso gli istituti tecnici e gli ITS",
		problem: "Pochi ragazzi scelgono gli istituti tecnici; servono orientamento e collaborazione tra scuole e imprese.",
		themes:  []string{"orientamento"}, territory: "ITI2",
		relevant: []string{"ptp-meccanica", "osservatorio", "duale"}},
	{org: "bari", title: "Presa in carico integrata delle persone fragili",
		problem: "Servizi sociali e servizi per il lavoro seguono separatamente le stesse famiglie: cerchiamo un modello di presa in carico integrata.",
		themes:  []string{"politiche sociali", "inclusione sociale"}, territory: "072006",
		relevant: []string{"sportello", "gol"}},
	{org: "liguria", title: "Riqualificare i lavoratori in cassa integrazione",
		problem: "Vogliamo riconoscere le competenze dei lavoratori in cassa integrazione e offrire loro percorsi di riqualificazione professionale.",
		themes:  []string{"lavoro"}, territory: "ITC3",
		relevant: []string{"certificazione", "gol"}},
	{org: "palermo", title: "Quality of early childhood education services",
		problem: "The city wants more places in nurseries for children under three and better trained educators.",
		themes:  []string{"prima infanzia"}, territory: "082053", language: "en",
		relevant: []string{"nidi"}},
	{org: "abruzzo", title: "Corsi online per i dipendenti pubblici",
		problem: "La Regione cerca una piattaforma di formazione a distanza per aggiornare i dipendenti pubblici con corsi online.",
		themes:  []string{"e-learning"}, territory: "ITF1",
		relevant: []string{"elearning"}},
	{org: "its-veneto", title: "Laboratori di meccanica condivisi tra scuole e imprese",
		problem: "Vogliamo creare laboratori con macchine CNC condivisi tra istituti tecnici, ITS e imprese meccaniche.",
		sectors: []string{"meccanica"}, territory: "ITH3",
		relevant: []string{"ptp-meccanica"}},
	{org: "grosseto", title: "Turismo rurale e prodotti tipici",
		problem: "Il Comune vuole formare operatori per l'accoglienza turistica nelle aziende agricole e promuovere i prodotti agroalimentari.",
		sectors: []string{"turismo e beni culturali", "agribusiness"}, territory: "053011",
		relevant: []string{"turismo", "agri"}},
	{org: "reggio", title: "Operatori per musei e patrimonio culturale",
		problem: "Servono operatori museali e guide per valorizzare il patrimonio archeologico e culturale della città.",
		themes:  []string{"turismo"}, territory: "080063",
		relevant: []string{"turismo"}},
	{org: "friuli", title: "Alternanza scuola-lavoro nelle imprese manifatturiere",
		problem: "Vogliamo un sistema duale in cui gli studenti imparino in azienda con l'apprendistato e l'alternanza scuola-lavoro.",
		themes:  []string{"apprendistato", "istruzione e formazione"}, territory: "ITH4",
		relevant: []string{"duale", "ptp-meccanica"}},
	{org: "bologna", title: "Recognising skills learned outside school",
		problem: "We need a procedure to validate and certify the skills of adults and migrants acquired through work experience.",
		themes:  []string{"certificazione delle competenze"}, territory: "037", language: "en",
		relevant: []string{"certificazione"}},
}

// precisionAt3 is the share of the top three suggestions that are
// relevant, out of as many as could be: a need with one relevant practice
// scores 1 when that practice is among the first three.
func precisionAt3(got, relevant []string) float64 {
	want := map[string]bool{}
	for _, r := range relevant {
		want[r] = true
	}
	hits := 0
	for i := 0; i < len(got) && i < 3; i++ {
		if want[got[i]] {
			hits++
		}
	}
	return float64(hits) / float64(min(3, len(relevant)))
}

func TestMatchmakingPrecisionAt3(t *testing.T) {
	ctx := staff()
	clock := time.Date(2024, 1, 8, 9, 0, 0, 0, time.UTC)
	orgs, practices, needs, offers := adapters.NewOrganizationMemoryRepository(), adapters.NewPracticeMemoryRepository(), adapters.NewNeedMemoryRepository(), adapters.NewOfferMemoryRepository()
	idx, err := search.Open(search.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer idx.Close()
	a := app.New(app.Deps{
		Organizations: orgs, Practices: practices,
		Now:           func() time.Time { clock = clock.Add(time.Minute); return clock },
		SeekOfferDeps: app.SeekOfferDeps{Needs: needs, Offers: offers, Search: idx},
	})

	orgID := map[string]string{}
	for _, o := range labelledOrgs {
		created, err := a.CreateOrganization.Handle(ctx, app.CreateOrganization{RequestID: "org-" + o.key, Details: organization.Details{
			Name: o.name, Kind: o.kind, Territory: organization.Territory{Code: o.territory, Name: o.name},
		}, Actor: "test"})
		if err != nil {
			t.Fatalf("organisation %s: %v", o.key, err)
		}
		orgID[o.key] = created.ID
		if err := idx.ApplyOrganization(created, 0); err != nil {
			t.Fatal(err)
		}
	}
	var orgIDs []string
	for _, id := range orgID {
		orgIDs = append(orgIDs, id)
	}
	ctx = staff(orgIDs...)
	practiceKey := map[string]string{}
	for _, lp := range labelledPractices {
		c := practice.Content{
			Title: lp.title, Summary: lp.summary, Description: lp.description, Problem: lp.problem, Results: lp.results,
			Themes: lp.themes, Sectors: lp.sectors, Languages: []string{"it"},
			Territory: organization.Territory{Code: lp.territory, Name: lp.territory},
		}
		for _, o := range lp.owners {
			c.OwnerOrganizationIDs = append(c.OwnerOrganizationIDs, orgID[o])
		}
		for _, m := range lp.models {
			c.Models = append(c.Models, practice.Model{Code: m[0], Title: m[1]})
		}
		p, err := a.CreatePractice.Handle(ctx, app.CreatePractice{RequestID: "p-" + lp.key, Content: c, Actor: "test"})
		if err != nil {
			t.Fatalf("practice %s: %v", lp.key, err)
		}
		for _, m := range []practice.Move{practice.MoveSubmit, practice.MovePublish} {
			if p, err = a.MovePractice.Handle(ctx, app.MovePractice{ID: p.ID, Move: m, Actor: "test"}); err != nil {
				t.Fatalf("%s %s: %v", m, lp.key, err)
			}
		}
		p.Adoption = lp.adoption
		if err := idx.ApplyPractice(p, 0); err != nil {
			t.Fatal(err)
		}
		practiceKey[p.ID] = lp.key
		if lp.offered {
			if _, err := a.CreateOffer.Handle(ctx, app.CreateOffer{Terms: offer.Terms{
				OrganizationID: c.OwnerOrganizationIDs[0], PracticeID: p.ID, Capacity: 2, Languages: []string{"it"},
			}, Actor: "test"}); err != nil {
				t.Fatalf("offer on %s: %v", lp.key, err)
			}
		}
	}

	total := 0.0
	for i, ln := range labelledNeeds {
		n, err := a.CreateNeed.Handle(ctx, app.CreateNeed{Details: need.Details{
			OrganizationID: orgID[ln.org], Title: ln.title, Problem: ln.problem, Themes: ln.themes, Sectors: ln.sectors,
			Territory: need.Territory{Code: ln.territory, Name: ln.org}, Language: ln.language,
		}, Actor: "test"})
		if err != nil {
			t.Fatalf("need %d: %v", i, err)
		}
		if err := idx.ApplyNeed(n, 0); err != nil {
			t.Fatal(err)
		}
		matches, err := a.ListNeedMatches.Handle(ctx, app.ListNeedMatches{NeedID: n.ID, PageSize: 5})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, m := range matches {
			got = append(got, practiceKey[m.Practice.ID])
		}
		p := precisionAt3(got, ln.relevant)
		total += p
		if p < 1 {
			t.Logf("need %q: top %v, expected %v (precision %.2f)", ln.title, got, ln.relevant, p)
		}
		if len(matches) > 0 && len(matches[0].Reasons.MatchedTerms) == 0 && len(matches[0].Reasons.SharedThemes) == 0 && len(matches[0].Reasons.SharedSectors) == 0 {
			t.Errorf("need %q: the first match %s carries no reason", ln.title, got[0])
		}
	}
	precision := total / float64(len(labelledNeeds))
	summary := fmt.Sprintf("matchmaking precision@3 = %.2f over %d labelled needs and %d practices", precision, len(labelledNeeds), len(labelledPractices))
	t.Log(summary)
	fmt.Println(summary)
	if len(labelledNeeds) < 20 {
		t.Fatalf("only %d labelled needs", len(labelledNeeds))
	}
	if precision < 0.95 {
		t.Fatalf("%s: below 0.95", summary)
	}
}
