package demo

import (
	"context"
	"fmt"
	"log/slog"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	catalogv1 "github.com/gemella/gemella/proto/gemella/catalog/v1"
	twinningv1 "github.com/gemella/gemella/proto/gemella/twinning/v1"
)

// The seed twinning (seeds/002): Tos.Ca., which transfers models A, B and
// C from Regione Toscana to Regione Calabria and D and E from Comune di
// Firenze to Comune di Vibo Valentia. The seed gives no calendar; the
// dates below are illustrative, around the seed's discussion of 16 May 2015.
const (
	TosCaCode             = "TOSCA"
	twinningRequestPrefix = "demo-twinning-"
	transferRequestPrefix = "demo-transfer-"
	activityRequestPrefix = "demo-activity-"
)

var tosCaTwinning = struct {
	title, summary, startDate, endDate string
	objectives                         [][2]string
	expectedResults                    []string
	programme                          string
	priorities                         []string
}{
	title: "Tos.Ca. – Valorizzare le competenze dei cittadini",
	summary: "Il progetto di gemellaggio ha per oggetto il trasferimento di buone pratiche sviluppate e consolidate nella Regione " +
		"Toscana e nel Comune di Firenze nell’ambito delle politiche sociali, educative e del lavoro: il sistema e-learning Trio, " +
		"il Libretto Formativo, il repertorio toscano delle competenze, il modello fiorentino di integrazione dei servizi sociali " +
		"e per il lavoro e l’organizzazione dei servizi per l’infanzia.",
	startDate: "2015-01-15",
	endDate:   "2016-06-30",
	objectives: [][2]string{
		{"regionale", "A favore della Regione Calabria: sviluppare logiche e strumenti di programmazione regionale che favoriscano " +
			"il recupero dei ritardi accumulati nel campo dei servizi sociali, educativi e per l’occupabilità dei cittadini " +
			"attraverso l’ammodernamento del sistema formativo, di orientamento e di implementazione degli standard regionali di " +
			"tipo professionale e di certificazione delle competenze."},
		{"comunale", "A favore del Comune di Vibo Valentia: migliorare gli interventi già in atto e sperimentare nuove modalità " +
			"di erogazione di servizi standard al cittadino (servizi sociali e per il lavoro integrati, servizi per la prima " +
			"infanzia) attraverso l’utilizzo di logiche e strumenti definiti a livello regionale, per elevare la qualificazione " +
			"delle risorse umane, organizzative e strutturali impegnate nella gestione dei servizi offerti."},
	},
	expectedResults: []string{
		"Raggiungimento di standard di benessere e di coesione sociale attraverso il rafforzamento delle pubbliche " +
			"amministrazioni che investono nell’accrescimento e nella qualificazione delle competenze.",
		"Politiche per l’occupabilità, l’inclusione lavorativa e l’adattabilità ai nuovi contesti competitivi, grazie a una " +
			"maggiore disponibilità di occasioni di life long learning.",
		"Miglioramento dell’offerta dei servizi sociali e integrazione delle politiche di inclusione rivolte alla prima " +
			"infanzia e al lavoro.",
		"Interazione tra i due livelli di governo territoriale (regione/comune) e buona governance nel coordinamento delle " +
			"azioni regionali in una logica di articolazione locale.",
		"Contributo all’Obiettivo di Servizio “Servizi di cura per l’infanzia e gli anziani”.",
	},
	programme:  "AGIRE POR 2007-2013",
	priorities: []string{"1", "4", "10"},
}

// tosCaTransfers are the five models; inProgress ones have started.
var tosCaTransfers = []struct {
	model, from, to string
	inProgress      bool
}{
	{"A", "Regione Toscana", "Regione Calabria", true},
	{"B", "Regione Toscana", "Regione Calabria", true},
	{"C", "Regione Toscana", "Regione Calabria", false},
	{"D", "Comune di Firenze", "Comune di Vibo Valentia", true},
	{"E", "Comune di Firenze", "Comune di Vibo Valentia", false},
}

var tosCaActivities = []struct {
	key      string
	activity *twinningv1.Activity
}{
	{"steering-1", &twinningv1.Activity{
		Kind: twinningv1.ActivityKind_ACTIVITY_KIND_STEERING_MEETING, Title: "Comitato di pilotaggio di avvio", Date: "2015-02-10",
		Participants: []string{"Regione Toscana", "Comune di Firenze", "Regione Calabria", "Comune di Vibo Valentia"},
		Outcome:      "Approvato il piano operativo del trasferimento dei cinque modelli.",
	}},
	{"workshop-competenze", &twinningv1.Activity{
		Kind: twinningv1.ActivityKind_ACTIVITY_KIND_WORKSHOP, Title: "Workshop sul Libretto formativo e sul repertorio delle competenze",
		Date: "2015-03-18", Participants: []string{"Regione Toscana", "Regione Calabria"},
		Outcome: "Definiti i primi standard regionali di riconoscimento delle competenze da adottare in Calabria.",
	}},
	{"visita-firenze", &twinningv1.Activity{
		Kind: twinningv1.ActivityKind_ACTIVITY_KIND_STUDY_VISIT, Title: "Visita di studio ai servizi integrati e ai nidi di Firenze",
		Date: "2015-04-22", Participants: []string{"Comune di Firenze", "Comune di Vibo Valentia"},
		Outcome: "Il Comune di Vibo Valentia ha osservato i processi di servizio integrati e l’organizzazione dei nidi.",
	}},
	{"live-discussione", &twinningv1.Activity{
		Kind: twinningv1.ActivityKind_ACTIVITY_KIND_LIVE_STREAM, Title: "Diretta: le competenze dei cittadini tra Toscana e Calabria",
		Date: "2015-05-16", Description: "Presentazione del gemellaggio e avvio della discussione generale.",
	}},
	{"piano-operativo", &twinningv1.Activity{
		Kind: twinningv1.ActivityKind_ACTIVITY_KIND_MILESTONE, Title: "Piano operativo del trasferimento approvato",
		DueDate: "2015-02-28", Done: true, Date: "2015-02-26",
	}},
	{"rapporto-finale", &twinningv1.Activity{
		Kind: twinningv1.ActivityKind_ACTIVITY_KIND_MILESTONE, Title: "Rapporto finale sul trasferimento dei modelli",
		DueDate: "2016-06-30",
	}},
}

// LoadTwinnings creates the Tos.Ca. twinning between the organisations and
// on the practice that Load put in the catalog, brings it to active, adds
// its five transfers (some in progress) and logs its activities. It is
// idempotent: it looks the twinning up by code before creating it, and
// every create carries a request id; a twinning someone completed,
// cancelled or suspended is left as it is.
func LoadTwinnings(ctx context.Context, tw twinningv1.TwinningServiceClient, cat catalogv1.CatalogServiceClient, logger *slog.Logger) error {
	if logger == nil {
		logger = slog.Default()
	}
	practice, orgs, err := tosCaReferences(ctx, cat)
	if err != nil {
		return err
	}
	t, err := ensureTosCa(ctx, tw, orgs)
	if err != nil {
		return err
	}
	if t, err = activate(ctx, tw, t); err != nil {
		return fmt.Errorf("activate twinning %s: %w", TosCaCode, err)
	}
	if t.GetStatus() != twinningv1.TwinningStatus_TWINNING_STATUS_ACTIVE {
		logger.Info("demo twinning left as it is", "code", TosCaCode, "status", t.GetStatus())
		return nil
	}
	if err := ensureTransfers(ctx, tw, t, practice, orgs); err != nil {
		return err
	}
	for _, a := range tosCaActivities {
		callCtx, cancel := context.WithTimeout(ctx, callTimeout)
		_, err := tw.LogActivity(callCtx, &twinningv1.LogActivityRequest{
			TwinningId: t.GetId(), Activity: a.activity, RequestId: activityRequestPrefix + "tosca-" + a.key,
		})
		cancel()
		if err != nil {
			return fmt.Errorf("log activity %s of twinning %s: %w", a.key, TosCaCode, err)
		}
	}
	logger.Info("demo twinning loaded", "code", TosCaCode, "id", t.GetId(), "transfers", len(tosCaTransfers), "activities", len(tosCaActivities))
	return nil
}

// tosCaReferences finds the practice by slug and the four organisations by
// name in the catalog.
func tosCaReferences(ctx context.Context, cat catalogv1.CatalogServiceClient) (*catalogv1.Practice, map[string]string, error) {
	callCtx, cancel := context.WithTimeout(ctx, callTimeout)
	practice, err := cat.GetPractice(callCtx, &catalogv1.GetPracticeRequest{Id: TosCaSlug})
	cancel()
	if err != nil {
		return nil, nil, fmt.Errorf("find practice %s: %w", TosCaSlug, err)
	}
	orgs := map[string]string{}
	token := ""
	for {
		callCtx, cancel := context.WithTimeout(ctx, callTimeout)
		page, err := cat.ListOrganizations(callCtx, &catalogv1.ListOrganizationsRequest{PageSize: 100, PageToken: token})
		cancel()
		if err != nil {
			return nil, nil, fmt.Errorf("list organisations: %w", err)
		}
		for _, o := range page.GetOrganizations() {
			orgs[o.GetName()] = o.GetId()
		}
		if token = page.GetNextPageToken(); token == "" {
			break
		}
	}
	for _, name := range []string{"Regione Toscana", "Comune di Firenze", "Regione Calabria", "Comune di Vibo Valentia"} {
		if orgs[name] == "" {
			return nil, nil, fmt.Errorf("demo twinning: organisation %q is not in the catalog; load the catalog demo first", name)
		}
	}
	return practice, orgs, nil
}

// ensureTosCa returns the twinning with code TOSCA, creating it if there
// is none.
func ensureTosCa(ctx context.Context, tw twinningv1.TwinningServiceClient, orgs map[string]string) (*twinningv1.Twinning, error) {
	callCtx, cancel := context.WithTimeout(ctx, callTimeout)
	existing, err := tw.GetTwinning(callCtx, &twinningv1.GetTwinningRequest{Id: TosCaCode})
	cancel()
	if err == nil {
		return existing, nil
	}
	if status.Code(err) != codes.NotFound {
		return nil, fmt.Errorf("look up twinning %s: %w", TosCaCode, err)
	}
	d := tosCaTwinning
	msg := &twinningv1.Twinning{
		Code: TosCaCode, Title: d.title, Summary: d.summary, ExpectedResults: d.expectedResults,
		Programme:                &twinningv1.Programme{Name: d.programme, Priorities: d.priorities},
		Origin:                   twinningv1.Origin_ORIGIN_DIRECT,
		OfferingOrganizationIds:  []string{orgs["Regione Toscana"], orgs["Comune di Firenze"]},
		ReceivingOrganizationIds: []string{orgs["Regione Calabria"], orgs["Comune di Vibo Valentia"]},
		StartDate:                d.startDate, EndDate: d.endDate,
	}
	for _, o := range d.objectives {
		msg.Objectives = append(msg.Objectives, &twinningv1.Objective{Level: o[0], Text: o[1]})
	}
	callCtx, cancel = context.WithTimeout(ctx, callTimeout)
	created, err := tw.CreateTwinning(callCtx, &twinningv1.CreateTwinningRequest{Twinning: msg, RequestId: twinningRequestPrefix + "tosca"})
	cancel()
	if err != nil {
		return nil, fmt.Errorf("create twinning %s: %w", TosCaCode, err)
	}
	return created, nil
}

// activate walks a twinning from where it is to ACTIVE, one legal move at
// a time, each against the etag it has just seen. Suspended, completed and
// cancelled twinnings stay as they are.
func activate(ctx context.Context, tw twinningv1.TwinningServiceClient, t *twinningv1.Twinning) (*twinningv1.Twinning, error) {
	for {
		var move func(context.Context, *twinningv1.TransitionTwinningRequest, ...grpc.CallOption) (*twinningv1.Twinning, error)
		switch t.GetStatus() {
		case twinningv1.TwinningStatus_TWINNING_STATUS_DRAFT:
			move = tw.ProposeTwinning
		case twinningv1.TwinningStatus_TWINNING_STATUS_PROPOSED:
			move = tw.ApproveTwinning
		case twinningv1.TwinningStatus_TWINNING_STATUS_APPROVED:
			move = tw.ActivateTwinning
		default:
			return t, nil
		}
		callCtx, cancel := context.WithTimeout(ctx, callTimeout)
		next, err := move(callCtx, &twinningv1.TransitionTwinningRequest{Id: t.GetId(), Etag: t.GetEtag()})
		cancel()
		if err != nil {
			return nil, err
		}
		t = next
	}
}

// ensureTransfers adds the transfers the twinning does not have yet and
// starts those of the demo that are still planned.
func ensureTransfers(ctx context.Context, tw twinningv1.TwinningServiceClient, t *twinningv1.Twinning, practice *catalogv1.Practice, orgs map[string]string) error {
	have := map[string]*twinningv1.Transfer{}
	for _, tr := range t.GetTransfers() {
		if tr.GetPracticeId() == practice.GetId() && tr.GetStatus() != twinningv1.TransferStatus_TRANSFER_STATUS_DROPPED {
			have[tr.GetModelCode()+"→"+tr.GetToOrganizationId()] = tr
		}
	}
	for _, want := range tosCaTransfers {
		key := want.model + "→" + orgs[want.to]
		tr, ok := have[key]
		if !ok {
			callCtx, cancel := context.WithTimeout(ctx, callTimeout)
			added, err := tw.AddTransfer(callCtx, &twinningv1.AddTransferRequest{
				TwinningId: t.GetId(), RequestId: transferRequestPrefix + "tosca-" + want.model,
				Transfer: &twinningv1.Transfer{
					PracticeId: practice.GetId(), ModelCode: want.model,
					FromOrganizationId: orgs[want.from], ToOrganizationId: orgs[want.to],
				},
			})
			cancel()
			if err != nil {
				return fmt.Errorf("add transfer of model %s to twinning %s: %w", want.model, TosCaCode, err)
			}
			tr = added
		}
		if !want.inProgress || tr.GetStatus() != twinningv1.TransferStatus_TRANSFER_STATUS_PLANNED {
			continue
		}
		callCtx, cancel := context.WithTimeout(ctx, callTimeout)
		_, err := tw.UpdateTransfer(callCtx, &twinningv1.UpdateTransferRequest{
			TwinningId: t.GetId(),
			Transfer:   &twinningv1.Transfer{Id: tr.GetId(), Status: twinningv1.TransferStatus_TRANSFER_STATUS_IN_PROGRESS},
			Note:       "Trasferimento avviato dopo il comitato di pilotaggio.",
		})
		cancel()
		if err != nil {
			return fmt.Errorf("start transfer of model %s in twinning %s: %w", want.model, TosCaCode, err)
		}
	}
	return nil
}
