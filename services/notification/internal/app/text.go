package app

import (
	"fmt"

	"github.com/gemella/gemella/services/notification/internal/store"
)

// Text is the sentence a notification shows, in lang (it or en).
func Text(n *store.Notification, lang string) string {
	it := lang != "en"
	who := n.ActorName
	if who == "" {
		who = map[bool]string{true: "Qualcuno", false: "Someone"}[it]
	}
	pick := func(itText, enText string) string {
		if it {
			return itText
		}
		return enText
	}
	switch n.Reason {
	case ReasonReply:
		return fmt.Sprintf(pick("%s ha risposto al tuo messaggio in «%s»", "%s replied to your post in “%s”"), who, n.Title)
	case ReasonMention:
		return fmt.Sprintf(pick("%s ti ha menzionato in «%s»", "%s mentioned you in “%s”"), who, n.Title)
	case ReasonThreadPost:
		return fmt.Sprintf(pick("%s ha scritto in «%s»", "%s posted in “%s”"), who, n.Title)
	case ReasonTwinningState:
		return fmt.Sprintf(pick("Il gemellaggio «%s» è ora %s", "Twinning “%s” is now %s"), n.Title, statusText(n.Detail, it))
	case ReasonTransferStatus:
		if n.ModelCode != "" && n.Detail != "" {
			model := n.ModelCode
			if n.ModelTitle != "" {
				model += fmt.Sprintf(pick(" «%s»", " “%s”"), n.ModelTitle)
			}
			return fmt.Sprintf(pick("Il modello %s del gemellaggio «%s» è ora %s", "Model %s of twinning “%s” is now %s"), model, n.Title, statusText(n.Detail, it))
		}
		if n.Detail == "" {
			return fmt.Sprintf(pick("Un trasferimento del gemellaggio «%s» è cambiato", "A transfer of twinning “%s” moved"), n.Title)
		}
		return fmt.Sprintf(pick("Un trasferimento del gemellaggio «%s» è ora %s", "A transfer of twinning “%s” is now %s"), n.Title, statusText(n.Detail, it))
	case ReasonNewPractice:
		return fmt.Sprintf(pick("Nuova buona pratica di un'organizzazione che segui: «%s»", "A new practice of an organisation you follow: “%s”"), n.Title)
	case ReasonNewStory:
		return fmt.Sprintf(pick("Nuova storia pubblicata: «%s»", "A new story was published: “%s”"), n.Title)
	case ReasonPracticePublished:
		return fmt.Sprintf(pick("La buona pratica «%s» è stata pubblicata", "Practice “%s” was published"), n.Title)
	case ReasonAffiliation:
		org := n.Title
		if org == "" {
			org = pick("un'organizzazione", "an organisation")
		}
		if n.Detail == "verified" {
			return fmt.Sprintf(pick("La tua richiesta di rappresentare %s è stata verificata", "Your request to speak for %s was verified"), org)
		}
		return fmt.Sprintf(pick("La tua richiesta di rappresentare %s non è stata accolta", "Your request to speak for %s was refused"), org)
	case ReasonPracticeChanged:
		if n.Detail == "archived" {
			return fmt.Sprintf(pick("La buona pratica «%s» è stata archiviata", "Practice “%s” was archived"), n.Title)
		}
		return fmt.Sprintf(pick("La buona pratica «%s» è in revisione", "Practice “%s” is being revised"), n.Title)
	}
	return n.Title
}

var statusWords = map[string][2]string{
	"proposed": {"proposto", "proposed"}, "approved": {"approvato", "approved"}, "active": {"attivo", "active"},
	"suspended": {"sospeso", "suspended"}, "completed": {"concluso", "completed"}, "cancelled": {"annullato", "cancelled"},
	"planned": {"pianificato", "planned"}, "in_progress": {"in corso", "in progress"}, "adopted": {"adottato", "adopted"},
	"partially_adopted": {"adottato in parte", "partially adopted"}, "dropped": {"abbandonato", "dropped"},
}

func statusText(word string, it bool) string {
	w, ok := statusWords[word]
	if !ok {
		return word
	}
	if it {
		return w[0]
	}
	return w[1]
}
