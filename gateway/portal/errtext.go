package portal

import (
	"regexp"
	"strconv"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/status"
)

// What the services' errors say, in the page's language. The services
// answer in English for developers: a field violation names the field
// and its rule ("summary: is required before the practice is submitted"),
// a refusal says why in a sentence with ids in it ("transfer fdd2477b-… is
// planned: it cannot become partially_adopted"). A civil servant reading
// an Italian page should see neither English nor ids, so every error is
// translated here, in this order:
//
//  1. a stable reason, when the service gives one: ErrorInfo.reason for
//     the whole error, BadRequest.FieldViolation.reason for a field; the
//     message "reason.<REASON>" (ErrorInfo.metadata fills its {key}
//     placeholders, organisation ids shown by name);
//  2. the service's own words, matched by the patterns below (keyed by
//     the rule of a field violation, or by the message of a refusal), with
//     the ids, states and moves they name put into words;
//  3. a generic sentence of the page's language for the kind of error,
//     never the service's text.
//
// A test walks every error text in the services' sources and fails on one
// that only the generic sentence would explain.

// wording resolves what an error names: organisations by name, states and
// moves by their labels, transfers by their model.
type wording struct {
	l    *locale
	orgs orgNames
	// names are more ids the page knows, e.g. a transfer id → "C".
	names map[string]string
}

// org is an organisation's name, or a neutral word for an unknown id:
// never the id itself.
func (w wording) org(id string) string {
	if o, ok := w.orgs[id]; ok {
		return o.GetName()
	}
	if n, ok := w.names[id]; ok {
		return n
	}
	return w.l.T("words.an_organisation")
}

// name is what the page calls an id, or fallback.
func (w wording) name(id, fallback string) string {
	if n, ok := w.names[id]; ok {
		return n
	}
	return fallback
}

// state is the label of a state of a kind of thing ("practice",
// "twinning", "transfer", …), as the services spell it ("in_progress").
func (w wording) state(kind, s string) string {
	id := "enum." + strings.ToUpper(statePrefix[kind]+"_"+s)
	if w.l.Has(id) {
		return w.l.T(id)
	}
	return w.l.T("words.another_state")
}

var statePrefix = map[string]string{
	"practice": "PRACTICE_STATUS", "twinning": "TWINNING_STATUS", "transfer": "TRANSFER_STATUS",
	"need": "NEED_STATUS", "offer": "OFFER_STATUS", "post": "POST_STATE", "story": "STORY_STATUS",
	"affiliation": "AFFILIATION_STATUS", "report": "REPORT_STATE",
}

// verb is what a move does, in the infinitive ("pubblicarla").
func (w wording) verb(kind, move string) string {
	id := "verb." + kind + "." + move
	if w.l.Has(id) {
		return w.l.T(id)
	}
	return w.l.T("verb.other")
}

// quoted puts labels in the language's quotation marks.
func (w wording) quoted(s string) string { return w.l.T("words.quoted", s) }

// list writes items as the language lists them: "a, b e c".
func (w wording) list(items []string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	last := items[len(items)-1]
	id := "words.list"
	if strings.HasPrefix(last, "e") || strings.HasPrefix(last, "è") {
		// Italian joins "e" to a word that begins with e as "ed".
		id = "words.list_before_e"
	}
	return w.l.T(id, strings.Join(items[:len(items)-1], ", "), last)
}

// moves writes the services' list of moves ("edit, submit", "none").
func (w wording) moves(kind, text string, none string) string {
	if text == "none" || text == "" {
		return w.l.T(none)
	}
	var out []string
	for _, m := range strings.Split(text, ", ") {
		out = append(out, w.verb(kind, m))
	}
	return w.l.T("refusal.allowed", w.list(out))
}

// states writes a list of states ("in_progress, dropped").
func (w wording) states(kind, text string) string {
	var out []string
	for _, s := range strings.Split(text, ", ") {
		out = append(out, w.quoted(w.state(kind, s)))
	}
	return w.list(out)
}

// duration writes a Go duration ("15m0s") in words.
func (w wording) duration(s string) string {
	d, err := time.ParseDuration(s)
	if err != nil || d < time.Minute {
		return w.l.T("words.a_while")
	}
	if d%time.Hour == 0 {
		return w.l.N("time.hours", int(d/time.Hour))
	}
	return w.l.N("time.minutes", int(d/time.Minute))
}

// pattern is one way the services word an error, and what it becomes.
type pattern struct {
	re *regexp.Regexp
	// say turns the match into the page's sentence.
	say func(w wording, m []string) string
}

func rx(s string) *regexp.Regexp { return regexp.MustCompile("^(?:" + s + ")$") }

// msg is a pattern's sentence with no arguments from the match.
func msg(id string) func(wording, []string) string {
	return func(w wording, _ []string) string { return w.l.T(id) }
}

// num is the match's group i as a number.
func num(m []string, i int) int {
	n, _ := strconv.Atoi(m[i])
	return n
}

// ruleWords are the rules of field violations ("must be a date
// YYYY-MM-DD"), as the services' validators write them.
var ruleWords = []pattern{
	{rx(`is required|must not be blank|is required: .*|is required to register a new member`), msg("rule.required")},
	{rx(`is required \(YYYY-MM-DD\)`), msg("rule.date_required")},
	{rx(`is required before the practice is submitted`), msg("rule.required_to_submit")},
	{rx(`is required before the twinning is proposed`), msg("rule.required_to_propose")},
	{rx(`is a duplicate`), msg("rule.duplicate")},
	{rx(`is not a valid link: ask for a new one`), msg("link.invalid")},
	{rx(`is not the account's current password`), msg("rule.not_current_password")},
	{rx(`must be at most (\d+) characters, got (\d+)`), func(w wording, m []string) string {
		return w.l.N("rule.max_chars_got", num(m, 1), num(m, 2))
	}},
	{rx(`must be at most (\d+) characters`), func(w wording, m []string) string { return w.l.N("rule.max_chars", num(m, 1)) }},
	{rx(`must be at least (\d+) characters`), func(w wording, m []string) string { return w.l.N("rule.min_chars", num(m, 1)) }},
	{rx(`must be at most (\d+) bytes`), func(w wording, m []string) string { return w.l.N("rule.max_chars", num(m, 1)) }},
	{rx(`must have at most (\d+) (?:entries|values|models)`), func(w wording, m []string) string {
		return w.l.N("rule.max_entries", num(m, 1))
	}},
	{rx(`must be a date YYYY-MM-DD`), msg("rule.date")},
	{rx(`must not be before start_date`), msg("rule.end_before_start")},
	{rx(`must be an http or https URL`), msg("rule.url")},
	{rx(`must be an e-mail address.*`), msg("rule.email")},
	{rx(`header must be "\*" or an entity tag.*`), msg("rule.if_match")},
	{rx(`is "[^"]*" in the body but "[^"]*" in the path: .*`), msg("rule.path_mismatch")},
	{rx(`is .* but the If-Match header says .*: send the etag once, or the same in both`), msg("rule.if_match_differs")},
	{rx(`must be an ISTAT code \(digits\) or a NUTS code such as ITI1`), msg("rule.territory_code")},
	{rx(`must be an ISO 639-1 code of two lower-case letters, e\.g\. it`), msg("rule.language")},
	{rx(`must be valid UTF-8|must not contain control characters`), msg("rule.characters")},
	{rx(`must be one line`), msg("rule.one_line")},
	{rx(`must be lower-case letters and digits joined by single hyphens, at most 100 characters`), msg("rule.slug")},
	{rx(`must be at most 32 letters and digits, optionally joined by single hyphens or dots, e\.g\. TOSCA-2012`), msg("rule.twinning_code")},
	{rx(`must be (?:a model code: )?a capital letter followed by up to two capital letters or digits, e\.g\. A`), msg("rule.model_code")},
	{rx(`is used by another model of this practice`), msg("rule.model_code_used")},
	{rx(`must be a resource id.*|is not a known (?:origin|organisation kind|role|transfer status|scope)\b.*|must be a transfer status|"[^"]*" is not an organisation kind`), msg("rule.choose")},
	{rx(`must name at least one organisation`), msg("rule.organisation_required")},
	{rx(`must name at least one theme before the practice is submitted`), msg("rule.themes_to_submit")},
	{rx(`must name at least one language before the practice is submitted`), msg("rule.languages_to_submit")},
	{rx(`must describe at least one transferable model before the practice is submitted`), msg("rule.models_to_submit")},
	{rx(`must state at least one objective before the twinning is proposed`), msg("rule.objectives_to_propose")},
	{rx(`must name at least one offering party before the twinning is proposed`), msg("rule.offering_to_propose")},
	{rx(`must name at least one receiving party before the twinning is proposed`), msg("rule.receiving_to_propose")},
	{rx(`organisation "([^"]*)" is not an offering party of twinning \S+`), func(w wording, m []string) string {
		return w.l.T("rule.not_offering_party", w.org(m[1]))
	}},
	{rx(`organisation "([^"]*)" is not a receiving party of twinning \S+`), func(w wording, m []string) string {
		return w.l.T("rule.not_receiving_party", w.org(m[1]))
	}},
	{rx(`organisation "([^"]*)" does not exist(?: in the catalogue)?`), msg("rule.organisation_unknown")},
	{rx(`organisation "([^"]*)" is a \S+, not a network`), func(w wording, m []string) string {
		return w.l.T("rule.not_network", w.org(m[1]))
	}},
	{rx(`does not own practice "[^"]*": only its owners can offer it`), msg("rule.not_practice_owner")},
	{rx(`organisation "([^"]*)" owns neither practice "([^"]*)" nor its model (\S+)`), func(w wording, m []string) string {
		return w.l.T("rule.not_model_owner", w.org(m[1]), m[2], m[3])
	}},
	{rx(`model "([^"]*)" is not a model of practice "([^"]*)": .*`), func(w wording, m []string) string {
		return w.l.T("rule.unknown_model", m[1], m[2])
	}},
	{rx(`practice "[^"]*" has no model (\S+)`), func(w wording, m []string) string { return w.l.T("rule.no_such_model", m[1]) }},
	{rx(`practice "[^"]*" does not exist(?: in the catalogue)?`), msg("rule.practice_unknown")},
	{rx(`must be between 1 and (\d+) twinnings at once, got -?\d+`), func(w wording, m []string) string {
		return w.l.T("rule.capacity", num(m, 1))
	}},
	{rx(`must be between (-?\d+) and (-?\d+)(?:, got .*)?|must be a whole number from (-?\d+) to (-?\d+)`), func(w wording, m []string) string {
		if m[1] == "" {
			return w.l.T("rule.between", num(m, 3), num(m, 4))
		}
		return w.l.T("rule.between", num(m, 1), num(m, 2))
	}},
	{rx(`must not be negative`), msg("rule.not_negative")},
	{rx(`names unknown or read-only field "[^"]*"`), msg("rule.mask_unknown_field")},
	{rx(`name at least one notification, or set all`), msg("rule.mark_read_none")},
	{rx(`must be empty when all is true`), msg("rule.mark_read_both")},
	{rx(`at most (\d+) at a time`), func(w wording, m []string) string { return w.l.N("rule.max_at_once", num(m, 1)) }},
	{rx(`"[^"]*" was already sent by this caller with a different request: .*`), msg("rule.request_id_reused")},
	{rx(`is for milestones only: set milestone or leave it empty`), msg("rule.milestone_only")},
	{rx(`must be empty for a twinning by direct agreement`), msg("rule.direct_no_origin")},
	{rx(`must be empty for the general board`), msg("rule.general_board")},
	{rx(`must be empty when twinning_id is set.*`), msg("rule.story_one_subject")},
	{rx(`or practice_id is required: a story tells of a twinning or a practice`), msg("rule.story_subject")},
	{rx(`can change only while the twinning is a draft; it is (\w+)`), func(w wording, m []string) string {
		return w.l.T("rule.code_frozen", w.quoted(w.state("twinning", m[1])))
	}},
	{rx(`cannot change: the need belongs to the organisation that asked`), msg("rule.need_organisation_frozen")},
	{rx(`has an objective already: one objective per level`), msg("rule.objective_level_twice")},
	{rx(`is also an offering party: an organisation is on one side only`), msg("rule.both_sides")},
	{rx(`must keep (\S+), which receives model (\S+)`), func(w wording, m []string) string {
		return w.l.T("rule.keeps_receiving", w.org(m[1]), m[2])
	}},
	{rx(`must keep (\S+), which transfers model (\S+)`), func(w wording, m []string) string {
		return w.l.T("rule.keeps_offering", w.org(m[1]), m[2])
	}},
	{rx(`names "[^"]*", which cannot change once the transfer is added: add another transfer instead`), msg("rule.transfer_frozen")},
	{rx(`must be one of the practice's owner_organization_ids`), msg("rule.model_owner")},
	{rx(`must not be the organisation itself`), msg("rule.parent_self")},
	{rx(`email cannot be changed: it identifies the account`), msg("rule.email_frozen")},
	{rx(`is not a post of this thread`), msg("rule.not_in_thread")},
	{rx(`must be one of twinning, practice, thread, organization|must be EMAIL_FREQUENCY_IMMEDIATE, _DAILY, _WEEKLY or _NEVER|must be it or en`), msg("rule.choose")},
	// The gateway's check of an enum value: the API's own values, which a
	// caller sends as they are.
	{rx(`must be one of ([A-Z][A-Z0-9_]*(?:, [A-Z][A-Z0-9_]*)*)`), func(w wording, m []string) string { return w.l.T("rule.one_of", m[1]) }},
	{rx(`is not a token this service issued|was issued for other filters; repeat the filters of the first page`), msg("rule.page")},
	{rx(`name at least one role to grant|"[^"]*" is not a role: .*|"[^"]*" is not granted: .*`), msg("rule.roles")},
	{rx(`name at least one role to revoke|"[^"]*" is not revoked: .*`), msg("rule.roles_revoke")},
	{rx(`must be accepted to register`), msg("rule.privacy_consent")},
	{rx(`must be newest, most_adopted or title|must be relevance, newest, most_adopted or title`), msg("rule.order")},
	{rx(`is required for a quarterly report: YYYY-Qn, e.g. 2015-Q2|must be a year and a quarter, YYYY-Qn, e.g. 2015-Q2`), msg("rule.quarter")},
	{rx(`must be empty for a final report, which covers the whole twinning`), msg("rule.quarter_final")},
	{rx(`must be a quarter of the twinning, from (\S+) to (\S+)`), func(w wording, m []string) string {
		return w.l.T("rule.quarter_range", m[1], m[2])
	}},
	// What only a wrong request from the portal itself would get: the
	// visitor can do nothing but try again.
	{rx(`must be submit, publish or archive|must be one of propose, .*|` +
		`needs a positive maximum age|needs an id and a member|name the member by id|` +
		`does not match the twinning_id or practice_id filter|` +
		`must not be empty|must be html or pdf|must be it or en|is not a section of a report|names a section twice|is not a cursor this service issued|is not a known (?:need|offer|practice|story|twinning) status`), msg("rule.technical")},
}

// refusalWords are the messages of the other errors: refusals of state
// moves, duplicates, permissions, limits. A service that calls another
// prefixes what it called ("practice: …"); the patterns are tried on the
// message and then on what follows each ": " in it.
var refusalWords = []pattern{
	{rx(`practice \S+ is (\w+): (\w+) is not allowed \(allowed from \w+: (.*)\)`), func(w wording, m []string) string {
		return w.l.T("refusal.practice_move", w.quoted(w.state("practice", m[1])), w.verb("practice", m[2])) + " " +
			w.moves("practice", m[3], "refusal.allowed_none")
	}},
	{rx(`twinning \S+ is (\w+): (\w+) is not allowed \(allowed from \w+: (.*)\)`), func(w wording, m []string) string {
		return w.l.T("refusal.twinning_move", w.quoted(w.state("twinning", m[1])), w.verb("twinning", m[2])) + " " +
			w.moves("twinning", m[3], "refusal.allowed_none")
	}},
	{rx(`transfer (\S+)(?: of model (\S+))? is (\w+): it cannot become (\w+) \(allowed from \w+: (.*)\)`), func(w wording, m []string) string {
		// The model names the transfer; a page may know a better name.
		s := w.l.T("refusal.transfer_move", w.name(m[1], m[2]), w.quoted(w.state("transfer", m[3])), w.quoted(w.state("transfer", m[4])))
		if m[2] == "" && w.name(m[1], "") == "" {
			s = w.l.T("refusal.transfer_move_unnamed", w.quoted(w.state("transfer", m[3])), w.quoted(w.state("transfer", m[4])))
		}
		if m[5] == "none" {
			return s + " " + w.l.T("refusal.transfer_final")
		}
		return s + " " + w.l.T("refusal.transfer_allowed", w.states("transfer", m[5]))
	}},
	{rx(`twinning \S+ cannot be completed while transfers have no outcome \((.*)\): .*`), func(w wording, m []string) string {
		var open []string
		for _, part := range strings.Split(m[1], "; ") {
			if mm := transferOpen.FindStringSubmatch(part); mm != nil {
				open = append(open, w.l.T("refusal.open_transfer", mm[1], w.org(mm[2]), w.quoted(w.state("transfer", mm[3]))))
			}
		}
		return w.l.T("refusal.complete_open", w.list(open))
	}},
	{rx(`twinning \S+ has (\d+) transfers, the most one twinning may have`), func(w wording, m []string) string {
		return w.l.N("refusal.max_transfers", num(m, 1))
	}},
	{rx(`twinning \S+ has (\d+) activities, the most one twinning may log`), func(w wording, m []string) string {
		return w.l.N("refusal.max_activities", num(m, 1))
	}},
	{rx(`practice \S+ is (\w+): only a draft can be deleted; a published practice is archived, never deleted`), func(w wording, m []string) string {
		return w.l.T("refusal.practice_not_deletable", w.quoted(w.state("practice", m[1])))
	}},
	{rx(`twinning \S+ is (\w+): only a draft that was never proposed can be deleted; a proposed twinning is cancelled, never deleted`), func(w wording, m []string) string {
		return w.l.T("refusal.twinning_not_deletable", w.quoted(w.state("twinning", m[1])))
	}},
	{rx(`need \S+ is (\w+): it cannot be closed again`), msg("refusal.need_closed")},
	{rx(`need \S+ is (\w+): it cannot be .*`), func(w wording, m []string) string {
		return w.l.T("refusal.need_not_open", w.quoted(w.state("need", m[1])))
	}},
	{rx(`offer \S+ is (\w+): only an open offer can be closed`), msg("refusal.offer_closed")},
	{rx(`practice \S+ is (\w+): only a published practice can be offered`), func(w wording, m []string) string {
		return w.l.T("refusal.offer_unpublished", w.quoted(w.state("practice", m[1])))
	}},
	{rx(`practice "[^"]*" is (\w+) in the catalogue: only a published practice can be transferred`), func(w wording, m []string) string {
		return w.l.T("refusal.transfer_unpublished", w.quoted(w.state("practice", m[1])))
	}},
	{rx(`post \S+ can be edited for (\S+) after writing it; that time has passed`), func(w wording, m []string) string {
		return w.l.T("refusal.edit_window", w.duration(m[1]))
	}},
	{rx(`post \S+ is (\w+): it can no longer be edited`), func(w wording, m []string) string {
		return w.l.T("refusal.post_not_editable", w.quoted(w.state("post", m[1])))
	}},
	{rx(`the report is (\w+): (\w+) is not allowed \(allowed from \w+: (.*)\)`), func(w wording, m []string) string {
		return w.l.T("refusal.report_move", w.quoted(w.state("report", m[1])), w.verb("report", m[2])) + " " +
			w.moves("report", m[3], "refusal.allowed_none")
	}},
	{rx(`the report is (\w+): only a draft can be edited`), func(w wording, m []string) string {
		return w.l.T("refusal.report_not_draft", w.quoted(w.state("report", m[1])))
	}},
	{rx(`post \S+ is (\w+): only a hidden post can be restored`), msg("refusal.post_not_hidden")},
	{rx(`post \S+ is already hidden by a moderator`), msg("refusal.post_already_hidden")},
	{rx(`post \S+ was deleted by its author`), msg("refusal.post_deleted")},
	{rx(`you cannot report your own post`), msg("refusal.own_post")},
	{rx(`post \S+ is hidden by a moderator: restore it instead`), msg("refusal.dismiss_hidden")},
	{rx(`post \S+ has no reports to dismiss`), msg("refusal.no_reports")},
	{rx(`you cannot revoke your own administrator role: .*`), msg("refusal.own_admin_role")},
	{rx(`you cannot block yourself`), msg("refusal.block_self")},
	{rx(`this account is blocked: .*`), msg("login.blocked")},
	{rx(`story \S+ is already (\w+)`), func(w wording, m []string) string {
		return w.l.T("refusal.story_decided", w.quoted(w.state("story", m[1])))
	}},
	{rx(`the affiliation to (\S+) is (\w+): only a pending one can be verified`), func(w wording, m []string) string {
		return w.l.T("refusal.affiliation_not_pending", w.org(m[1]), w.quoted(w.state("affiliation", m[2])))
	}},
	{rx(`the affiliation to (\S+) is already refused`), func(w wording, m []string) string {
		return w.l.T("refusal.affiliation_refused", w.org(m[1]))
	}},
	{rx(`a member may ask for at most (\d+) affiliations`), func(w wording, m []string) string {
		return w.l.N("refusal.max_affiliations", num(m, 1))
	}},
	{rx(`a practice with slug "([^"]*)" already exists`), func(w wording, m []string) string { return w.l.T("exists.slug", m[1]) }},
	{rx(`a twinning with code "([^"]*)" already exists`), func(w wording, m []string) string { return w.l.T("exists.code", m[1]) }},
	{rx(`an affiliation to (\S+) is already (\w+)`), func(w wording, m []string) string {
		return w.l.T("exists.affiliation", w.org(m[1]), w.quoted(w.state("affiliation", m[2])))
	}},
	{rx(`this e-mail address is already registered: .*`), msg("exists.email")},
	{rx(`twinning \S+ already transfers model (\S+) of practice \S+ to (\S+) \(transfer \S+\)`), func(w wording, m []string) string {
		return w.l.T("exists.transfer", m[1], w.org(m[2]))
	}},
	{rx(`you have already reported post \S+`), msg("flash.already_reported")},
	{rx(`twinning \S+ has a report for (\S+) already: edit it`), func(w wording, m []string) string { return w.l.T("exists.quarter_report", m[1]) }},
	{rx(`twinning \S+ has a final report already: edit it`), msg("exists.final_report")},
	{rx(`request_id already used(?:: .*)?|request id "[^"]*" was used for .*`), msg("exists.request_id")},
	{rx(`(?:member|need|offer|organisation|post|practice|session|story|thread|twinning) \S+ already exists`), msg("exists.request")},
	// The aggregate store's own words, when a repository adds none.
	{rx(`\S+ \S+ already exists`), msg("exists.request")},
	{rx(`\S+ \S+ conflicts with another one`), msg("exists.conflict")},
	{rx(`.* (?:is|are) being (?:changed|counted) by others right now: retry|twinning \S+ changed its parties while this update was checked: retry`), msg("form.busy")},
	{rx(`.* was changed by someone else \(etag .*\): reload and retry`), msg("form.stale")},
	{rx(`too many failed log-ins: try again in (\d+)s`), func(w wording, m []string) string {
		return w.l.N("refusal.too_many_logins", num(m, 1))
	}},
	{rx(`too many password reset requests: try again in (\d+) minutes`), func(w wording, m []string) string {
		return w.l.N("refusal.too_many_resets", num(m, 1))
	}},
	{rx(`this link has already been used: ask for a new one`), msg("link.used")},
	{rx(`this link has expired: ask for a new one`), msg("link.expired")},
	{rx(`verify your e-mail address first: .*`), msg("refusal.verify_email")},
	{rx(`your e-mail address is already verified`), msg("verify.already")},
	{rx(`member \S+ has not asked to speak for (\S+)`), func(w wording, m []string) string {
		return w.l.T("refusal.no_affiliation", w.org(m[1]))
	}},
	{rx(`(twinning|practice|thread|organization) "[^"]*" does not exist or is not visible to you: there is nothing to follow`), func(w wording, m []string) string {
		return w.l.T(map[string]string{"twinning": "refusal.follow_twinning", "practice": "refusal.follow_practice",
			"thread": "refusal.follow_thread", "organization": "refusal.follow_organization"}[m[1]])
	}},
	{rx(`twinning \S+ has no (?:transfer|activity) "[^"]*"|(?:member|need|offer|organisation|post|practice|report|story|thread|twinning|moderation log entry) "[^"]*" not found|no member has this e-mail address`), msg("form.gone")},
	{rx(`(?:notification|fan-out) \S+ not found|member \S+ is not known here|you do not follow this`), msg("form.gone")},
	{rx(`the unsubscribe link is not valid: .*`), msg("refusal.unsubscribe_link")},
	// Permissions: the rule the services' policies state.
	{rx(`only a coordinator may validate and publish it`), msg("perm.publish")},
	{rx(`only a coordinator may (\w+) a report`), func(w wording, m []string) string { return w.l.T("perm.report_coordinator", w.verb("report", m[1])) }},
	{rx(`only an editor of a party may submit its reports`), msg("perm.report_submit")},
	{rx(`only an editor of a party, or a coordinator, may (?:draft|edit) its reports`), msg("perm.report_edit")},
	{rx(`only a coordinator or an editor of an owner may archive it`), msg("perm.archive")},
	{rx(`only an administrator or a coordinator may register an organisation`), msg("perm.register_organisation")},
	{rx(`only an editor of a party may propose it`), msg("perm.propose")},
	{rx(`only an editor of a party, or a coordinator, may change it`), msg("perm.twinning_edit")},
	{rx(`only an editor of an owner may change it`), msg("perm.practice_edit")},
	{rx(`only an editor of an owner may delete it`), msg("perm.practice_delete")},
	{rx(`only an editor of a party may delete it`), msg("perm.twinning_delete")},
	{rx(`only an editor of organisation (\S+) may write its needs`), func(w wording, m []string) string { return w.l.T("perm.need_write", w.org(m[1])) }},
	{rx(`only an editor of organisation (\S+) may write its offers`), func(w wording, m []string) string { return w.l.T("perm.offer_write", w.org(m[1])) }},
	{rx(`only an editor of organisation (\S+), or a coordinator, may close its need`), func(w wording, m []string) string {
		return w.l.T("perm.need_close", w.org(m[1]))
	}},
	{rx(`only an editor of organisation (\S+), or an administrator, may change it`), func(w wording, m []string) string {
		return w.l.T("perm.organisation_edit", w.org(m[1]))
	}},
	{rx(`only an editor of the transfer's offering party, or a coordinator, may add it`), msg("perm.transfer_add")},
	{rx(`only an editor of the transfer's receiving or offering party, or a coordinator, may update it`), msg("perm.transfer_update")},
	{rx(`only a coordinator may (\w+) it`), func(w wording, m []string) string { return w.l.T("perm.coordinator_move", w.verb("twinning", m[1])) }},
	{rx(`only a coordinator or an editor of an offering party may (\w+) it`), func(w wording, m []string) string {
		return w.l.T("perm.offering_move", w.verb("twinning", m[1]))
	}},
	{rx(`only an editor of every owner may create a practice: you do not speak for (\S+)`), func(w wording, m []string) string {
		return w.l.T("perm.create_practice_for", w.org(m[1]))
	}},
	{rx(`only an editor of its owners may create a practice`), msg("perm.create_practice")},
	{rx(`only an editor of one of its parties, or a coordinator, may create a twinning`), msg("perm.create_twinning")},
	{rx(`you cannot name (\S+) an owner: you do not speak for it`), func(w wording, m []string) string { return w.l.T("perm.name_owner", w.org(m[1])) }},
	{rx(`the change would leave none of your organisations among its parties`), msg("perm.leave_parties")},
	{rx(`only a (\w+) may do this`), func(w wording, m []string) string {
		return w.l.T("perm.role", w.quoted(w.l.T("enum.ROLE_"+strings.ToUpper(m[1]))))
	}},
	{rx(`a member asks for affiliations for themself only`), msg("perm.own_affiliation")},
	{rx(`only an administrator or a coordinator sees the affiliation requests`), msg("perm.affiliation_requests")},
	{rx(`a twinning's general thread is opened by the platform when the twinning is approved`), msg("perm.general_thread")},
	{rx(`only the author may (?:change|edit|delete) post \S+`), msg("perm.author")},
	{rx(`only moderators see \w+ stories`), msg("perm.stories")},
	{rx(`only the catalog's consumer of twinning events may do this|only the service itself marks an address verified without its link|unknown move.*`), msg("perm.platform")},
	// Sessions.
	{rx(`log in first: .*`), msg("form.log_in_first")},
	{rx(`session \S+ is unknown or expired: log in again|the session is older than the maximum session age: log in again|` +
		`the session was logged out: log in again|this token was not issued by a log-in: there is no session to refresh`), msg("form.log_in")},
	{rx(`wrong e-mail or password`), msg("login.wrong")},
	// The operator's bootstrap command: shown on a page only if ever exposed.
	{rx(`an administrator exists already: .*`), msg("bootstrap.exists")},
	{rx(`the first administrator is being made for \S+ by another run: .*`), msg("form.busy")},
	{rx(`search is not available on this catalog|the search index of this replica is being rebuilt; retry shortly|.* unavailable|.* unreachable|.* unreachable; retry later|` +
		`logged out here, but the other services could not be told yet: log out again`), msg("form.unavailable")},
	{rx(`the change is saved, but the member's sessions could not all be ended yet: do it again`), msg("refusal.sessions_not_ended")},
}

var transferOpen = regexp.MustCompile(`^model (\S+) to (\S+) is (\w+)$`)

// say finds the first pattern that matches text, also after each ": ".
func (w wording) say(patterns []pattern, text string) (string, bool) {
	for rest := text; ; {
		for _, p := range patterns {
			if m := p.re.FindStringSubmatch(rest); m != nil {
				return p.say(w, m), true
			}
		}
		_, after, ok := strings.Cut(rest, ": ")
		if !ok {
			return "", false
		}
		rest = after
	}
}

// reason is the sentence for a stable reason of the services, with the
// error's metadata in its {key} placeholders; false when the portal does
// not know the reason.
func (w wording) reason(reason string, metadata map[string]string) (string, bool) {
	id := "reason." + reason
	if reason == "" || !w.l.Has(id) {
		return "", false
	}
	s := w.l.T(id)
	for k, v := range metadata {
		if strings.HasSuffix(k, "organization_id") {
			v = w.org(v)
		}
		s = strings.ReplaceAll(s, "{"+k+"}", v)
	}
	return s, true
}

// localized is a LocalizedMessage in the page's language, if the service
// sent one.
func (w wording) localized(m *errdetails.LocalizedMessage) (string, bool) {
	if m.GetMessage() == "" {
		return "", false
	}
	lang, _, _ := strings.Cut(m.GetLocale(), "-")
	return m.GetMessage(), Lang(strings.ToLower(lang)) == w.l.Lang
}

// fieldSentence is a field violation in words: by its reason, its
// localized message, its rule, or the generic sentence.
func (w wording) fieldSentence(v *errdetails.BadRequest_FieldViolation) string {
	if s, ok := w.reason(v.GetReason(), nil); ok {
		return s
	}
	if s, ok := w.localized(v.GetLocalizedMessage()); ok {
		return s
	}
	if s, ok := w.say(ruleWords, v.GetDescription()); ok {
		return s
	}
	return w.l.T("rule.generic")
}

// valueWords are the rules of an item of a list ("languages[1]") said
// with the item the visitor wrote, the first group of the match.
var valueWords = []pattern{
	{rx(`must be an ISO 639-1 code of two lower-case letters, e\.g\. it`), msg("rule.language_value")},
	{rx(`must be an ISTAT code \(digits\) or a NUTS code such as ITI1`), msg("rule.territory_code_value")},
	{rx(`is a duplicate`), msg("rule.duplicate_value")},
}

// aboutValue is a field violation of one item of a list, naming the item
// (value, as the visitor wrote it): the rule's own sentence for an item,
// or its sentence after the item.
func (w wording) aboutValue(f fieldWords, value string) string {
	if r := []rune(value); len(r) > 40 {
		value = string(r[:39]) + "…"
	}
	for _, p := range valueWords {
		if p.re.MatchString(f.rule) {
			return strings.ReplaceAll(p.say(w, nil), "{value}", w.quoted(value))
		}
	}
	return w.l.T("words.about_value", w.quoted(value), f.sentence)
}

// refusal is the sentence for an error that is not about one field, or
// fallback (a message id) when nothing in it is known.
func (w wording) refusal(st *status.Status, fallback string) string {
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			if s, ok := w.reason(d.GetReason(), d.GetMetadata()); ok {
				return s
			}
		case *errdetails.LocalizedMessage:
			if s, ok := w.localized(d); ok {
				return s
			}
		}
	}
	if s, ok := w.say(refusalWords, st.Message()); ok {
		return s
	}
	return w.l.T(fallback)
}
