package opendata

import (
	"context"
	"strings"
	"time"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"

	catalogv1 "github.com/gemella/gemella/proto/gemella/catalog/v1"
	discussionv1 "github.com/gemella/gemella/proto/gemella/discussion/v1"
	twinningv1 "github.com/gemella/gemella/proto/gemella/twinning/v1"
)

// This file is what is published: the sources (one list call each) and
// the tables made of them, column by column. A column's name never
// changes meaning; the ETags change by themselves when the columns do.

// at is a timestamp as a time; zero when absent.
func at(ts *timestamppb.Timestamp) time.Time {
	if ts == nil || (ts.GetSeconds() == 0 && ts.GetNanos() == 0) {
		return time.Time{}
	}
	return ts.AsTime()
}

// enumText writes an enum's values as the files do: lower case, without
// the type's prefix ("PRACTICE_STATUS_PUBLISHED" is "published"), and the
// unspecified value as empty.
type enumText map[protoreflect.EnumNumber]string

func newEnumText(d protoreflect.EnumDescriptor, prefix string) enumText {
	t := enumText{}
	values := d.Values()
	for i := range values.Len() {
		v := values.Get(i)
		if v.Number() == 0 {
			continue
		}
		t[v.Number()] = strings.ToLower(strings.TrimPrefix(string(v.Name()), prefix))
	}
	return t
}

func (t enumText) of(n protoreflect.EnumNumber) string { return t[n] }

var (
	organizationKinds = newEnumText(catalogv1.OrganizationKind(0).Descriptor(), "ORGANIZATION_KIND_")
	practiceStatuses  = newEnumText(catalogv1.PracticeStatus(0).Descriptor(), "PRACTICE_STATUS_")
	needStatuses      = newEnumText(catalogv1.NeedStatus(0).Descriptor(), "NEED_STATUS_")
	offerStatuses     = newEnumText(catalogv1.OfferStatus(0).Descriptor(), "OFFER_STATUS_")
	twinningStatuses  = newEnumText(twinningv1.TwinningStatus(0).Descriptor(), "TWINNING_STATUS_")
	origins           = newEnumText(twinningv1.Origin(0).Descriptor(), "ORIGIN_")
	transferStatuses  = newEnumText(twinningv1.TransferStatus(0).Descriptor(), "TRANSFER_STATUS_")
)

func hasCatalog(b Backends) bool    { return b.Catalog != nil }
func hasTwinning(b Backends) bool   { return b.Twinning != nil }
func hasDiscussion(b Backends) bool { return b.Discussion != nil }

// The sources.

var organizationSource = &source[*catalogv1.Organization]{
	name: "organizations", service: "catalog", available: hasCatalog,
	list: func(ctx context.Context, b Backends, token string, size int32) ([]*catalogv1.Organization, string, error) {
		resp, err := b.Catalog.ListOrganizations(ctx, &catalogv1.ListOrganizationsRequest{PageSize: size, PageToken: token})
		return resp.GetOrganizations(), resp.GetNextPageToken(), err
	},
	public:   func(*catalogv1.Organization) bool { return true },
	id:       (*catalogv1.Organization).GetId,
	version:  (*catalogv1.Organization).GetEtag,
	modified: func(o *catalogv1.Organization) time.Time { return at(o.GetUpdateTime()) },
	orderKey: func(o *catalogv1.Organization) time.Time { return at(o.GetCreateTime()) },
}

var practiceSource = &source[*catalogv1.Practice]{
	name: "practices", service: "catalog", available: hasCatalog, newestFirst: true,
	list: func(ctx context.Context, b Backends, token string, size int32) ([]*catalogv1.Practice, string, error) {
		resp, err := b.Catalog.ListPractices(ctx, &catalogv1.ListPracticesRequest{PageSize: size, PageToken: token})
		return resp.GetPractices(), resp.GetNextPageToken(), err
	},
	// Published, and archived: those were published, and twinnings name them.
	public: func(p *catalogv1.Practice) bool {
		s := p.GetStatus()
		return s == catalogv1.PracticeStatus_PRACTICE_STATUS_PUBLISHED || s == catalogv1.PracticeStatus_PRACTICE_STATUS_ARCHIVED
	},
	id:       (*catalogv1.Practice).GetId,
	version:  (*catalogv1.Practice).GetEtag,
	modified: func(p *catalogv1.Practice) time.Time { return at(p.GetUpdateTime()) },
	orderKey: func(p *catalogv1.Practice) time.Time { return at(p.GetCreateTime()) },
}

var twinningSource = &source[*twinningv1.Twinning]{
	name: "twinnings", service: "twinning", available: hasTwinning, newestFirst: true,
	list: func(ctx context.Context, b Backends, token string, size int32) ([]*twinningv1.Twinning, string, error) {
		resp, err := b.Twinning.ListTwinnings(ctx, &twinningv1.ListTwinningsRequest{PageSize: size, PageToken: token})
		return resp.GetTwinnings(), resp.GetNextPageToken(), err
	},
	public: func(t *twinningv1.Twinning) bool {
		s := t.GetStatus()
		return s != twinningv1.TwinningStatus_TWINNING_STATUS_UNSPECIFIED && s != twinningv1.TwinningStatus_TWINNING_STATUS_DRAFT
	},
	id:      (*twinningv1.Twinning).GetId,
	version: (*twinningv1.Twinning).GetEtag,
	modified: func(t *twinningv1.Twinning) time.Time {
		m := at(t.GetUpdateTime())
		for _, tr := range t.GetTransfers() {
			if u := at(tr.GetUpdateTime()); u.After(m) {
				m = u
			}
		}
		return m
	},
	orderKey: func(t *twinningv1.Twinning) time.Time { return at(t.GetCreateTime()) },
}

var needSource = &source[*catalogv1.Need]{
	name: "needs", service: "catalog", available: hasCatalog, newestFirst: true,
	list: func(ctx context.Context, b Backends, token string, size int32) ([]*catalogv1.Need, string, error) {
		resp, err := b.Catalog.ListNeeds(ctx, &catalogv1.ListNeedsRequest{PageSize: size, PageToken: token, Status: catalogv1.NeedStatus_NEED_STATUS_OPEN})
		return resp.GetNeeds(), resp.GetNextPageToken(), err
	},
	public:   func(n *catalogv1.Need) bool { return n.GetStatus() == catalogv1.NeedStatus_NEED_STATUS_OPEN },
	id:       (*catalogv1.Need).GetId,
	version:  (*catalogv1.Need).GetEtag,
	modified: func(n *catalogv1.Need) time.Time { return at(n.GetUpdateTime()) },
	orderKey: func(n *catalogv1.Need) time.Time { return at(n.GetCreateTime()) },
}

var offerSource = &source[*catalogv1.Offer]{
	name: "offers", service: "catalog", available: hasCatalog, newestFirst: true,
	list: func(ctx context.Context, b Backends, token string, size int32) ([]*catalogv1.Offer, string, error) {
		resp, err := b.Catalog.ListOffers(ctx, &catalogv1.ListOffersRequest{PageSize: size, PageToken: token, Status: catalogv1.OfferStatus_OFFER_STATUS_OPEN})
		return resp.GetOffers(), resp.GetNextPageToken(), err
	},
	public:   func(o *catalogv1.Offer) bool { return o.GetStatus() == catalogv1.OfferStatus_OFFER_STATUS_OPEN },
	id:       (*catalogv1.Offer).GetId,
	version:  (*catalogv1.Offer).GetEtag,
	modified: func(o *catalogv1.Offer) time.Time { return at(o.GetUpdateTime()) },
	orderKey: func(o *catalogv1.Offer) time.Time { return at(o.GetCreateTime()) },
}

var storySource = &source[*discussionv1.Story]{
	name: "stories", service: "discussion", available: hasDiscussion, newestFirst: true,
	list: func(ctx context.Context, b Backends, token string, size int32) ([]*discussionv1.Story, string, error) {
		resp, err := b.Discussion.ListStories(ctx, &discussionv1.ListStoriesRequest{PageSize: size, PageToken: token, Status: discussionv1.StoryStatus_STORY_STATUS_PUBLISHED})
		return resp.GetStories(), resp.GetNextPageToken(), err
	},
	public: func(s *discussionv1.Story) bool {
		return s.GetStatus() == discussionv1.StoryStatus_STORY_STATUS_PUBLISHED
	},
	id: (*discussionv1.Story).GetId,
	// A story has no etag: it does not change once published, except by
	// moderation, which its status shows.
	version: func(s *discussionv1.Story) string {
		return s.GetStatus().String() + "@" + at(s.GetPublishTime()).Format(time.RFC3339Nano)
	},
	modified: func(s *discussionv1.Story) time.Time { return at(s.GetPublishTime()) },
	// Published stories are listed by publication time.
	orderKey: func(s *discussionv1.Story) time.Time { return at(s.GetPublishTime()) },
}

// Descriptions shared by several columns.
var (
	createdIT, createdEN   = "Quando è stato registrato sulla piattaforma.", "When it was registered on the platform."
	updatedIT, updatedEN   = "Ultima modifica.", "Last change."
	territoryCodeIT        = "Codice del territorio (ISTAT o NUTS, es. ITI1 per la Toscana)."
	territoryCodeEN        = "Code of the territory (ISTAT or NUTS, e.g. ITI1 for Tuscany)."
	territoryNameIT        = "Nome del territorio."
	territoryNameEN        = "Name of the territory."
	orderOldestFirst       = Text{IT: "Dal più vecchio al più recente (per data di registrazione): un nuovo scaricamento aggiunge righe in fondo.", EN: "Oldest first (by registration time): a new download adds rows at the end."}
	orderOldestFirstOfItem = func(it, en string) Text {
		return Text{IT: "Nell'ordine " + it + " (dal più vecchio al più recente).", EN: "In the order of " + en + " (oldest first)."}
	}
)

// The tables, in the order the index and the catalogue list them.
var tables = []table{
	organizationsTable, practicesTable, modelsTable, adoptionTable,
	twinningsTable, transfersTable, needsTable, offersTable, storiesTable,
}

var organizationsTable = &tableDef[*catalogv1.Organization]{
	info: &TableInfo{
		Name:        "organizations",
		Title:       Text{IT: "Organizzazioni", EN: "Organisations"},
		Description: Text{IT: "Le amministrazioni, le scuole, le imprese, le agenzie formative e le reti che partecipano alla piattaforma Gemella di gemellaggi tra amministrazioni.", EN: "The administrations, schools, companies, training agencies and networks taking part in the Gemella platform of twinnings between administrations."},
		Key:         []string{"id"},
		Themes:      []string{"GOVE", "REGI"},
		Keywords:    []string{"organizzazioni", "pubblica amministrazione", "enti"},
		Order:       Text{IT: "Per nome.", EN: "By name."},
		Columns: []Column{
			col("id", String, "Identificativo stabile dell'organizzazione.", "Stable id of the organisation."),
			col("name", String, "Nome.", "Name."),
			col("kind", String, "Tipo: region, province, municipality, school, company, training_agency, its_foundation, university, association, public_agency, network.", "Kind: region, province, municipality, school, company, training_agency, its_foundation, university, association, public_agency, network."),
			col("territory_code", String, territoryCodeIT, territoryCodeEN),
			col("territory_name", String, territoryNameIT, territoryNameEN),
			ref("parent_id", String, "organizations.id", "L'organizzazione in cui si trova (un comune nella sua regione).", "The organisation it lies in (a municipality in its region)."),
			ref("network_ids", List, "organizations.id", "Le reti a cui appartiene.", "The networks it belongs to."),
			col("website", String, "Sito web.", "Web site."),
			col("description", String, "Descrizione.", "Description."),
			col("create_time", DateTime, createdIT, createdEN),
			col("update_time", DateTime, updatedIT, updatedEN),
		},
	},
	src: organizationSource,
	rows: func(o *catalogv1.Organization, r *record, emit func() error) error {
		r.text(o.GetId())
		r.text(o.GetName())
		r.text(organizationKinds.of(o.GetKind().Number()))
		r.text(o.GetTerritory().GetCode())
		r.text(o.GetTerritory().GetName())
		r.text(o.GetParentId())
		r.list(o.GetNetworkIds())
		r.text(o.GetWebsite())
		r.text(o.GetDescription())
		r.datetime(o.GetCreateTime())
		r.datetime(o.GetUpdateTime())
		return emit()
	},
}

var practicesTable = &tableDef[*catalogv1.Practice]{
	info: &TableInfo{
		Name:        "practices",
		Title:       Text{IT: "Buone pratiche", EN: "Good practices"},
		Description: Text{IT: "Le buone pratiche pubblicate sulla piattaforma Gemella: il problema che affrontano, i risultati, le evidenze, le risorse e i prerequisiti per trasferirle. I modelli trasferibili di ogni pratica sono nella tabella models, i dati di adozione nella tabella adoption.", EN: "The good practices published on the Gemella platform: the problem they address, their results, evidence, resources and prerequisites for a transfer. Each practice's transferable models are in the models table, the adoption figures in the adoption table."},
		Key:         []string{"id"},
		Themes:      []string{"GOVE", "EDUC", "SOCI"},
		Keywords:    []string{"buone pratiche", "gemellaggi", "trasferimento", "pubblica amministrazione"},
		Order:       orderOldestFirst,
		Columns: []Column{
			col("id", String, "Identificativo stabile della pratica.", "Stable id of the practice."),
			col("slug", String, "Nome breve nell'indirizzo della pagina della pratica (/practices/<slug>).", "Short name in the address of the practice's page (/practices/<slug>)."),
			col("title", String, "Titolo.", "Title."),
			col("summary", String, "Sintesi.", "Summary."),
			col("description", String, "Descrizione.", "Description."),
			ref("owner_organization_ids", List, "organizations.id", "Le organizzazioni titolari.", "The owning organisations."),
			col("themes", List, "Temi.", "Themes."),
			col("sectors", List, "Settori.", "Sectors."),
			col("programme_name", String, "Programma di finanziamento (es. PAR GOL).", "Funding programme (e.g. PAR GOL)."),
			col("programme_priorities", List, "Priorità o assi del programma.", "Priorities or axes of the programme."),
			col("territory_code", String, territoryCodeIT, territoryCodeEN),
			col("territory_name", String, territoryNameIT, territoryNameEN),
			col("problem", String, "Il problema affrontato.", "The problem addressed."),
			col("results", String, "I risultati ottenuti.", "The results achieved."),
			col("evidence", String, "Le evidenze dei risultati.", "The evidence of the results."),
			col("resources", String, "Le risorse impiegate.", "The resources used."),
			col("prerequisites", String, "I prerequisiti per trasferirla.", "The prerequisites for a transfer."),
			col("start_date", Date, "Data di avvio.", "Start date."),
			col("ongoing", Boolean, "Se è ancora in corso.", "Whether it is still running."),
			col("languages", List, "Lingue dei materiali (ISO 639-1).", "Languages of the materials (ISO 639-1)."),
			col("attachment_urls", List, "Indirizzi dei documenti allegati.", "Addresses of the attached documents."),
			col("model_codes", List, "Codici dei modelli trasferibili (tabella models).", "Codes of the transferable models (models table)."),
			col("status", String, "Stato: published, oppure archived (pubblicata in passato, ora archiviata).", "Status: published, or archived (published once, now archived)."),
			col("revision", Integer, "Revisione del contenuto pubblicato: 1 la prima, +1 a ogni revisione.", "Revision of the published content: 1 the first, +1 each revision."),
			col("create_time", DateTime, createdIT, createdEN),
			col("update_time", DateTime, updatedIT, updatedEN),
			col("publish_time", DateTime, "Quando è stata pubblicata.", "When it was published."),
		},
	},
	src: practiceSource,
	rows: func(p *catalogv1.Practice, r *record, emit func() error) error {
		r.text(p.GetId())
		r.text(p.GetSlug())
		r.text(p.GetTitle())
		r.text(p.GetSummary())
		r.text(p.GetDescription())
		r.list(p.GetOwnerOrganizationIds())
		r.list(p.GetThemes())
		r.list(p.GetSectors())
		r.text(p.GetProgramme().GetName())
		r.list(p.GetProgramme().GetPriorities())
		r.text(p.GetTerritory().GetCode())
		r.text(p.GetTerritory().GetName())
		r.text(p.GetProblem())
		r.text(p.GetResults())
		r.text(p.GetEvidence())
		r.text(p.GetResources())
		r.text(p.GetPrerequisites())
		r.date(p.GetStartDate())
		r.boolean(p.GetOngoing())
		r.list(p.GetLanguages())
		r.list(linkURLs(p.GetAttachments()))
		r.list(modelCodes(p.GetModels()))
		r.text(practiceStatuses.of(p.GetStatus().Number()))
		r.integer(int64(p.GetRevision()))
		r.datetime(p.GetCreateTime())
		r.datetime(p.GetUpdateTime())
		r.datetime(p.GetPublishTime())
		return emit()
	},
}

func linkURLs(links []*catalogv1.Link) []string {
	if len(links) == 0 {
		return nil
	}
	out := make([]string, len(links))
	for i, l := range links {
		out[i] = l.GetUrl()
	}
	return out
}

func modelCodes(models []*catalogv1.Model) []string {
	if len(models) == 0 {
		return nil
	}
	out := make([]string, len(models))
	for i, m := range models {
		out[i] = m.GetCode()
	}
	return out
}

var modelsTable = &tableDef[*catalogv1.Practice]{
	info: &TableInfo{
		Name:        "models",
		Title:       Text{IT: "Modelli trasferibili delle buone pratiche", EN: "Transferable models of the good practices"},
		Description: Text{IT: "Le componenti trasferibili di ogni buona pratica pubblicata (\"modello A\", \"modello B\"…), una riga per modello, legate alla pratica dal suo identificativo.", EN: "The transferable components of each published good practice (\"model A\", \"model B\"…), one row per model, joined to the practice by its id."},
		Key:         []string{"practice_id", "code"},
		Themes:      []string{"GOVE", "EDUC", "SOCI"},
		Keywords:    []string{"buone pratiche", "modelli", "trasferimento"},
		Order:       orderOldestFirstOfItem("delle pratiche, e dei modelli in ciascuna", "the practices, and of the models in each"),
		Columns: []Column{
			ref("practice_id", String, "practices.id", "La pratica.", "The practice."),
			col("code", String, "Codice del modello, unico nella pratica: A, B, …", "Code of the model, unique in the practice: A, B, …"),
			col("title", String, "Titolo.", "Title."),
			col("description", String, "Descrizione.", "Description."),
			ref("owner_organization_id", String, "organizations.id", "L'organizzazione titolare del modello, se diversa da quelle della pratica.", "The organisation owning the model, when not those of the practice."),
		},
	},
	src: practiceSource,
	rows: func(p *catalogv1.Practice, r *record, emit func() error) error {
		for _, m := range p.GetModels() {
			r.text(p.GetId())
			r.text(m.GetCode())
			r.text(m.GetTitle())
			r.text(m.GetDescription())
			r.text(m.GetOwnerOrganizationId())
			if err := emit(); err != nil {
				return err
			}
		}
		return nil
	},
}

var adoptionTable = &tableDef[*catalogv1.Practice]{
	info: &TableInfo{
		Name:        "adoption",
		Title:       Text{IT: "Adozione delle buone pratiche e dei modelli", EN: "Adoption of the good practices and models"},
		Description: Text{IT: "Quante volte ogni buona pratica, e ogni suo modello, è stata trasferita con un gemellaggio e con quale esito: una riga per la pratica intera (model_code vuoto) e una per ogni modello.", EN: "How often each good practice, and each of its models, has been transferred through a twinning, and with what outcome: one row for the whole practice (empty model_code) and one per model."},
		Key:         []string{"practice_id", "model_code"},
		Themes:      []string{"GOVE", "SOCI"},
		Keywords:    []string{"buone pratiche", "adozione", "trasferimento", "esiti"},
		Order:       orderOldestFirstOfItem("delle pratiche; la riga della pratica prima di quelle dei suoi modelli", "the practices; the practice's row before its models' rows"),
		Columns: []Column{
			ref("practice_id", String, "practices.id", "La pratica.", "The practice."),
			ref("model_code", String, "models.code", "Il modello (con practice_id); vuoto per la pratica intera.", "The model (with practice_id); empty for the whole practice."),
			col("twinnings", Integer, "Gemellaggi che l'hanno trasferita.", "Twinnings that transferred it."),
			col("in_progress", Integer, "Trasferimenti in corso.", "Transfers in progress."),
			col("adopted", Integer, "Trasferimenti conclusi con l'adozione.", "Transfers ended in adoption."),
			col("partially_adopted", Integer, "Trasferimenti conclusi con un'adozione parziale.", "Transfers ended in partial adoption."),
			col("dropped", Integer, "Trasferimenti abbandonati.", "Transfers dropped."),
			ref("receiving_organization_ids", List, "organizations.id", "Le organizzazioni che l'hanno ricevuta.", "The organisations that received it."),
		},
	},
	src: practiceSource,
	rows: func(p *catalogv1.Practice, r *record, emit func() error) error {
		adoptionRow(r, p.GetId(), "", p.GetAdoption())
		if err := emit(); err != nil {
			return err
		}
		for _, m := range p.GetModels() {
			adoptionRow(r, p.GetId(), m.GetCode(), m.GetAdoption())
			if err := emit(); err != nil {
				return err
			}
		}
		return nil
	},
}

func adoptionRow(r *record, practiceID, model string, a *catalogv1.AdoptionFigures) {
	r.text(practiceID)
	r.text(model)
	r.integer(int64(a.GetTwinnings()))
	r.integer(int64(a.GetInProgress()))
	r.integer(int64(a.GetAdopted()))
	r.integer(int64(a.GetPartiallyAdopted()))
	r.integer(int64(a.GetDropped()))
	r.list(a.GetReceivingOrganizationIds())
}

var twinningsTable = &tableDef[*twinningv1.Twinning]{
	info: &TableInfo{
		Name:        "twinnings",
		Title:       Text{IT: "Gemellaggi", EN: "Twinnings"},
		Description: Text{IT: "I gemellaggi tra amministrazioni offerenti e destinatarie (esclusi quelli ancora in bozza): obiettivi, risultati attesi, parti, periodo e stato. I trasferimenti dei modelli e i loro esiti sono nella tabella transfers.", EN: "The twinnings between offering and receiving administrations (except those still in draft): objectives, expected results, parties, period and status. The transfers of models and their outcomes are in the transfers table."},
		Key:         []string{"id"},
		Themes:      []string{"GOVE", "REGI"},
		Keywords:    []string{"gemellaggi", "cooperazione", "pubblica amministrazione", "trasferimento"},
		Order:       orderOldestFirst,
		Columns: []Column{
			col("id", String, "Identificativo stabile del gemellaggio.", "Stable id of the twinning."),
			col("code", String, "Codice breve univoco, es. TOSCA.", "Short unique code, e.g. TOSCA."),
			col("title", String, "Titolo.", "Title."),
			col("summary", String, "Sintesi.", "Summary."),
			col("status", String, "Stato: proposed, approved, active, suspended, completed, cancelled.", "Status: proposed, approved, active, suspended, completed, cancelled."),
			col("origin", String, "Origine: need (da una richiesta di supporto), offer (da un'offerta), direct (accordo diretto).", "Origin: need (from a request for support), offer (from an offer), direct (direct agreement)."),
			col("origin_ref", String, "La richiesta (needs.id) o l'offerta (offers.id) da cui nasce; le richieste e le offerte chiuse non sono nelle rispettive tabelle.", "The need (needs.id) or offer (offers.id) it came from; closed needs and offers are not in their tables."),
			col("programme_name", String, "Programma di finanziamento.", "Funding programme."),
			col("programme_priorities", List, "Priorità o assi del programma.", "Priorities or axes of the programme."),
			ref("offering_organization_ids", List, "organizations.id", "Le amministrazioni offerenti.", "The offering administrations."),
			ref("receiving_organization_ids", List, "organizations.id", "Le amministrazioni destinatarie.", "The receiving administrations."),
			ref("coordinator_organization_id", String, "organizations.id", "L'organizzazione che coordina.", "The coordinating organisation."),
			col("territory_codes", List, "Territori delle parti (ISTAT o NUTS).", "Territories of the parties (ISTAT or NUTS)."),
			col("objectives", List, "Obiettivi, ciascuno come \"livello: testo\".", "Objectives, each as \"level: text\"."),
			col("expected_results", List, "Risultati attesi.", "Expected results."),
			col("start_date", Date, "Data di inizio.", "Start date."),
			col("end_date", Date, "Data di fine.", "End date."),
			col("live_stream_url", String, "Indirizzo della diretta degli eventi, se c'è.", "Address of the events' live stream, if any."),
			col("transfer_count", Integer, "Numero di trasferimenti (tabella transfers).", "Number of transfers (transfers table)."),
			col("approve_time", DateTime, "Quando è stato approvato.", "When it was approved."),
			col("create_time", DateTime, createdIT, createdEN),
			col("update_time", DateTime, updatedIT, updatedEN),
		},
	},
	src: twinningSource,
	rows: func(t *twinningv1.Twinning, r *record, emit func() error) error {
		r.text(t.GetId())
		r.text(t.GetCode())
		r.text(t.GetTitle())
		r.text(t.GetSummary())
		r.text(twinningStatuses.of(t.GetStatus().Number()))
		r.text(origins.of(t.GetOrigin().Number()))
		r.text(t.GetOriginRef())
		r.text(t.GetProgramme().GetName())
		r.list(t.GetProgramme().GetPriorities())
		r.list(t.GetOfferingOrganizationIds())
		r.list(t.GetReceivingOrganizationIds())
		r.text(t.GetCoordinatorOrganizationId())
		r.list(t.GetTerritoryCodes())
		r.list(objectives(t.GetObjectives()))
		r.list(t.GetExpectedResults())
		r.date(t.GetStartDate())
		r.date(t.GetEndDate())
		r.text(t.GetLiveStreamUrl())
		r.integer(int64(len(t.GetTransfers())))
		r.datetime(approveTime(t))
		r.datetime(t.GetCreateTime())
		r.datetime(t.GetUpdateTime())
		return emit()
	},
}

func objectives(objs []*twinningv1.Objective) []string {
	if len(objs) == 0 {
		return nil
	}
	out := make([]string, len(objs))
	for i, o := range objs {
		if o.GetLevel() == "" {
			out[i] = o.GetText()
			continue
		}
		out[i] = o.GetLevel() + ": " + o.GetText()
	}
	return out
}

// approveTime is the last move to APPROVED in the twinning's history.
func approveTime(t *twinningv1.Twinning) *timestamppb.Timestamp {
	var last *timestamppb.Timestamp
	for _, h := range t.GetHistory() {
		if h.GetTo() == twinningv1.TwinningStatus_TWINNING_STATUS_APPROVED {
			last = h.GetTime()
		}
	}
	return last
}

var transfersTable = &tableDef[*twinningv1.Twinning]{
	info: &TableInfo{
		Name:        "transfers",
		Title:       Text{IT: "Trasferimenti dei modelli nei gemellaggi", EN: "Transfers of models in the twinnings"},
		Description: Text{IT: "Ogni modello trasferito in un gemellaggio da un'amministrazione offerente a una destinataria, con il suo stato ed esito (adottato, adottato in parte, abbandonato) e l'ultima nota di avanzamento.", EN: "Each model transferred in a twinning from an offering to a receiving administration, with its status and outcome (adopted, partially adopted, dropped) and the latest progress note."},
		Key:         []string{"id"},
		Themes:      []string{"GOVE", "REGI"},
		Keywords:    []string{"gemellaggi", "trasferimento", "adozione", "esiti"},
		Order:       orderOldestFirstOfItem("dei gemellaggi, e dei trasferimenti in ciascuno", "the twinnings, and of the transfers in each"),
		Columns: []Column{
			col("id", String, "Identificativo stabile del trasferimento.", "Stable id of the transfer."),
			ref("twinning_id", String, "twinnings.id", "Il gemellaggio.", "The twinning."),
			ref("practice_id", String, "practices.id", "La pratica del modello.", "The practice of the model."),
			ref("model_code", String, "models.code", "Il modello (con practice_id).", "The model (with practice_id)."),
			ref("from_organization_id", String, "organizations.id", "L'amministrazione offerente.", "The offering administration."),
			ref("to_organization_id", String, "organizations.id", "L'amministrazione destinataria.", "The receiving administration."),
			col("status", String, "Stato ed esito: planned, in_progress, adopted, partially_adopted, dropped.", "Status and outcome: planned, in_progress, adopted, partially_adopted, dropped."),
			col("start_date", Date, "Data di inizio.", "Start date."),
			col("end_date", Date, "Data di fine.", "End date."),
			col("practice_title", String, "Titolo della pratica quando il trasferimento è stato aggiunto.", "Title of the practice when the transfer was added."),
			col("model_title", String, "Titolo del modello quando il trasferimento è stato aggiunto.", "Title of the model when the transfer was added."),
			col("note_count", Integer, "Numero di note di avanzamento.", "Number of progress notes."),
			col("last_note", String, "L'ultima nota di avanzamento.", "The latest progress note."),
			col("last_note_time", DateTime, "Quando è stata scritta l'ultima nota.", "When the latest note was written."),
			col("update_time", DateTime, updatedIT, updatedEN),
		},
	},
	src: twinningSource,
	rows: func(t *twinningv1.Twinning, r *record, emit func() error) error {
		for _, tr := range t.GetTransfers() {
			notes := tr.GetNotes()
			var last *twinningv1.Note
			if len(notes) > 0 {
				last = notes[len(notes)-1]
			}
			r.text(tr.GetId())
			r.text(t.GetId())
			r.text(tr.GetPracticeId())
			r.text(tr.GetModelCode())
			r.text(tr.GetFromOrganizationId())
			r.text(tr.GetToOrganizationId())
			r.text(transferStatuses.of(tr.GetStatus().Number()))
			r.date(tr.GetStartDate())
			r.date(tr.GetEndDate())
			r.text(tr.GetPracticeTitle())
			r.text(tr.GetModelTitle())
			r.integer(int64(len(notes)))
			r.text(last.GetText())
			r.datetime(last.GetTime())
			r.datetime(tr.GetUpdateTime())
			if err := emit(); err != nil {
				return err
			}
		}
		return nil
	},
}

var needsTable = &tableDef[*catalogv1.Need]{
	info: &TableInfo{
		Name:        "needs",
		Title:       Text{IT: "Richieste di supporto aperte", EN: "Open requests for support"},
		Description: Text{IT: "Le richieste aperte (\"cerco\") con cui un'amministrazione chiede supporto su un problema, per trovare una buona pratica da trasferire.", EN: "The open requests (\"looking for\") in which an administration asks for support on a problem, to find a good practice to transfer."},
		Key:         []string{"id"},
		Themes:      []string{"GOVE"},
		Keywords:    []string{"richieste", "fabbisogni", "gemellaggi"},
		Order:       orderOldestFirst,
		Columns: []Column{
			col("id", String, "Identificativo stabile della richiesta.", "Stable id of the request."),
			ref("organization_id", String, "organizations.id", "L'organizzazione che chiede.", "The requesting organisation."),
			col("title", String, "Titolo.", "Title."),
			col("problem", String, "Il problema, nelle parole di chi chiede.", "The problem, in the requester's words."),
			col("themes", List, "Temi.", "Themes."),
			col("sectors", List, "Settori.", "Sectors."),
			col("territory_code", String, territoryCodeIT, territoryCodeEN),
			col("territory_name", String, territoryNameIT, territoryNameEN),
			col("desired_start", Date, "Inizio desiderato.", "Desired start."),
			col("language", String, "Lingua del testo (ISO 639-1).", "Language of the text (ISO 639-1)."),
			col("status", String, "Stato: sempre open (le richieste chiuse o soddisfatte non sono pubblicate qui).", "Status: always open (closed or matched requests are not published here)."),
			col("create_time", DateTime, createdIT, createdEN),
			col("update_time", DateTime, updatedIT, updatedEN),
		},
	},
	src: needSource,
	rows: func(n *catalogv1.Need, r *record, emit func() error) error {
		r.text(n.GetId())
		r.text(n.GetOrganizationId())
		r.text(n.GetTitle())
		r.text(n.GetProblem())
		r.list(n.GetThemes())
		r.list(n.GetSectors())
		r.text(n.GetTerritory().GetCode())
		r.text(n.GetTerritory().GetName())
		r.date(n.GetDesiredStart())
		r.text(n.GetLanguage())
		r.text(needStatuses.of(n.GetStatus().Number()))
		r.datetime(n.GetCreateTime())
		r.datetime(n.GetUpdateTime())
		return emit()
	},
}

var offersTable = &tableDef[*catalogv1.Offer]{
	info: &TableInfo{
		Name:        "offers",
		Title:       Text{IT: "Offerte di supporto aperte", EN: "Open offers of support"},
		Description: Text{IT: "Le offerte aperte (\"offro\") con cui un'organizzazione si rende disponibile a trasferire una delle sue buone pratiche.", EN: "The open offers (\"offering\") in which an organisation stands ready to transfer one of its good practices."},
		Key:         []string{"id"},
		Themes:      []string{"GOVE"},
		Keywords:    []string{"offerte", "buone pratiche", "gemellaggi"},
		Order:       orderOldestFirst,
		Columns: []Column{
			col("id", String, "Identificativo stabile dell'offerta.", "Stable id of the offer."),
			ref("organization_id", String, "organizations.id", "L'organizzazione che offre.", "The offering organisation."),
			ref("practice_id", String, "practices.id", "La pratica offerta.", "The practice offered."),
			col("practice_title", String, "Titolo della pratica.", "Title of the practice."),
			ref("model_codes", List, "models.code", "I modelli offerti (con practice_id); vuoto: tutti.", "The models offered (with practice_id); empty: all of them."),
			col("capacity", Integer, "Quanti gemellaggi può sostenere insieme.", "How many twinnings it can support at once."),
			col("languages", List, "Lingue (ISO 639-1).", "Languages (ISO 639-1)."),
			col("conditions", String, "Condizioni.", "Conditions."),
			col("status", String, "Stato: sempre open (le offerte chiuse non sono pubblicate qui).", "Status: always open (closed offers are not published here)."),
			col("create_time", DateTime, createdIT, createdEN),
			col("update_time", DateTime, updatedIT, updatedEN),
		},
	},
	src: offerSource,
	rows: func(o *catalogv1.Offer, r *record, emit func() error) error {
		r.text(o.GetId())
		r.text(o.GetOrganizationId())
		r.text(o.GetPracticeId())
		r.text(o.GetPracticeTitle())
		r.list(o.GetModelCodes())
		r.integer(int64(o.GetCapacity()))
		r.list(o.GetLanguages())
		r.text(o.GetConditions())
		r.text(offerStatuses.of(o.GetStatus().Number()))
		r.datetime(o.GetCreateTime())
		r.datetime(o.GetUpdateTime())
		return emit()
	},
}

var storiesTable = &tableDef[*discussionv1.Story]{
	info: &TableInfo{
		Name:        "stories",
		Title:       Text{IT: "Storie pubblicate", EN: "Published stories"},
		Description: Text{IT: "I racconti in prima persona di chi ha partecipato a un gemellaggio o a una buona pratica, pubblicati dopo la moderazione. Il nome dell'autore non è incluso.", EN: "First-person accounts by people who took part in a twinning or a good practice, published after moderation. The author's name is left out."},
		Key:         []string{"id"},
		Themes:      []string{"SOCI", "GOVE"},
		Keywords:    []string{"storie", "testimonianze", "gemellaggi"},
		Order:       Text{IT: "Dalla prima pubblicata alla più recente.", EN: "From the first published to the latest."},
		Columns: []Column{
			col("id", String, "Identificativo stabile della storia.", "Stable id of the story."),
			col("title", String, "Titolo.", "Title."),
			col("body", String, "Il testo, in Markdown.", "The text, in Markdown."),
			ref("twinning_id", String, "twinnings.id", "Il gemellaggio di cui parla (oppure practice_id).", "The twinning it is about (or practice_id)."),
			ref("practice_id", String, "practices.id", "La pratica di cui parla (oppure twinning_id).", "The practice it is about (or twinning_id)."),
			col("create_time", DateTime, "Quando è stata scritta.", "When it was written."),
			col("publish_time", DateTime, "Quando è stata pubblicata.", "When it was published."),
		},
	},
	src: storySource,
	rows: func(s *discussionv1.Story, r *record, emit func() error) error {
		r.text(s.GetId())
		r.text(s.GetTitle())
		r.text(s.GetBody())
		r.text(s.GetTwinningId())
		r.text(s.GetPracticeId())
		r.datetime(s.GetCreateTime())
		r.datetime(s.GetPublishTime())
		return emit()
	},
}
