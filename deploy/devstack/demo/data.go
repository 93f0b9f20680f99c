package demo

import catalogv1 "github.com/gemella/gemella/proto/gemella/catalog/v1"

// The demo data, taken from the seed texts in /shared/seeds (000 and 001:
// the mechanics PTPs of Pistoia and Valdera; 002: the Tos.Ca. twinning; 004:
// Regione Marche and Anpal Servizi). Where a seed names a kind of member but
// no member (the companies, training agencies and ITS foundation of a PTP),
// the organisation says in its description that it is an example.

// TosCaSlug is the slug of the demo's main practice, the seed twinning's
// "Tos.Ca. – Valorizzare le competenze dei cittadini".
const TosCaSlug = "tos-ca-valorizzare-le-competenze-dei-cittadini"

type territory struct{ code, name string }

type organization struct {
	// key names the organisation inside this file and makes its request id.
	key       string
	name      string
	kind      catalogv1.OrganizationKind
	territory territory
	// parent and networks are keys of organisations listed earlier.
	parent      string
	networks    []string
	website     string
	description string
}

type programme struct {
	name       string
	priorities []string
}

type contact struct{ name, email, phone string }

type link struct{ title, url string }

type model struct {
	code, title, description string
	// owner is the key of one of the practice's owners.
	owner string
}

type practice struct {
	key         string
	slug        string
	title       string
	summary     string
	description string
	// owners are organisation keys.
	owners        []string
	themes        []string
	sectors       []string
	programme     programme
	territory     territory
	problem       string
	results       string
	evidence      string
	resources     string
	prerequisites string
	startDate     string
	ongoing       bool
	contact       contact
	languages     []string
	attachments   []link
	models        []model
}

var (
	toscana  = territory{"ITI1", "Toscana"}
	calabria = territory{"ITF6", "Calabria"}
	marche   = territory{"ITI3", "Marche"}
	italia   = territory{"IT", "Italia"}
	pistoia  = territory{"ITI13", "Pistoia"}
	pisa     = territory{"ITI17", "Pisa"}
	firenze  = territory{"048017", "Firenze"}
	vibo     = territory{"102047", "Vibo Valentia"}
)

const (
	region         = catalogv1.OrganizationKind_ORGANIZATION_KIND_REGION
	municipality   = catalogv1.OrganizationKind_ORGANIZATION_KIND_MUNICIPALITY
	school         = catalogv1.OrganizationKind_ORGANIZATION_KIND_SCHOOL
	company        = catalogv1.OrganizationKind_ORGANIZATION_KIND_COMPANY
	trainingAgency = catalogv1.OrganizationKind_ORGANIZATION_KIND_TRAINING_AGENCY
	itsFoundation  = catalogv1.OrganizationKind_ORGANIZATION_KIND_ITS_FOUNDATION
	association    = catalogv1.OrganizationKind_ORGANIZATION_KIND_ASSOCIATION
	publicAgency   = catalogv1.OrganizationKind_ORGANIZATION_KIND_PUBLIC_AGENCY
	network        = catalogv1.OrganizationKind_ORGANIZATION_KIND_NETWORK
)

// organizations are listed so that every parent and network comes before
// the organisations that refer to it.
var organizations = []organization{
	{
		key: "regione-toscana", name: "Regione Toscana", kind: region, territory: toscana,
		website: "https://www.regione.toscana.it",
		description: "Amministrazione offerente del gemellaggio Tos.Ca.: trasferisce alla Regione Calabria il sistema e-learning Trio, " +
			"il Libretto formativo del cittadino e il Sistema regionale delle competenze. Ha recepito i Poli Tecnico Professionali " +
			"nella programmazione territoriale dell’istruzione e formazione tecnica superiore 2013-2015 (DGR n. 771 del 23 settembre 2013).",
	},
	{
		key: "comune-di-firenze", name: "Comune di Firenze", kind: municipality, territory: firenze, parent: "regione-toscana",
		website: "https://www.comune.fi.it",
		description: "Amministrazione offerente del gemellaggio Tos.Ca.: trasferisce al Comune di Vibo Valentia il modello di " +
			"integrazione dei servizi sociali e per il lavoro e l’organizzazione dei servizi per l’infanzia e degli asili nido.",
	},
	{
		key: "regione-calabria", name: "Regione Calabria", kind: region, territory: calabria,
		website: "https://www.regione.calabria.it",
		description: "Amministrazione destinataria del gemellaggio Tos.Ca.: intende recuperare i ritardi accumulati nei servizi sociali, " +
			"educativi e per l’occupabilità dei cittadini, ammodernando il sistema formativo e di orientamento e gli standard regionali " +
			"professionali e di certificazione delle competenze.",
	},
	{
		key: "comune-di-vibo-valentia", name: "Comune di Vibo Valentia", kind: municipality, territory: vibo, parent: "regione-calabria",
		website: "https://www.comune.vibovalentia.vv.it",
		description: "Amministrazione destinataria del gemellaggio Tos.Ca.: intende migliorare gli interventi già in atto e sperimentare " +
			"nuove modalità di erogazione dei servizi al cittadino (servizi sociali e per il lavoro integrati, servizi per la prima infanzia).",
	},
	{
		key: "regione-marche", name: "Regione Marche", kind: region, territory: marche,
		website: "https://www.regione.marche.it",
		description: "Con il supporto di Anpal Servizi ha redatto il PAR GOL delle Marche e il PAR Duale, per migliorare le politiche " +
			"attive del lavoro, potenziare i servizi per l’impiego, la formazione professionale e il raccordo tra scuola e impresa.",
	},
	{
		key: "anpal-servizi", name: "Anpal Servizi", kind: publicAgency, territory: italia,
		website: "https://www.anpalservizi.it",
		description: "Affianca le Regioni nelle politiche attive del lavoro: nelle Marche ha collaborato alla redazione del PAR GOL e del " +
			"PAR Duale e sostiene gli operatori dei Centri per l’Impiego.",
	},
	{
		key: "ptp-meccanica-pistoia", name: "Polo Tecnico Professionale della Filiera Meccanica di Pistoia", kind: network,
		territory: pistoia, parent: "regione-toscana",
		description: "Rete formalizzata tra scuole tecnico-professionali, imprese, agenzie formative e ITS della filiera meccanica, " +
			"istituita per iniziativa delle associazioni datoriali della produzione di Pistoia (Associazione Industriali, CNA, " +
			"Confartigianato) e delle scuole tecnico-professionali del territorio, con capofila l’ITTS S. Fedi – E. Fermi. " +
			"Approvata e riconosciuta dalla Regione Toscana con Decreto dirigenziale n. 2880/2014.",
	},
	{
		key: "ptp-valdera-meccanica", name: "Polo Tecnico Professionale Valdera per la meccanica", kind: network,
		territory: pisa, parent: "regione-toscana",
		description: "Forma strutturata e stabile di collaborazione tra istituti tecnici e professionali, centri di formazione professionale, " +
			"imprese e centri di ricerca, integrata con le filiere produttive del territorio. Integra un “osservatorio delle professioni”, " +
			"in cui le aziende comunicano alle istituzioni formative le loro esigenze professionali.",
	},
	// Members of the Pistoia PTP named by seed 000.
	{
		key: "itts-fedi-fermi", name: "ITTS S. Fedi – E. Fermi", kind: school, territory: pistoia,
		networks:    []string{"ptp-meccanica-pistoia"},
		description: "Istituto tecnico di Pistoia, capofila del Polo Tecnico Professionale della Filiera Meccanica.",
	},
	{
		key: "associazione-industriali-pistoia", name: "Associazione Industriali – Pistoia", kind: association, territory: pistoia,
		networks:    []string{"ptp-meccanica-pistoia"},
		description: "Associazione datoriale della produzione di Pistoia, tra i promotori del Polo Tecnico Professionale della Filiera Meccanica.",
	},
	{
		key: "cna-pistoia", name: "CNA – Pistoia", kind: association, territory: pistoia,
		networks:    []string{"ptp-meccanica-pistoia"},
		description: "Associazione datoriale della produzione di Pistoia, tra i promotori del Polo Tecnico Professionale della Filiera Meccanica.",
	},
	{
		key: "confartigianato-pistoia", name: "Confartigianato – Pistoia", kind: association, territory: pistoia,
		networks:    []string{"ptp-meccanica-pistoia"},
		description: "Associazione datoriale della produzione di Pistoia, tra i promotori del Polo Tecnico Professionale della Filiera Meccanica.",
	},
	// Members of the kinds the seeds name, without naming them: examples.
	{
		key: "impresa-meccanica-pistoia", name: "Impresa della filiera meccanica di Pistoia", kind: company, territory: pistoia,
		networks: []string{"ptp-meccanica-pistoia"},
		description: "Organizzazione d’esempio dei dati dimostrativi: rappresenta le imprese della filiera produttiva che nel Polo " +
			"mettono in comune risorse professionali, logistiche e strumentali con la filiera formativa.",
	},
	{
		key: "agenzia-formativa-pistoia", name: "Agenzia formativa della filiera meccanica di Pistoia", kind: trainingAgency, territory: pistoia,
		networks: []string{"ptp-meccanica-pistoia"},
		description: "Organizzazione d’esempio dei dati dimostrativi: rappresenta gli organismi di formazione professionale " +
			"accreditati che fanno parte del Polo.",
	},
	{
		key: "istituto-tecnico-valdera", name: "Istituto tecnico e professionale della Valdera", kind: school, territory: pisa,
		networks: []string{"ptp-valdera-meccanica"},
		description: "Organizzazione d’esempio dei dati dimostrativi: rappresenta gli istituti tecnici e professionali del Polo, " +
			"luoghi di apprendimento in contesti applicativi tra il ‘sapere’ e il ‘saper fare’.",
	},
	{
		key: "centro-formazione-valdera", name: "Centro di formazione professionale della Valdera", kind: trainingAgency, territory: pisa,
		networks: []string{"ptp-valdera-meccanica"},
		description: "Organizzazione d’esempio dei dati dimostrativi: rappresenta i centri di formazione professionale che rispondono, " +
			"attraverso l’osservatorio delle professioni, alle esigenze comunicate dalle aziende.",
	},
	{
		key: "impresa-meccanica-valdera", name: "Impresa meccanica della Valdera", kind: company, territory: pisa,
		networks: []string{"ptp-valdera-meccanica"},
		description: "Organizzazione d’esempio dei dati dimostrativi: rappresenta le aziende del territorio pisano che comunicano " +
			"all’osservatorio delle professioni le competenze di cui hanno bisogno.",
	},
	{
		key: "fondazione-its-meccanica", name: "Fondazione ITS per la meccanica", kind: itsFoundation, territory: toscana,
		networks: []string{"ptp-meccanica-pistoia", "ptp-valdera-meccanica"},
		description: "Organizzazione d’esempio dei dati dimostrativi: rappresenta gli Istituti Tecnici Superiori che i Poli " +
			"Tecnico Professionali includono accanto a scuole, imprese e organismi di formazione.",
	},
}

var practices = []practice{
	{
		key:   "tos-ca",
		slug:  TosCaSlug,
		title: "Tos.Ca. – Valorizzare le competenze dei cittadini",
		summary: "Buone pratiche sviluppate e consolidate nella Regione Toscana e nel Comune di Firenze nell’ambito delle politiche " +
			"sociali, educative e del lavoro: il sistema e-learning Trio, il Libretto formativo del cittadino, il repertorio toscano " +
			"delle competenze, l’integrazione dei servizi sociali e per il lavoro e i servizi per la prima infanzia, articolate in " +
			"cinque modelli trasferibili.",
		description: "La buona pratica raccoglie casi di eccellenza di assoluto rilievo sviluppati dalla Regione Toscana e dal Comune di Firenze:\n\n" +
			"- il sistema e-learning Trio, fiore all’occhiello per la Regione Toscana, uno dei primi sistemi aperti (gratuito e libero per " +
			"tutti i cittadini) di formazione a distanza al mondo (nasce nel 1998);\n" +
			"- il Libretto Formativo, prima applicazione regionale, dopo anni di sperimentazioni condotte in vari territori regionali, " +
			"implementata e messa a regime come strumento cardine delle politiche attive in favore dei CIG e dei lavoratori in mobilità;\n" +
			"- il repertorio delle competenze toscano, uno dei primi, se non il primo, repertori di professionalità sviluppati in Italia, " +
			"di riferimento per altre regioni nello sviluppo dei propri repertori;\n" +
			"- il modello di integrazione dei servizi sociali e per il lavoro attuato dal Comune di Firenze, una sperimentazione unica " +
			"al momento in Italia;\n" +
			"- l’organizzazione dei servizi per l’infanzia e degli asili nido da parte del Comune di Firenze, con modelli organizzativi " +
			"di servizio molto innovativi.\n\n" +
			"La buona pratica si articola in cinque modelli: i primi tre (A, B, C) sono della Regione Toscana, gli ultimi due (D, E) del " +
			"Comune di Firenze. Opera su due livelli di governo territoriale tra loro strettamente interconnessi: la regione e il comune.",
		owners: []string{"regione-toscana", "comune-di-firenze"},
		themes: []string{"lavoro", "istruzione e formazione", "politiche sociali", "prima infanzia", "e-learning", "certificazione delle competenze"},
		programme: programme{
			name:       "AGIRE POR 2007-2013",
			priorities: []string{"1", "4", "10"},
		},
		territory: toscana,
		problem: "Le amministrazioni che accumulano ritardi nel campo dei servizi sociali, educativi e per l’occupabilità dei cittadini " +
			"hanno bisogno, a livello regionale, di logiche e strumenti di programmazione che ammodernino il sistema formativo e di " +
			"orientamento e implementino gli standard regionali di tipo professionale e di certificazione delle competenze; a livello " +
			"comunale, di nuove modalità di erogazione dei servizi standard al cittadino (servizi sociali e per il lavoro integrati, " +
			"servizi per la prima infanzia) che elevino la qualificazione delle risorse umane, organizzative e strutturali impegnate " +
			"nella gestione dei servizi.",
		results: "La buona pratica ha una notevole valenza sociale ed economica: presenta significative ricadute in termini di " +
			"raggiungimento di standard di benessere e di coesione sociale attraverso il rafforzamento delle pubbliche amministrazioni " +
			"che, investendo nell’accrescimento e nella qualificazione delle competenze, possono promuovere efficaci politiche per " +
			"l’occupabilità, l’inclusione lavorativa e l’adattabilità ai nuovi contesti competitivi, grazie a una maggiore disponibilità " +
			"di occasioni di life long learning, il miglioramento dell’offerta dei servizi sociali e l’integrazione delle politiche di " +
			"inclusione rivolte alla prima infanzia e al lavoro. Attiva l’interazione tra i due livelli di governo territoriale " +
			"(regione/comune) e una buona governance nel coordinamento delle azioni regionali in una logica di articolazione locale. " +
			"Contribuisce altresì al raggiungimento dell’Obiettivo di Servizio “Servizi di cura per l’infanzia e gli anziani”.",
		evidence: "Trio nasce nel 1998 ed è stato uno dei primi sistemi aperti di formazione a distanza al mondo. Il Libretto Formativo " +
			"è stato presentato in un convegno interregionale con il supporto del MLPS. Il repertorio toscano delle competenze è stato " +
			"di riferimento per altre regioni (Sardegna nel 2009 e Puglia) per lo sviluppo dei propri repertori. Il modello fiorentino " +
			"di integrazione dei servizi è una sperimentazione unica in Italia, la cui completa efficacia dovrà comunque essere valutata " +
			"nel tempo. I servizi per l’infanzia di Firenze sono un punto di eccellenza, in un territorio che vede presente l’Istituto " +
			"degli Innocenti, punto di riferimento nazionale in materia. L’iniziativa è coerente con le priorità 1, 4 e 10 del QSN " +
			"(“Miglioramento e valorizzazione delle risorse umane”, “Inclusione sociale e servizi per la qualità della vita e " +
			"l’attrattività territoriale”, “Governance, capacità istituzionali e mercati concorrenziali ed efficaci”) e con le finalità " +
			"di AGIRE POR 2007-2013.",
		resources: "Non sembrano necessari investimenti ulteriori per l’effettiva operatività della buona pratica presso le " +
			"amministrazioni destinatarie: il trasferimento si basa sull’esperienza delle amministrazioni offerenti.",
		prerequisites: "Disponibilità, presso le amministrazioni destinatarie, delle condizioni e dei requisiti minimi per il " +
			"recepimento e la replicabilità della buona pratica; un’amministrazione regionale e una comunale che lavorino insieme, " +
			"poiché i modelli comunali usano logiche e strumenti definiti a livello regionale. Attenzione alla riorganizzazione della " +
			"rete dei servizi al cittadino alla luce della riforma del mercato del lavoro (nuovi LEP per i Servizi per l’Impiego), " +
			"del riassetto delle province e della riassegnazione delle competenze sul territorio.",
		contact:   contact{name: "Regione Toscana"},
		languages: []string{"it"},
		attachments: []link{
			{title: "Regione Toscana", url: "https://www.regione.toscana.it"},
			{title: "Comune di Firenze", url: "https://www.comune.fi.it"},
		},
		models: []model{
			{
				code: "A", owner: "regione-toscana",
				title:       "Utilizzo della piattaforma e-learning Trio per l’erogazione di moduli formativi a distanza",
				description: "Sistema di erogazione di moduli didattici a distanza basato su piattaforma web accessibile a tutti con servizi di community.",
			},
			{
				code: "B", owner: "regione-toscana",
				title:       "Libretto formativo del Cittadino",
				description: "Strumento di registrazione delle competenze del cittadino, definizione di standard regionali di riconoscimento e certificazione.",
			},
			{
				code: "C", owner: "regione-toscana",
				title: "Sistema Regionale delle Competenze",
				description: "Insieme di regole, procedure, strumenti, format di rappresentazione delle competenze utilizzato per la " +
					"programmazione e la progettazione delle attività formative e per le attività di riconoscimento e ricostruzione " +
					"delle esperienze non formali ed informali.",
			},
			{
				code: "D", owner: "comune-di-firenze",
				title: "Servizi territoriali integrati (servizi sociali e per l’occupabilità dei cittadini)",
				description: "Processi di servizio integrati in termini di riconoscimento delle competenze dei cittadini (orientamento " +
					"anche verso attività di education e-learning, utilizzo del libretto formativo).",
			},
			{
				code: "E", owner: "comune-di-firenze",
				title:       "Servizi per la prima infanzia",
				description: "Modalità e strumenti di qualificazione dell’offerta di servizi per la prima infanzia.",
			},
		},
	},
	{
		key:   "ptp-meccanica",
		slug:  "poli-tecnico-professionali-della-meccanica",
		title: "Poli Tecnico Professionali della meccanica: la rete tra scuola e impresa e l’osservatorio delle professioni",
		summary: "Reti formalizzate tra istituti tecnici e professionali, imprese, organismi di formazione professionale e ITS della " +
			"filiera meccanica, che integrano risorse professionali, strumentali e finanziarie per un’offerta formativa più rispondente " +
			"alle esigenze del tessuto produttivo; nel Polo della Valdera, un osservatorio delle professioni in cui le aziende dicono " +
			"alle istituzioni formative quali competenze cercano.",
		description: "I Poli Tecnico Professionali (PTP) nascono dal Decreto interministeriale del 7 febbraio 2013, che li definisce reti " +
			"formalizzate tra soggetti pubblici e privati che includono istituti tecnici e/o professionali, imprese, organismi di " +
			"formazione professionale e ITS. La Regione Toscana li ha recepiti nella programmazione territoriale dell’istruzione e " +
			"formazione tecnica superiore per il triennio 2013-2015 (DGR n. 771 del 23 settembre 2013), promuovendone la costituzione " +
			"con istituzioni scolastiche, imprese, agenzie formative, università e associazioni di categoria in un’ottica di filiera.\n\n" +
			"I Poli sono una comunità di pratica: un luogo di incontro e scambio, uno spazio di confronto e cooperazione tra scuola e " +
			"impresa, “luoghi formativi di apprendimento in situazione” che annodano filiere formative e filiere produttive.\n\n" +
			"Il Polo della Filiera Meccanica di Pistoia è nato per iniziativa delle associazioni datoriali della produzione " +
			"(Associazione Industriali, CNA, Confartigianato) e delle scuole tecnico-professionali del territorio, con capofila l’ITTS " +
			"S. Fedi – E. Fermi. Il Polo Valdera per la meccanica collabora stabilmente con istituti, centri di formazione, imprese e " +
			"centri di ricerca e integra un osservatorio delle professioni, spazio di incontro reale e virtuale tra aziende e istituzioni " +
			"formative.",
		owners:  []string{"regione-toscana", "ptp-meccanica-pistoia", "ptp-valdera-meccanica"},
		themes:  []string{"istruzione e formazione", "lavoro", "orientamento"},
		sectors: []string{"meccanica"},
		programme: programme{
			name: "Programmazione territoriale dell’istruzione e formazione tecnica superiore 2013-2015 (DGR n. 771/2013)",
		},
		territory: toscana,
		problem: "Il mismatch tra domanda e offerta di competenze sul territorio, la dispersione scolastica e la disoccupazione dei " +
			"giovani: l’offerta formativa va riallineata alla domanda delle filiere produttive, e i giovani e le loro famiglie hanno " +
			"bisogno di orientarsi verso le competenze richieste dalle aziende del territorio.",
		results: "In Toscana si sono formalmente costituiti 25 PTP in 5 filiere produttive: agribusiness, turismo e beni culturali, " +
			"sistema moda, meccanica, nautica. Il Polo della Filiera Meccanica di Pistoia è stato approvato e riconosciuto dalla " +
			"Regione Toscana con Decreto dirigenziale n. 2880/2014. Il Polo Valdera forma, attraverso l’osservatorio delle professioni, " +
			"giovani già pronti per inserirsi nella realtà lavorativa del territorio pisano.",
		evidence: "Riconoscimento regionale del Polo di Pistoia (Decreto dirigenziale n. 2880/2014); 25 Poli costituiti in Toscana; " +
			"disciplina nazionale nelle Linee Guida del Decreto interministeriale 7 febbraio 2013 e nella legge n. 40/2007.",
		resources: "Le risorse professionali, logistiche e strumentali già disponibili presso istituti tecnici e professionali, " +
			"strutture formative accreditate, Istituti Tecnici Superiori e imprese, messe in comune: il Polo è una modalità " +
			"organizzativa di condivisione delle risorse pubbliche e private disponibili.",
		prerequisites: "Un accordo di rete formalizzato tra soggetti pubblici e privati di una filiera; il recepimento dei Poli nella " +
			"programmazione regionale. I Poli possono essere costituiti progressivamente, a partire dalla realizzazione di progetti " +
			"pilota, anche in ambito interprovinciale attraverso accordi di rete.",
		startDate: "2013-09-23",
		ongoing:   true,
		contact:   contact{name: "ITTS S. Fedi – E. Fermi, capofila del PTP Meccanica di Pistoia"},
		languages: []string{"it"},
		attachments: []link{
			{title: "I PTP su INDIRE", url: "https://www.indire.it"},
			{title: "I PTP sul sito della Regione Toscana", url: "https://www.regione.toscana.it"},
		},
		models: []model{
			{
				code: "A", owner: "regione-toscana",
				title: "Programmazione territoriale per filiere e riconoscimento dei Poli",
				description: "Recepimento dei Poli Tecnico Professionali nella programmazione territoriale dell’istruzione e formazione " +
					"tecnica superiore, promozione della loro costituzione con scuole, imprese, agenzie formative, università e " +
					"associazioni di categoria, e riconoscimento con decreto.",
			},
			{
				code: "B", owner: "ptp-meccanica-pistoia",
				title: "Rete formalizzata di filiera tra scuole, imprese, agenzie formative e ITS",
				description: "Accordo di rete promosso dalle associazioni datoriali e dalle scuole tecnico-professionali del territorio, " +
					"con una scuola capofila, che integra le risorse professionali, logistiche e strumentali dei soggetti della filiera " +
					"formativa e delle imprese della filiera produttiva.",
			},
			{
				code: "C", owner: "ptp-valdera-meccanica",
				title: "Osservatorio delle professioni",
				description: "Spazio di incontro reale e virtuale in cui le aziende comunicano alle istituzioni formative le loro " +
					"esigenze professionali, per formare giovani già pronti per inserirsi nella realtà lavorativa del territorio.",
			},
		},
	},
	{
		key:   "marche-politiche-attive",
		slug:  "marche-politiche-attive-del-lavoro-par-gol-duale-apprendistato",
		title: "Politiche attive del lavoro nelle Marche: PAR GOL, sistema duale e apprendistato",
		summary: "La Regione Marche, con il supporto di Anpal Servizi, ridisegna i servizi per il lavoro con il PAR GOL, programma " +
			"il sistema duale e l’apprendistato e sostiene i Centri per l’Impiego, per salvaguardare l’occupazione, contrastare la " +
			"disoccupazione e l’inattività giovanile e includere le persone più fragili.",
		description: "Il PAR GOL delle Marche, redatto con il supporto di Anpal Servizi, ha la finalità di ridisegnare i servizi per " +
			"il lavoro per migliorare l’inserimento lavorativo delle persone, offrendo percorsi personalizzati di ingresso o " +
			"reingresso al lavoro e innalzando le competenze attraverso percorsi di riqualificazione o aggiornamento professionale. " +
			"Il programma comprende un’offerta di servizi integrati basati su una cooperazione tra i servizi pubblici e privati, con " +
			"percorsi di accompagnamento al lavoro, di aggiornamento o riqualificazione professionale, e percorsi in collaborazione con " +
			"gli altri servizi territoriali nel caso di bisogni complessi, quali quelli di persone con disabilità o con fragilità.\n\n" +
			"Nel 2022, in accordo con il servizio formazione della Regione, Anpal Servizi ha collaborato alla redazione del PAR Duale, " +
			"supportando la Regione nella definizione del numero dei corsi e degli apprendistati da attivare; ha poi avviato il " +
			"confronto sul documento di Programmazione Duale per il 2023, in particolare sull’alternanza scuola-lavoro e " +
			"sull’alternanza simulata e rafforzata. La Regione è stata coadiuvata nelle delibere per il Sistema Duale e l’Apprendistato " +
			"di I livello, nella Mappatura dell’Offerta Formativa Regionale e nell’Analisi dei Fabbisogni Professionali Regionali, " +
			"propedeutiche ai nuovi bandi per l’Offerta Formativa IeFP.",
		owners: []string{"regione-marche", "anpal-servizi"},
		themes: []string{"lavoro", "istruzione e formazione", "apprendistato", "inclusione sociale"},
		programme: programme{
			name: "PAR GOL",
		},
		territory: marche,
		problem: "Salvaguardare l’occupazione delle Marche, contrastare i fenomeni di disoccupazione e di inattività giovanile e " +
			"promuovere l’integrazione sociolavorativa delle fasce più fragili e vulnerabili; reinserire i lavoratori coinvolti negli " +
			"interventi di ricollocazione di aziende in crisi.",
		results: "Il PAR GOL delle Marche e il PAR Duale 2022 sono stati redatti; sono state elaborate le delibere per " +
			"l’implementazione del Sistema Duale e dell’Apprendistato di I livello; nel 2023 è proseguito il supporto agli operatori " +
			"dei Centri per l’Impiego nell’erogazione di servizi e misure di politica attiva e di reinserimento lavorativo. È in corso " +
			"di definizione una Convenzione tra Regione Marche, USR, Camera di Commercio e Anpal Servizi per favorire la diffusione " +
			"dell’Apprendistato e promuovere la cultura dell’apprendimento duale verso il sistema produttivo.",
		evidence: "Il 5 luglio 2023 l’assessore regionale al Lavoro Stefano Aguzzi e il presidente di Anpal Servizi Massimo Temussi " +
			"hanno confermato la collaborazione, definita dall’assessore “molto positiva” per continuare a migliorare le politiche " +
			"attive del lavoro, potenziare i servizi per l’impiego, la formazione professionale e il raccordo tra scuola e impresa.",
		resources: "Il supporto tecnico di Anpal Servizi alla Regione e ai Centri per l’Impiego; la cooperazione tra servizi pubblici " +
			"e privati per il lavoro e con gli altri servizi territoriali; il servizio formazione regionale.",
		prerequisites: "Una programmazione regionale delle politiche attive (PAR GOL, programmazione duale); un raccordo stabile tra " +
			"servizi per l’impiego, formazione professionale, scuola e imprese; l’accordo con Ufficio scolastico regionale e Camera " +
			"di Commercio per l’apprendistato.",
		ongoing:   true,
		contact:   contact{name: "Regione Marche – Assessorato al Lavoro"},
		languages: []string{"it"},
		attachments: []link{
			{title: "Regione Marche", url: "https://www.regione.marche.it"},
			{title: "Anpal Servizi", url: "https://www.anpalservizi.it"},
		},
		models: []model{
			{
				code: "A", owner: "regione-marche",
				title: "PAR GOL: servizi per il lavoro integrati e percorsi personalizzati",
				description: "Percorsi personalizzati di ingresso o reingresso al lavoro, di aggiornamento o riqualificazione " +
					"professionale, in cooperazione tra servizi pubblici e privati, e percorsi con gli altri servizi territoriali per " +
					"i bisogni complessi di persone con disabilità o con fragilità.",
			},
			{
				code: "B", owner: "regione-marche",
				title: "Sistema duale e apprendistato di I livello",
				description: "PAR Duale con il numero dei corsi e degli apprendistati da attivare, programmazione duale annuale " +
					"(alternanza scuola-lavoro, alternanza simulata e rafforzata), delibere per il Sistema Duale e l’Apprendistato " +
					"di I livello, convenzione con USR e Camera di Commercio per diffondere l’apprendistato.",
			},
			{
				code: "C", owner: "anpal-servizi",
				title: "Supporto tecnico alla Regione e ai Centri per l’Impiego",
				description: "Mappatura dell’Offerta Formativa Regionale e Analisi dei Fabbisogni Professionali Regionali per i bandi " +
					"IeFP; orientamento a docenti e ragazzi e relazione con le aziende; supporto agli operatori dei Centri per " +
					"l’Impiego negli interventi di ricollocazione dei lavoratori di aziende in crisi.",
			},
		},
	},
}
