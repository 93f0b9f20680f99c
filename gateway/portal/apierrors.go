package portal

import (
	"time"

	"golang.org/x/text/language"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/status"
)

// The REST API's errors are in English for developers; a client that
// sends Accept-Language gets the portal's sentences too, in a
// google.rpc.LocalizedMessage beside the status and in each field
// violation's localized_message (AIP-193), so that an application built
// on the API can show its users words in their language, as the portal
// does. The API names no organisation by name: an id in a sentence
// becomes a neutral word.

var apiLanguages = language.NewMatcher([]language.Tag{language.English, language.Italian})

// APIErrorLanguage is the language of Accept-Language the portal speaks,
// or false when the header asks for none of them.
func APIErrorLanguage(acceptLanguage string) (Lang, bool) {
	if acceptLanguage == "" {
		return "", false
	}
	tags, _, err := language.ParseAcceptLanguage(acceptLanguage)
	if err != nil || len(tags) == 0 {
		return "", false
	}
	_, i, conf := apiLanguages.Match(tags...)
	if conf == language.No {
		return "", false
	}
	return []Lang{English, Italian}[i], true
}

// LocalizedError says st in lang: a LocalizedMessage for the whole error,
// and one per field violation of its BadRequest, in their order.
func LocalizedError(st *status.Status, lang Lang) (*errdetails.LocalizedMessage, []*errdetails.LocalizedMessage) {
	if _, ok := parseLang(string(lang)); !ok {
		return nil, nil
	}
	w := wording{l: newLocale(lang, time.Now)}
	msg, fields := w.describe(st)
	locale := map[Lang]string{Italian: "it-IT", English: "en"}[lang]
	out := make([]*errdetails.LocalizedMessage, len(fields))
	for i, f := range fields {
		out[i] = &errdetails.LocalizedMessage{Locale: locale, Message: f.sentence}
	}
	return &errdetails.LocalizedMessage{Locale: locale, Message: msg}, out
}
