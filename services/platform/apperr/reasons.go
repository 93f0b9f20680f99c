package apperr

import "strings"

// Reason is the stable, machine-readable cause of an error, in UPPER_SNAKE
// case. Clients branch and translate on it (the portal shows each in Italian
// and English); the message beside it is for people and may change. A
// reason, once published, keeps its meaning: add new ones, never rename.
//
// On the wire it is the reason of a google.rpc.ErrorInfo whose domain is
// Domain, and the reason of each google.rpc.BadRequest field violation.
type Reason string

// Domain is the ErrorInfo domain of every reason below.
const Domain = "gemella.eu"

// The reasons. Reasons() lists them with a description each; a test keeps
// the two in step.
const (
	// Bad input: the request's fields (BadRequest field violations).
	ReasonFieldRequired         Reason = "FIELD_REQUIRED"
	ReasonFieldInvalid          Reason = "FIELD_INVALID"
	ReasonFieldTooLong          Reason = "FIELD_TOO_LONG"
	ReasonFieldUnknown          Reason = "FIELD_UNKNOWN"
	ReasonFieldTypeMismatch     Reason = "FIELD_TYPE_MISMATCH"
	ReasonFieldInvalidUTF8      Reason = "FIELD_INVALID_UTF8"
	ReasonFieldControlCharacter Reason = "FIELD_CONTROL_CHARACTER"
	ReasonFieldDuplicate        Reason = "FIELD_DUPLICATE"
	ReasonFieldReferenceUnknown Reason = "FIELD_REFERENCE_UNKNOWN"
	ReasonFieldImmutable        Reason = "FIELD_IMMUTABLE"
	ReasonPageTokenInvalid      Reason = "PAGE_TOKEN_INVALID"
	ReasonMalformedJSON         Reason = "MALFORMED_JSON"
	ReasonBodyTooLarge          Reason = "BODY_TOO_LARGE"

	// Not found.
	ReasonNotFound             Reason = "NOT_FOUND"
	ReasonRouteNotFound        Reason = "ROUTE_NOT_FOUND"
	ReasonMethodNotAllowed     Reason = "METHOD_NOT_ALLOWED"
	ReasonOrganizationNotFound Reason = "ORGANIZATION_NOT_FOUND"
	ReasonPracticeNotFound     Reason = "PRACTICE_NOT_FOUND"
	ReasonNeedNotFound         Reason = "NEED_NOT_FOUND"
	ReasonOfferNotFound        Reason = "OFFER_NOT_FOUND"
	ReasonTwinningNotFound     Reason = "TWINNING_NOT_FOUND"
	ReasonTransferNotFound     Reason = "TRANSFER_NOT_FOUND"
	ReasonActivityNotFound     Reason = "ACTIVITY_NOT_FOUND"
	ReasonMemberNotFound       Reason = "MEMBER_NOT_FOUND"
	ReasonAffiliationNotFound  Reason = "AFFILIATION_NOT_FOUND"
	ReasonThreadNotFound       Reason = "THREAD_NOT_FOUND"
	ReasonPostNotFound         Reason = "POST_NOT_FOUND"
	ReasonStoryNotFound        Reason = "STORY_NOT_FOUND"
	ReasonReportNotFound       Reason = "REPORT_NOT_FOUND"

	// Conflicts with what exists.
	ReasonAlreadyExists       Reason = "ALREADY_EXISTS"
	ReasonPracticeSlugTaken   Reason = "PRACTICE_SLUG_TAKEN"
	ReasonTwinningCodeTaken   Reason = "TWINNING_CODE_TAKEN"
	ReasonEmailTaken          Reason = "EMAIL_TAKEN"
	ReasonRequestIDReused     Reason = "REQUEST_ID_REUSED"
	ReasonTransferDuplicate   Reason = "TRANSFER_DUPLICATE"
	ReasonAffiliationExists   Reason = "AFFILIATION_EXISTS"
	ReasonPostAlreadyReported Reason = "POST_ALREADY_REPORTED"
	ReasonReportExists        Reason = "REPORT_EXISTS"

	// The current state does not allow the request.
	ReasonFailedPrecondition     Reason = "FAILED_PRECONDITION"
	ReasonIllegalStateMove       Reason = "ILLEGAL_STATE_MOVE"
	ReasonLimitReached           Reason = "LIMIT_REACHED"
	ReasonEditWindowPassed       Reason = "EDIT_WINDOW_PASSED"
	ReasonPracticeNotPublished   Reason = "PRACTICE_NOT_PUBLISHED"
	ReasonTransfersOpen          Reason = "TRANSFERS_WITHOUT_OUTCOME"
	ReasonPracticeNotDeletable   Reason = "PRACTICE_NOT_DELETABLE"
	ReasonTwinningNotDeletable   Reason = "TWINNING_NOT_DELETABLE"
	ReasonOwnPostReport          Reason = "OWN_POST_REPORT"
	ReasonOwnRoleRevoke          Reason = "OWN_ROLE_REVOKE"
	ReasonSessionNotRefreshable  Reason = "SESSION_NOT_REFRESHABLE"
	ReasonStaleEtag              Reason = "STALE_ETAG"
	ReasonConcurrentUpdate       Reason = "CONCURRENT_UPDATE"
	ReasonPermissionDenied       Reason = "PERMISSION_DENIED"
	ReasonRoleRequired           Reason = "ROLE_REQUIRED"
	ReasonNotAuthor              Reason = "NOT_AUTHOR"
	ReasonNotAnEditor            Reason = "NOT_AN_EDITOR"
	ReasonMemberBlocked          Reason = "MEMBER_BLOCKED"
	ReasonCSRFTokenMissing       Reason = "CSRF_TOKEN_MISSING"
	ReasonAuthenticationRequired Reason = "AUTHENTICATION_REQUIRED"
	ReasonBadCredentials         Reason = "BAD_CREDENTIALS"
	ReasonSessionEnded           Reason = "SESSION_ENDED"
	ReasonSessionExpired         Reason = "SESSION_EXPIRED"
	ReasonTokenInvalid           Reason = "TOKEN_INVALID"
	ReasonRateLimited            Reason = "RATE_LIMITED"
	ReasonLoginThrottled         Reason = "LOGIN_THROTTLED"
	ReasonResetThrottled         Reason = "RESET_THROTTLED"
	ReasonLinkInvalid            Reason = "LINK_INVALID"
	ReasonLinkUsed               Reason = "LINK_USED"
	ReasonLinkExpired            Reason = "LINK_EXPIRED"
	ReasonEmailNotVerified       Reason = "EMAIL_NOT_VERIFIED"
	ReasonEmailAlreadyVerified   Reason = "EMAIL_ALREADY_VERIFIED"
	ReasonServiceUnavailable     Reason = "SERVICE_UNAVAILABLE"
	ReasonSearchUnavailable      Reason = "SEARCH_UNAVAILABLE"
	ReasonDeadlineExceeded       Reason = "DEADLINE_EXCEEDED"
	ReasonRequestCancelled       Reason = "REQUEST_CANCELLED"
	ReasonNotImplemented         Reason = "NOT_IMPLEMENTED"
	ReasonInternal               Reason = "INTERNAL"
)

// ReasonInfo describes one reason: the HTTP status it comes with and what
// it means, in a sentence a translator can work from.
type ReasonInfo struct {
	Reason      Reason
	HTTPStatus  int
	Description string
}

var registry = []ReasonInfo{
	{ReasonFieldRequired, 400, "A required field is missing or blank."},
	{ReasonFieldInvalid, 400, "A field breaks a rule of its format, range or allowed values; the description says which."},
	{ReasonFieldTooLong, 400, "A text or list field is longer than allowed."},
	{ReasonFieldUnknown, 400, "The body or the query names a field or parameter that the operation does not have."},
	{ReasonFieldTypeMismatch, 400, "A JSON value has the wrong type for its field, e.g. a string where a list is expected."},
	{ReasonFieldInvalidUTF8, 400, "A text is not valid UTF-8 (or holds a lone surrogate escape)."},
	{ReasonFieldControlCharacter, 400, "A text holds a control character such as NUL; only tab and line breaks are allowed."},
	{ReasonFieldDuplicate, 400, "A value appears twice where it must be unique (a JSON key, a list entry, a oneof)."},
	{ReasonFieldReferenceUnknown, 400, "A field refers to a resource that does not exist."},
	{ReasonFieldImmutable, 400, "A field cannot be changed once set."},
	{ReasonPageTokenInvalid, 400, "The page_token was not issued by this service, or for other filters."},
	{ReasonMalformedJSON, 400, "The body is not one JSON value (syntax error, or data after the value)."},
	{ReasonBodyTooLarge, 413, "The body is larger than the gateway accepts."},

	{ReasonNotFound, 404, "The resource does not exist."},
	{ReasonRouteNotFound, 404, "No operation has this path."},
	{ReasonMethodNotAllowed, 405, "The path exists, but not with this HTTP method."},
	{ReasonOrganizationNotFound, 404, "No organisation has this id."},
	{ReasonPracticeNotFound, 404, "No practice has this id or slug."},
	{ReasonNeedNotFound, 404, "No need (\"cerco\") has this id."},
	{ReasonOfferNotFound, 404, "No offer (\"offro\") has this id."},
	{ReasonTwinningNotFound, 404, "No twinning has this id or code."},
	{ReasonTransferNotFound, 404, "The twinning has no transfer with this id."},
	{ReasonActivityNotFound, 404, "The twinning has no activity with this id."},
	{ReasonMemberNotFound, 404, "No member has this id (or e-mail address)."},
	{ReasonAffiliationNotFound, 404, "The member has not asked to speak for this organisation."},
	{ReasonThreadNotFound, 404, "No discussion thread has this id."},
	{ReasonPostNotFound, 404, "No post has this id."},
	{ReasonStoryNotFound, 404, "No story has this id."},
	{ReasonReportNotFound, 404, "No report of this twinning has this id."},

	{ReasonAlreadyExists, 409, "A resource with this id already exists."},
	{ReasonPracticeSlugTaken, 409, "Another practice already has this slug (derived from the title): choose another title or slug."},
	{ReasonTwinningCodeTaken, 409, "Another twinning already has this code."},
	{ReasonEmailTaken, 409, "This e-mail address is already registered."},
	{ReasonRequestIDReused, 409, "The request_id was already used for a different request."},
	{ReasonTransferDuplicate, 409, "The twinning already transfers this model to this organisation."},
	{ReasonAffiliationExists, 409, "The member has already asked to speak for this organisation."},
	{ReasonPostAlreadyReported, 409, "The member has already reported this post."},
	{ReasonReportExists, 409, "The twinning has a report for this quarter already (or its final report): edit that one."},

	{ReasonFailedPrecondition, 409, "The current state of the resource does not allow the request."},
	{ReasonIllegalStateMove, 409, "The state move is not allowed from the current state; the PreconditionFailure detail lists the allowed moves."},
	{ReasonLimitReached, 409, "A count limit is reached (transfers, activities, affiliations)."},
	{ReasonEditWindowPassed, 409, "The time in which a post can be edited has passed."},
	{ReasonPracticeNotPublished, 409, "Only a published practice can be offered or transferred."},
	{ReasonTransfersOpen, 409, "A twinning cannot be completed while transfers have no outcome."},
	{ReasonPracticeNotDeletable, 409, "Only a draft practice can be deleted: a submitted one goes back to draft first, a published one is archived."},
	{ReasonTwinningNotDeletable, 409, "Only a draft twinning that was never proposed can be deleted: a proposed one is cancelled."},
	{ReasonOwnPostReport, 409, "A member cannot report their own post."},
	{ReasonOwnRoleRevoke, 409, "An administrator cannot revoke their own administrator role: another administrator must."},
	{ReasonSessionNotRefreshable, 409, "The token was not issued by a log-in, so there is no session to refresh."},
	{ReasonStaleEtag, 412, "The etag sent is not the current one: someone changed the resource; reload and retry."},
	{ReasonConcurrentUpdate, 412, "Others are changing the resource right now: retry."},

	{ReasonPermissionDenied, 403, "The caller may not do this."},
	{ReasonRoleRequired, 403, "This needs a role the caller does not have (coordinator, moderator, administrator)."},
	{ReasonNotAuthor, 403, "Only the author may change or delete this."},
	{ReasonNotAnEditor, 403, "Only a verified editor of the organisation may do this."},
	{ReasonMemberBlocked, 403, "An administrator blocked this account: it cannot log in."},
	{ReasonCSRFTokenMissing, 403, "A write authenticated by the session cookie must repeat the gemella_csrf cookie in the X-CSRF-Token header."},

	{ReasonAuthenticationRequired, 401, "This needs a valid session token: log in first."},
	{ReasonBadCredentials, 401, "Wrong e-mail address or password."},
	{ReasonSessionEnded, 401, "The session was logged out: log in again."},
	{ReasonSessionExpired, 401, "The session is unknown, expired or older than the maximum age: log in again."},
	{ReasonTokenInvalid, 401, "The bearer token is damaged or was not issued by this platform (malformed, bad signature, unknown key): log in again for a new one."},

	{ReasonRateLimited, 429, "Too many requests: retry after the time in Retry-After (and the RetryInfo detail)."},
	{ReasonLoginThrottled, 429, "Too many failed log-ins for this account: retry later."},
	{ReasonResetThrottled, 429, "Too many password reset requests for this address or from this client: retry later."},
	{ReasonLinkInvalid, 400, "The link (password reset or e-mail verification) was not issued by this service: ask for a new one."},
	{ReasonLinkUsed, 409, "The link (password reset or e-mail verification) has already been used: ask for a new one."},
	{ReasonLinkExpired, 409, "The link (password reset or e-mail verification) has expired: ask for a new one."},
	{ReasonEmailNotVerified, 403, "The member has not verified their e-mail address yet, and this installation lets only verified members write."},
	{ReasonEmailAlreadyVerified, 409, "The member's e-mail address is already verified: no new link is needed."},
	{ReasonServiceUnavailable, 503, "A service is temporarily unavailable: retry later."},
	{ReasonSearchUnavailable, 503, "Search is not available on this catalogue."},
	{ReasonDeadlineExceeded, 504, "The request took too long."},
	{ReasonRequestCancelled, 499, "The client went away before the answer was ready."},
	{ReasonNotImplemented, 501, "Not implemented."},
	{ReasonInternal, 500, "An unexpected failure; the request id helps support find it in the logs."},
}

// Reasons lists every reason with its description, in a stable order.
func Reasons() []ReasonInfo { return append([]ReasonInfo(nil), registry...) }

// Known reports whether r is in the registry.
func (r Reason) Known() bool {
	for _, info := range registry {
		if info.Reason == r {
			return true
		}
	}
	return false
}

// DefaultReason is the reason of an error of kind k that names none.
func DefaultReason(k Kind) Reason {
	switch k {
	case KindInvalidArgument:
		return ReasonFieldInvalid
	case KindNotFound:
		return ReasonNotFound
	case KindAlreadyExists:
		return ReasonAlreadyExists
	case KindFailedPrecondition:
		return ReasonFailedPrecondition
	case KindAborted:
		return ReasonConcurrentUpdate
	case KindPermissionDenied:
		return ReasonPermissionDenied
	case KindUnauthenticated:
		return ReasonAuthenticationRequired
	case KindUnavailable:
		return ReasonServiceUnavailable
	case KindResourceExhausted:
		return ReasonRateLimited
	}
	return ReasonInternal
}

// ReasonOfViolation is a field violation's reason: its own, or the one its
// rule implies. The rules come from this code base's validators, whose
// wording is regular ("is required", "must be at most 80 characters").
func ReasonOfViolation(v FieldViolation) Reason {
	if v.Reason != "" {
		return v.Reason
	}
	rule := v.Rule
	switch {
	case strings.HasPrefix(rule, "is required"):
		return ReasonFieldRequired
	case strings.HasPrefix(rule, "must be at most") && (strings.Contains(rule, "character") || strings.Contains(rule, "entries")):
		return ReasonFieldTooLong
	case strings.Contains(rule, "control character"):
		return ReasonFieldControlCharacter
	case strings.Contains(rule, "UTF-8"):
		return ReasonFieldInvalidUTF8
	case strings.HasPrefix(rule, "is a duplicate"):
		return ReasonFieldDuplicate
	case strings.Contains(rule, "does not exist"):
		return ReasonFieldReferenceUnknown
	case strings.HasPrefix(rule, "cannot change"):
		return ReasonFieldImmutable
	case strings.Contains(rule, "token this service issued"), strings.Contains(rule, "was issued for other filters"):
		return ReasonPageTokenInvalid
	}
	return ReasonFieldInvalid
}
