package portal

// The labels of each form's fields (message ids), as its template shows
// them: the error summary at the top of a form names a field by the same
// words, never by the API's field name. A service names fields as its API
// does ("contact.email", "models[2].code"); a form renames the ones it
// edits under another name (see form.rename).

var practiceLabels = map[string]string{
	"title": "manage.f.title", "slug": "manage.f.slug", "summary": "manage.f.summary", "description": "manage.f.description",
	"owner_organization_ids": "manage.f.owners", "themes": "manage.f.themes", "sectors": "manage.f.sectors",
	"programme": "manage.f.programme", "programme.name": "manage.f.programme", "programme.priorities": "manage.f.priorities",
	"territory": "manage.f.territory_name", "territory.code": "manage.f.territory_code", "territory.name": "manage.f.territory_name",
	"start_date": "manage.f.start_date", "ongoing": "manage.f.ongoing", "languages": "manage.f.languages",
	"problem": "practice.problem", "results": "practice.results", "evidence": "practice.evidence",
	"resources": "practice.resources", "prerequisites": "practice.prerequisites",
	"models": "practice.models", "models[]": "manage.f.model_n", "models[].code": "manage.f.model_code",
	"models[].title": "manage.f.model_title", "models[].description": "manage.f.model_description",
	"models[].owner_organization_id": "practice.model.owner",
	"contact":                        "practice.contact", "contact.name": "manage.f.contact_name", "contact.email": "manage.f.contact_email",
	"contact.phone": "manage.f.contact_phone", "attachments": "practice.attachments", "attachments[]": "manage.f.attachment_n",
	"attachments[].url": "manage.f.attachment_url", "attachments[].title": "manage.f.attachment_title",
	"note": "manage.f.revision_note", "reason": "manage.reason",
}

var twinningLabels = map[string]string{
	"code": "manage.f.code", "title": "manage.f.title", "summary": "manage.f.twinning_summary",
	"origin": "manage.f.origin", "origin_ref": "manage.f.origin_ref",
	"offering_organization_ids": "twinning.offering", "receiving_organization_ids": "twinning.receiving",
	"coordinator_organization_id": "twinning.coordinator", "territory_codes": "manage.f.territory_codes",
	"objectives": "twinning.objectives", "objectives[]": "manage.f.objective_n", "objectives[].level": "manage.f.objective_level",
	"objectives[].text": "manage.f.objective_text", "expected_results": "twinning.results",
	"programme": "manage.f.programme", "programme.name": "manage.f.programme", "programme.priorities": "manage.f.priorities",
	"start_date": "manage.f.start_date", "end_date": "manage.f.end_date", "live_stream_url": "manage.f.live_stream_url",
	"reason": "manage.reason",
}

var transferLabels = map[string]string{
	"practice_id": "manage.f.practice", "model_code": "manage.f.model_code",
	"from_organization_id": "twinning.from", "to_organization_id": "twinning.to",
	"start_date": "manage.f.start_date", "end_date": "manage.f.end_date",
	"status": "twinning.status", "note": "manage.f.note",
}

var activityLabels = map[string]string{
	"kind": "manage.f.kind", "title": "manage.f.title", "description": "manage.f.description", "date": "manage.f.date",
	"participants": "manage.f.participants", "outcome": "manage.f.outcome", "links": "manage.f.links",
	"links[]": "manage.f.link_n", "milestone": "manage.f.milestone", "due_date": "manage.f.due_date",
}

var memberLabels = map[string]string{
	"display_name": "register.display_name", "email": "register.email", "password": "register.password",
	"organization_id": "register.organization", "organization_name": "register.organization_name",
	"role_title": "register.role_title", "privacy_consent": "register.privacy_consent",
}

var affiliationLabels = map[string]string{"organization_id": "profile.affiliation_org", "reason": "manage.reason"}

var threadLabels = map[string]string{"title": "thread.field.title", "body": "thread.field.body"}

var postLabels = map[string]string{"body": "post.body", "reason": "report.reason", "parent_id": "post.body"}

var storyLabels = map[string]string{
	"title": "story.field.title", "body": "story.field.body", "about": "story.about",
	"twinning_id": "story.about", "practice_id": "story.about",
}

var moderationLabels = map[string]string{"reason": "manage.reason"}
