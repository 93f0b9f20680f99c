package app

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/gemella/gemella/services/twinning/internal/domain/report"
	"github.com/gemella/gemella/services/twinning/internal/domain/twinning"
)

// The words of a drafted report, in Italian: the reports go to Italian
// administrations and programme authorities.
var (
	activityKindWords = map[string]string{
		"workshop": "workshop", "study_visit": "visita di studio", "training": "formazione", "webinar": "webinar",
		"live_stream": "diretta", "steering_meeting": "comitato di pilotaggio", "report": "rapporto", "milestone": "tappa",
	}
	transferStatusWords = map[string]string{
		"planned": "pianificato", "in_progress": "in corso", "adopted": "adottato",
		"partially_adopted": "adottato in parte", "dropped": "abbandonato",
	}
	twinningStatusWords = map[string]string{
		"draft": "bozza", "proposed": "proposto", "approved": "approvato", "active": "attivo",
		"suspended": "sospeso", "completed": "concluso", "cancelled": "annullato",
	}
)

// md escapes what a person wrote so that Markdown shows it as written.
func md(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune("\\`*_[]<>#|~", r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// day writes a date YYYY-MM-DD as Italians do: 22/04/2015.
func day(d string) string {
	t, err := time.Parse(time.DateOnly, d)
	if err != nil {
		return d
	}
	return t.Format("02/01/2006")
}

func inPeriod(d, from, to string) bool { return d != "" && d >= from && d <= to }

// count writes n with the word's singular or plural: "1 tappa", "2 tappe".
func count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// draft writes the sections of a report of t for the days from..to.
func (h *Reports) draft(ctx context.Context, t *twinning.Twinning, from, to string) ([]report.Section, report.Discussion, error) {
	activities, err := h.d.Twinnings.Activities(ctx, t, nil, 0)
	if err != nil {
		return nil, report.Discussion{}, err
	}
	// Milestones are judged on the last day of the period, or today when
	// the period has not ended yet.
	today := h.d.Now().Format(time.DateOnly)
	ref := to
	if today < ref {
		ref = today
	}
	var done, milestones []twinning.Activity
	for _, a := range activities {
		switch {
		case a.Milestone:
			doneIn := a.Done && inPeriod(a.Date, from, to)
			dueIn := inPeriod(a.DueDate, from, to)
			overdue := !a.Done && a.DueDate != "" && a.DueDate < from
			if doneIn || dueIn || overdue {
				milestones = append(milestones, a)
			}
		case inPeriod(a.Date, from, to):
			done = append(done, a)
		}
	}
	names := h.orgNames(ctx, t)

	var sections []report.Section
	add := func(key string, b *strings.Builder) {
		sections = append(sections, report.Section{Key: key, Markdown: strings.TrimSpace(b.String())})
	}

	// Summary.
	var b strings.Builder
	fmt.Fprintf(&b, "Il presente rapporto riguarda il gemellaggio **%s** (%s) nel periodo dal %s al %s.\n\n", md(t.Title), md(t.Code), day(from), day(to))
	fmt.Fprintf(&b, "Stato del gemellaggio alla redazione: %s. Nel periodo: %s; %s da riportare (svolte, in scadenza o in ritardo). Trasferimenti di modelli in tutto: %d.\n",
		twinningStatusWords[t.Status.String()], count(len(done), "attività svolta", "attività svolte"), count(len(milestones), "tappa", "tappe"), len(t.Transfers))
	history, err := h.d.Twinnings.History(ctx, t, nil, 0)
	if err != nil {
		return nil, report.Discussion{}, err
	}
	var moves []string
	for _, c := range history {
		if d := c.At.In(Location).Format(time.DateOnly); inPeriod(d, from, to) && !c.From.IsZero() {
			moves = append(moves, fmt.Sprintf("- %s: da «%s» a «%s»", day(d), twinningStatusWords[c.From.String()], twinningStatusWords[c.To.String()]))
		}
	}
	if len(moves) > 0 {
		b.WriteString("\nCambi di stato del gemellaggio nel periodo:\n\n" + strings.Join(moves, "\n") + "\n")
	}
	add(report.SectionSummary, &b)

	// Activities done.
	b.Reset()
	if len(done) == 0 {
		b.WriteString("_Nessuna attività registrata nel periodo._")
	}
	for _, a := range done {
		fmt.Fprintf(&b, "- **%s** – %s (%s)", day(a.Date), md(a.Title), activityKindWords[a.Kind.String()])
		if len(a.Participants) > 0 {
			parts := make([]string, len(a.Participants))
			for i, p := range a.Participants {
				parts[i] = md(p)
			}
			fmt.Fprintf(&b, ". Partecipanti: %s", strings.Join(parts, ", "))
		}
		if a.Outcome != "" {
			fmt.Fprintf(&b, ". Esito: %s", md(a.Outcome))
		} else if a.Description != "" {
			fmt.Fprintf(&b, ". %s", md(a.Description))
		}
		b.WriteString("\n")
	}
	add(report.SectionActivities, &b)

	// Milestones.
	b.Reset()
	if len(milestones) == 0 {
		b.WriteString("_Nessuna tappa in scadenza o svolta nel periodo._")
	}
	for _, a := range milestones {
		fmt.Fprintf(&b, "- %s – ", md(a.Title))
		switch {
		case a.Done && a.Date != "" && a.Date <= ref:
			fmt.Fprintf(&b, "**svolta** il %s", day(a.Date))
			if a.DueDate != "" {
				fmt.Fprintf(&b, " (scadenza %s)", day(a.DueDate))
			}
		case a.Done && a.DueDate != "" && a.DueDate < ref:
			// Done after the period, late at its end.
			fmt.Fprintf(&b, "**in ritardo** alla fine del periodo: scadenza %s, svolta poi il %s", day(a.DueDate), day(a.Date))
		case a.Done:
			fmt.Fprintf(&b, "**in scadenza** il %s, svolta poi il %s", day(a.DueDate), day(a.Date))
		case a.DueDate < today:
			// Not done yet: late as of today.
			fmt.Fprintf(&b, "**in ritardo**: scadenza %s, non ancora svolta", day(a.DueDate))
		default:
			fmt.Fprintf(&b, "**in scadenza** il %s", day(a.DueDate))
		}
		b.WriteString("\n")
	}
	add(report.SectionMilestones, &b)

	// Transfers: status changes and notes.
	b.Reset()
	if len(t.Transfers) == 0 {
		b.WriteString("_Il gemellaggio non ha ancora trasferimenti._")
	}
	adopted, partial, dropped, running := 0, 0, 0, 0
	var outcomes strings.Builder
	for _, tr := range t.Transfers {
		status := tr.Status.String()
		fmt.Fprintf(&b, "### Modello %s – %s\n\n", md(tr.ModelCode), md(tr.ModelTitle))
		fmt.Fprintf(&b, "Buona pratica «%s», da %s a %s. Stato alla redazione: **%s**.\n\n", md(tr.PracticeTitle), md(names[tr.FromOrganizationID]), md(names[tr.ToOrganizationID]), transferStatusWords[status])
		var lines []string
		if inPeriod(tr.StartDate, from, to) {
			lines = append(lines, fmt.Sprintf("- %s: avviato", day(tr.StartDate)))
		}
		if tr.Status.IsFinal() && inPeriod(tr.EndDate, from, to) {
			lines = append(lines, fmt.Sprintf("- %s: %s", day(tr.EndDate), transferStatusWords[status]))
		}
		notes, err := h.d.Twinnings.Notes(ctx, t, tr.ID, nil, 0)
		if err != nil {
			return nil, report.Discussion{}, err
		}
		for _, n := range notes {
			if d := n.At.In(Location).Format(time.DateOnly); inPeriod(d, from, to) {
				lines = append(lines, fmt.Sprintf("- %s, nota: %s", day(d), md(n.Text)))
			}
		}
		if len(lines) == 0 {
			lines = append(lines, "_Nessun cambio di stato né nota nel periodo._")
		}
		b.WriteString(strings.Join(lines, "\n") + "\n\n")
		switch status {
		case "adopted":
			adopted++
		case "partially_adopted":
			partial++
		case "dropped":
			dropped++
		default:
			running++
		}
		fmt.Fprintf(&outcomes, "- Modello %s (%s) presso %s: **%s**", md(tr.ModelCode), md(tr.ModelTitle), md(names[tr.ToOrganizationID]), transferStatusWords[status])
		if tr.Status.IsFinal() && tr.EndDate != "" {
			fmt.Fprintf(&outcomes, " il %s", day(tr.EndDate))
		}
		outcomes.WriteString("\n")
	}
	add(report.SectionTransfers, &b)

	// Adoption outcomes.
	b.Reset()
	if len(t.Transfers) == 0 {
		b.WriteString("_Nessun modello da adottare._")
	} else {
		fmt.Fprintf(&b, "Su %s: adottati %d, adottati in parte %d, abbandonati %d, ancora in corso o pianificati %d.\n\n", count(len(t.Transfers), "modello", "modelli"), adopted, partial, dropped, running)
		b.WriteString(outcomes.String())
	}
	add(report.SectionAdoption, &b)

	// Discussion.
	b.Reset()
	var figures report.Discussion
	var period DiscussionPeriod
	err = errNoDiscussion
	if h.discussion != nil {
		period, err = h.discussion.Period(ctx, t.ID, from, to)
	}
	if err != nil {
		slog.WarnContext(ctx, "report: the discussion's figures are missing from the draft", slog.String("twinning", t.ID), slog.Any("error", err))
		b.WriteString("_Non è stato possibile leggere i dati della discussione: completare a mano._")
	} else {
		figures = report.Discussion{Threads: period.Threads, Posts: period.Posts, Participants: period.Participants, Stories: period.Stories}
		fmt.Fprintf(&b, "Nel periodo: %s in %s, con %s; %s.\n", count(period.Posts, "messaggio", "messaggi"),
			count(period.Threads, "discussione attiva", "discussioni attive"), count(period.Participants, "partecipante", "partecipanti"),
			count(period.Stories, "storia pubblicata", "storie pubblicate"))
		if len(period.ThreadTitles) > 0 {
			b.WriteString("\nDiscussioni attive:\n\n")
			for _, title := range period.ThreadTitles {
				fmt.Fprintf(&b, "- %s\n", md(title))
			}
		}
		if len(period.StoryTitles) > 0 {
			b.WriteString("\nStorie pubblicate:\n\n")
			for _, title := range period.StoryTitles {
				fmt.Fprintf(&b, "- %s\n", md(title))
			}
		}
	}
	add(report.SectionDiscussion, &b)

	// Objectives and expected results next to what happened.
	b.Reset()
	if len(t.Objectives) == 0 && len(t.ExpectedResults) == 0 {
		b.WriteString("_Il gemellaggio non indica obiettivi né risultati attesi._\n\n")
	}
	for _, o := range t.Objectives {
		fmt.Fprintf(&b, "**Obiettivo %s.** %s\n\n", md(o.Level), md(o.Text))
	}
	if len(t.ExpectedResults) > 0 {
		b.WriteString("Risultati attesi:\n\n")
		for _, r := range t.ExpectedResults {
			fmt.Fprintf(&b, "- %s\n", md(r))
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "**Quanto avvenuto nel periodo:** %s, %s da riportare; modelli adottati %d, adottati in parte %d, su %d in tutto. _Descrivere qui come le attività e le adozioni contribuiscono agli obiettivi._",
		count(len(done), "attività svolta", "attività svolte"), count(len(milestones), "tappa", "tappe"), adopted, partial, len(t.Transfers))
	add(report.SectionObjectives, &b)
	return sections, figures, nil
}

var errNoDiscussion = fmt.Errorf("no discussion service configured")

// orgNames names the twinning's parties, asking the catalogue; a party it
// cannot name is "un ente".
func (h *Reports) orgNames(ctx context.Context, t *twinning.Twinning) map[string]string {
	out := map[string]string{}
	for _, id := range t.OrganizationIDs() {
		out[id] = "un ente"
		if h.d.Catalog == nil {
			continue
		}
		if o, err := h.d.Catalog.Organization(ctx, id); err == nil && o.Name != "" {
			out[id] = o.Name
		}
	}
	return out
}
