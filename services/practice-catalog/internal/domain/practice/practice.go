// Package practice is the aggregate of a good practice and its
// transferable models, with its life draft → submitted → published → archived.
package practice

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"

	"golang.org/x/text/unicode/norm"

	"github.com/gemella/gemella/services/platform/apperr"
	"github.com/gemella/gemella/services/platform/paging"
	"github.com/gemella/gemella/services/platform/validate"
	"github.com/gemella/gemella/services/practice-catalog/internal/domain/organization"
)

// Status is where a practice is in its life. The zero value is not a status.
type Status struct{ s string }

var (
	Draft     = Status{"draft"}
	Submitted = Status{"submitted"}
	Published = Status{"published"}
	Archived  = Status{"archived"}
	// Deleted is a draft its editors deleted (see delete.go): what is
	// left is a tombstone that no read returns.
	Deleted = Status{"deleted"}
)

// Statuses lists every status.
var Statuses = []Status{Draft, Submitted, Published, Archived, Deleted}

func (s Status) String() string { return s.s }

// IsZero reports an unset status.
func (s Status) IsZero() bool { return s.s == "" }

// ParseStatus returns the status named s, or false.
func ParseStatus(s string) (Status, bool) {
	for _, st := range Statuses {
		if st.s == s {
			return st, true
		}
	}
	return Status{}, false
}

// Move is a state move a caller asks for.
type Move string

const (
	MoveSubmit  Move = "submit"
	MovePublish Move = "publish"
	MoveArchive Move = "archive"
	MoveRevise  Move = "revise"
	MoveEdit    Move = "update"
	MoveDelete  Move = "delete"
)

// allowed is the state machine: which moves each status accepts.
var allowed = map[Status][]Move{
	Draft:     {MoveEdit, MoveSubmit, MoveDelete},
	Submitted: {MoveEdit, MovePublish},
	Published: {MoveRevise, MoveArchive},
	Archived:  {},
	Deleted:   {},
}

func (s Status) allows(m Move) bool {
	for _, a := range allowed[s] {
		if a == m {
			return true
		}
	}
	return false
}

// ErrIllegalMove is the FailedPrecondition error for a move the status refuses.
func ErrIllegalMove(id string, s Status, m Move) error {
	var names []string
	for _, a := range allowed[s] {
		names = append(names, string(a))
	}
	allowedText := "none"
	if len(names) > 0 {
		allowedText = strings.Join(names, ", ")
	}
	return apperr.FailedPrecondition("practice %s is %s: %s is not allowed (allowed from %s: %s)", id, s, m, s, allowedText).
		WithMove("practices/"+id, s.String(), string(m), names...)
}

// Territory is where the practice was developed.
type Territory = organization.Territory

// Programme is the funding frame, e.g. AGIRE POR 2007-2013, priorities 1, 4, 10.
type Programme struct {
	Name       string
	Priorities []string
}

// Contact is who to ask about the practice.
type Contact struct {
	Name  string
	Email string
	Phone string
}

// Link is an attachment by reference.
type Link struct {
	Title string
	URL   string
}

// Model is one transferable component of a practice.
type Model struct {
	Code                string
	Title               string
	Description         string
	OwnerOrganizationID string
	Adoption            Adoption
}

// Adoption counts how a practice or model has been transferred; derived
// from the transfer records, which twinning events keep up to date.
type Adoption struct {
	Twinnings                int
	ReceivingOrganizationIDs []string
	InProgress               int
	Adopted                  int
	PartiallyAdopted         int
	Dropped                  int
}

// Content is everything an editor writes; a revision snapshots it.
type Content struct {
	Slug                 string
	Title                string
	Summary              string
	Description          string
	OwnerOrganizationIDs []string
	Themes               []string
	Sectors              []string
	Programme            Programme
	Territory            Territory
	Problem              string
	Results              string
	Evidence             string
	Resources            string
	Prerequisites        string
	StartDate            string
	Ongoing              bool
	Contact              Contact
	Languages            []string
	Attachments          []Link
	Models               []Model
	// Adapts are the models of other practices this one adapts (lineage.go).
	Adapts []Adaptation
}

// Revision is an earlier published content, kept when the practice is revised.
type Revision struct {
	Number    int
	RevisedAt time.Time
	RevisedBy string
	Note      string
	Content   Content
}

// Practice is the aggregate.
type Practice struct {
	ID string
	Content
	Status      Status
	Revision    int
	Adoption    Adoption
	History     []Revision
	CreatedAt   time.Time
	UpdatedAt   time.Time
	PublishedAt time.Time
	Version     int64
	// CreatedBy is the id of the member who created it; empty for
	// practices stored before it was recorded.
	CreatedBy string

	// UnlistedAdoption are the counters of transfers of model codes the
	// content does not list (any more, or yet): kept, so that a revision
	// that lists the model again shows them.
	UnlistedAdoption map[string]Adoption

	changes []Change
}

// EventType names what happened; it is also the event subject.
type EventType string

const (
	EventSubmitted EventType = "catalog.practice.submitted"
	EventPublished EventType = "catalog.practice.published"
	EventRevised   EventType = "catalog.practice.revised"
	EventArchived  EventType = "catalog.practice.archived"
	EventDeleted   EventType = "catalog.practice.deleted"
)

// Change is a domain event not yet published.
type Change struct {
	Type             EventType
	Actor            string
	At               time.Time
	Note             string
	PreviousRevision int
}

var (
	slugPattern = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)
	modelCode   = regexp.MustCompile(`^[A-Z][A-Z0-9]{0,2}$`)
)

// Slugify makes a slug from a title: "Tos.Ca. – Valorizzare" → "tos-ca-valorizzare".
func Slugify(title string) string {
	var b strings.Builder
	dash := false
	for _, r := range norm.NFD.String(strings.ToLower(title)) {
		switch {
		case unicode.Is(unicode.Mn, r):
			continue
		case r < 128 && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
		default:
			dash = true
		}
		if b.Len() >= 80 {
			break
		}
	}
	return strings.Trim(b.String(), "-")
}

// Validate checks the content of a draft: what is written must be right,
// but it may still be incomplete.
func (c *Content) Validate() error {
	var v apperr.Violations
	c.validateInto(&v)
	return v.Err()
}

func (c *Content) validateInto(v *apperr.Violations) {
	validate.Text(v, "title", c.Title, true, 200)
	if c.Slug != "" && (!slugPattern.MatchString(c.Slug) || len(c.Slug) > 100) {
		v.Add("slug", "must be lower-case letters and digits joined by single hyphens, at most 100 characters")
	}
	validate.Text(v, "summary", c.Summary, false, 1000)
	validate.Text(v, "description", c.Description, false, 20000)
	if len(c.OwnerOrganizationIDs) == 0 {
		v.Add("owner_organization_ids", "is required")
	}
	owners := map[string]bool{}
	for i, id := range c.OwnerOrganizationIDs {
		f := validate.Index("owner_organization_ids", i)
		validate.ID(v, f, id)
		if owners[id] {
			v.Add(f, "is a duplicate")
		}
		owners[id] = true
	}
	validate.Labels(v, "themes", c.Themes, 20, 80)
	validate.Labels(v, "sectors", c.Sectors, 20, 80)
	validate.Text(v, "programme.name", c.Programme.Name, false, 200)
	validate.Labels(v, "programme.priorities", c.Programme.Priorities, 30, 80)
	validate.TerritoryCode(v, "territory.code", c.Territory.Code)
	validate.Text(v, "territory.name", c.Territory.Name, c.Territory.Code != "", 120)
	for _, f := range []struct {
		name, value string
	}{{"problem", c.Problem}, {"results", c.Results}, {"evidence", c.Evidence}, {"resources", c.Resources}, {"prerequisites", c.Prerequisites}} {
		validate.Text(v, f.name, f.value, false, 10000)
	}
	validate.Date(v, "start_date", c.StartDate, false)
	validate.Text(v, "contact.name", c.Contact.Name, false, 200)
	validate.Email(v, "contact.email", c.Contact.Email)
	validate.Text(v, "contact.phone", c.Contact.Phone, false, 40)
	if len(c.Languages) > maxLanguages {
		v.Addf("languages", "must have at most %d entries", maxLanguages)
	}
	seenLanguage := map[string]bool{}
	for i, l := range c.Languages {
		f := validate.Index("languages", i)
		if seenLanguage[strings.ToLower(l)] {
			v.Add(f, "is a duplicate")
			continue
		}
		seenLanguage[strings.ToLower(l)] = true
		validate.Language(v, f, l)
	}
	if len(c.Attachments) > 50 {
		v.Add("attachments", "must have at most 50 entries")
	}
	for i, a := range c.Attachments {
		f := validate.Index("attachments", i)
		validate.Text(v, f+".title", a.Title, true, 200)
		validate.Text(v, f+".url", a.URL, true, 2000)
		validate.URL(v, f+".url", a.URL)
	}
	if len(c.Models) > 26 {
		v.Add("models", "must have at most 26 models")
	}
	codes := map[string]bool{}
	for i, m := range c.Models {
		f := validate.Index("models", i)
		if !modelCode.MatchString(m.Code) {
			v.Add(f+".code", "must be a capital letter followed by up to two capital letters or digits, e.g. A")
		} else if codes[m.Code] {
			v.Add(f+".code", "is used by another model of this practice")
		}
		codes[m.Code] = true
		validate.Text(v, f+".title", m.Title, true, 200)
		validate.Text(v, f+".description", m.Description, false, 10000)
		if m.OwnerOrganizationID != "" && !owners[m.OwnerOrganizationID] {
			v.Add(f+".owner_organization_id", "must be one of the practice's owner_organization_ids")
		}
	}
	validateAdapts(v, c.Adapts)
}

// completeness lists what a practice needs before coordinators see it.
func (c *Content) completeness(v *apperr.Violations) {
	for _, f := range []struct{ name, value string }{
		{"summary", c.Summary}, {"description", c.Description}, {"problem", c.Problem}, {"results", c.Results},
	} {
		if strings.TrimSpace(f.value) == "" {
			v.Add(f.name, "is required before the practice is submitted")
		}
	}
	if len(c.Themes) == 0 {
		v.Add("themes", "must name at least one theme before the practice is submitted")
	}
	if len(c.Models) == 0 {
		v.Add("models", "must describe at least one transferable model before the practice is submitted")
	}
	if len(c.Languages) == 0 {
		v.Add("languages", "must name at least one language before the practice is submitted")
	}
}

func (c *Content) normalise() {
	c.Title = strings.TrimSpace(c.Title)
	if c.Slug == "" {
		c.Slug = Slugify(c.Title)
	}
	for i := range c.Models {
		if c.Models[i].OwnerOrganizationID == "" && len(c.OwnerOrganizationIDs) > 0 {
			c.Models[i].OwnerOrganizationID = c.OwnerOrganizationIDs[0]
		}
	}
}

// New creates a draft practice.
func New(id string, c Content, now time.Time) (*Practice, error) {
	c.normalise()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &Practice{ID: id, Content: c, Status: Draft, CreatedAt: now, UpdatedAt: now}, nil
}

// Etag is the opaque version tag sent to clients.
func (p *Practice) Etag() string { return organization.Etag(p.Version) }

// CheckEtag refuses a write based on an older version; empty skips the check.
func (p *Practice) CheckEtag(etag string) error {
	return organization.CheckEtag("practice", p.ID, p.Version, etag)
}

// maxLanguages bounds the languages a practice is documented in.
const maxLanguages = 24

// Edit replaces the content of a draft or submitted practice; a submitted
// one goes back to draft, since what was submitted is no longer what it is.
func (p *Practice) Edit(c Content, now time.Time) error {
	if !p.Status.allows(MoveEdit) {
		return ErrIllegalMove(p.ID, p.Status, MoveEdit)
	}
	c.normalise()
	if err := c.Validate(); err != nil {
		return err
	}
	p.keepAdoption(&c)
	p.Content = c
	p.Status = Draft
	p.UpdatedAt = now
	return nil
}

// Submit asks coordinators to validate a complete draft.
func (p *Practice) Submit(actor string, now time.Time) error {
	if !p.Status.allows(MoveSubmit) {
		return ErrIllegalMove(p.ID, p.Status, MoveSubmit)
	}
	var v apperr.Violations
	p.Content.validateInto(&v)
	p.Content.completeness(&v)
	if err := v.Err(); err != nil {
		return err
	}
	p.Status = Submitted
	p.UpdatedAt = now
	p.record(Change{Type: EventSubmitted, Actor: actor, At: now})
	return nil
}

// Publish makes a submitted practice public.
func (p *Practice) Publish(actor string, now time.Time) error {
	if !p.Status.allows(MovePublish) {
		return ErrIllegalMove(p.ID, p.Status, MovePublish)
	}
	p.Status = Published
	p.Revision = 1
	p.PublishedAt = now
	p.UpdatedAt = now
	p.record(Change{Type: EventPublished, Actor: actor, At: now})
	return nil
}

// Archive retires a published practice; its history stays.
func (p *Practice) Archive(actor, reason string, now time.Time) error {
	if !p.Status.allows(MoveArchive) {
		return ErrIllegalMove(p.ID, p.Status, MoveArchive)
	}
	var v apperr.Violations
	validate.Text(&v, "reason", reason, false, 1000)
	if err := v.Err(); err != nil {
		return err
	}
	p.Status = Archived
	p.UpdatedAt = now
	p.record(Change{Type: EventArchived, Actor: actor, At: now, Note: reason})
	return nil
}

// Revise changes a published practice and keeps the previous content: the
// revision is in History until the repository stores it in its own
// collection (a loaded practice has an empty History).
func (p *Practice) Revise(c Content, actor, note string, now time.Time) error {
	if !p.Status.allows(MoveRevise) {
		return ErrIllegalMove(p.ID, p.Status, MoveRevise)
	}
	// Where a practice comes from is declared while it is a draft; a
	// revision of the published practice keeps it.
	c.Adapts = p.Adapts
	c.normalise()
	var v apperr.Violations
	c.validateInto(&v)
	c.completeness(&v)
	validate.Text(&v, "note", note, false, 1000)
	if err := v.Err(); err != nil {
		return err
	}
	p.keepAdoption(&c)
	p.History = append(p.History, Revision{Number: p.Revision, RevisedAt: now, RevisedBy: actor, Note: note, Content: p.Content})
	previous := p.Revision
	p.Content = c
	p.Revision++
	p.UpdatedAt = now
	p.record(Change{Type: EventRevised, Actor: actor, At: now, Note: note, PreviousRevision: previous})
	return nil
}

// keepAdoption carries the figures of models that keep their code: they
// are derived from twinnings, not written by editors. The figures of codes
// c no longer lists stay in UnlistedAdoption.
func (p *Practice) keepAdoption(c *Content) {
	byCode := map[string]Adoption{}
	for code, a := range p.UnlistedAdoption {
		byCode[code] = a
	}
	for _, m := range p.Models {
		byCode[m.Code] = m.Adoption
	}
	for i := range c.Models {
		c.Models[i].Adoption = byCode[c.Models[i].Code]
		delete(byCode, c.Models[i].Code)
	}
	p.UnlistedAdoption = nil
	for code, a := range byCode {
		if a.Twinnings == 0 && a.InProgress == 0 && a.Adopted == 0 && a.PartiallyAdopted == 0 && a.Dropped == 0 {
			continue
		}
		if p.UnlistedAdoption == nil {
			p.UnlistedAdoption = map[string]Adoption{}
		}
		p.UnlistedAdoption[code] = a
	}
}

// TransferStatus is where the transfer of a model stands, as the twinning
// service reports it.
type TransferStatus struct{ s string }

var (
	TransferPlanned          = TransferStatus{"planned"}
	TransferInProgress       = TransferStatus{"in_progress"}
	TransferAdopted          = TransferStatus{"adopted"}
	TransferPartiallyAdopted = TransferStatus{"partially_adopted"}
	TransferDropped          = TransferStatus{"dropped"}
)

// TransferStatuses lists every transfer status.
var TransferStatuses = []TransferStatus{TransferPlanned, TransferInProgress, TransferAdopted, TransferPartiallyAdopted, TransferDropped}

func (s TransferStatus) String() string { return s.s }

// IsZero reports an unset transfer status.
func (s TransferStatus) IsZero() bool { return s.s == "" }

// ParseTransferStatus returns the transfer status named s, or false.
func ParseTransferStatus(s string) (TransferStatus, bool) {
	for _, st := range TransferStatuses {
		if st.s == s {
			return st, true
		}
	}
	return TransferStatus{}, false
}

// TransferRecord is what the catalogue knows of one transfer of a model of
// the practice: the latest status a twinning event reported.
type TransferRecord struct {
	TransferID              string
	TwinningID              string
	ModelCode               string
	ReceivingOrganizationID string
	Status                  TransferStatus
	// Version is the twinning's version after the change the event
	// reports: it orders the events of one twinning, so a repeated or
	// older event is recognised.
	Version int64
	// At is when the change happened.
	At time.Time
}

// ValidateTransfer checks a record an event reports.
func ValidateTransfer(r TransferRecord) error {
	var v apperr.Violations
	if r.TransferID == "" {
		v.Add("transfer.id", "is required")
	}
	if r.TwinningID == "" {
		v.Add("twinning_id", "is required")
	}
	validate.Text(&v, "transfer.model_code", r.ModelCode, true, 3)
	if r.Status.IsZero() {
		v.Add("to", "must be a transfer status")
	}
	return v.Err()
}

// Newer reports whether r replaces known, the stored record of the same
// transfer (nil: none): only a later version of the twinning does, so an
// event delivered twice, or overtaken by a later one, changes nothing.
func (r TransferRecord) Newer(known *TransferRecord) bool {
	return known == nil || r.Version > known.Version
}

// AdoptionDelta is what one transfer record changes in a practice's or a
// model's counters. The practice keeps counters only; the records stay in
// their own collection, one per transfer, so the practice stays small
// however many transfers it has.
type AdoptionDelta struct {
	Twinnings, InProgress, Adopted, PartiallyAdopted, Dropped int
}

// IsZero reports a delta that changes nothing.
func (d AdoptionDelta) IsZero() bool { return d == AdoptionDelta{} }

func (d *AdoptionDelta) count(s TransferStatus, by int) {
	switch s {
	case TransferInProgress:
		d.InProgress += by
	case TransferAdopted:
		d.Adopted += by
	case TransferPartiallyAdopted:
		d.PartiallyAdopted += by
	case TransferDropped:
		d.Dropped += by
	}
}

// DeltaOf is the change from previous (nil for a transfer not seen
// before) to next; newTwinning says next is the first transfer of its
// twinning counted here (the practice, or the model).
func DeltaOf(previous *TransferRecord, next TransferRecord, newTwinning bool) AdoptionDelta {
	var d AdoptionDelta
	if previous != nil {
		d.count(previous.Status, -1)
	}
	d.count(next.Status, 1)
	if newTwinning {
		d.Twinnings = 1
	}
	return d
}

// Add applies d to the figures.
func (a *Adoption) Add(d AdoptionDelta) {
	a.Twinnings += d.Twinnings
	a.InProgress += d.InProgress
	a.Adopted += d.Adopted
	a.PartiallyAdopted += d.PartiallyAdopted
	a.Dropped += d.Dropped
}

// Receivers are the receiving organisations of a practice's transfers,
// each once and sorted: of the whole practice, and by model code. They
// are read from the adoption records, not kept on the practice.
type Receivers struct {
	Practice []string
	Models   map[string][]string
}

// WithReceivers fills the receiving organisations of the figures.
func (p *Practice) WithReceivers(r Receivers) {
	p.Adoption.ReceivingOrganizationIDs = r.Practice
	for i := range p.Models {
		p.Models[i].Adoption.ReceivingOrganizationIDs = r.Models[p.Models[i].Code]
	}
}

// Model returns the model with code, or false.
func (p *Practice) Model(code string) (*Model, bool) {
	for i := range p.Models {
		if p.Models[i].Code == code {
			return &p.Models[i], true
		}
	}
	return nil, false
}

func (p *Practice) record(c Change) { p.changes = append(p.changes, c) }

// Changes returns and forgets the events recorded since the last call.
func (p *Practice) Changes() []Change {
	c := p.changes
	p.changes = nil
	return c
}

// PeekChanges returns the pending events without forgetting them.
func (p *Practice) PeekChanges() []Change { return p.changes }

// SortKey orders practices newest first by creation, then id.
func (p *Practice) SortKey() string {
	return p.CreatedAt.UTC().Format("20060102T150405.000000000") + "\x00" + p.ID
}

// Filter selects practices in List; zero fields do not filter.
type Filter struct {
	Theme               string
	Sector              string
	TerritoryCode       string
	OwnerOrganizationID string
	Status              Status
	// CreatedBy is the id of the member who created it.
	CreatedBy string
	// Order sorts the list; the zero value is newest first.
	Order Order
	// Unpublished says which drafts and submitted practices the caller may
	// see; the zero value does not restrict them.
	Unpublished Visibility
}

// Visibility restricts the practices a list shows that are not public
// (draft or submitted): when Restricted, only those owned by one of Of.
type Visibility struct {
	Restricted bool
	Of         []string
}

// IsPublic reports the statuses everyone may see: published, and archived
// (it was public, and twinnings still name it).
func (s Status) IsPublic() bool { return s == Published || s == Archived }

// Shows reports whether a practice with status and owners passes.
func (v Visibility) Shows(status Status, owners []string) bool {
	if !v.Restricted || status.IsPublic() {
		return true
	}
	for _, o := range owners {
		if slices.Contains(v.Of, o) {
			return true
		}
	}
	return false
}

// Hash identifies the filter in page tokens.
func (f Filter) Hash() uint32 {
	parts := []string{"practice", f.Theme, f.Sector, f.TerritoryCode, f.OwnerOrganizationID, f.Status.String()}
	if f.CreatedBy != "" || f.Order != OrderNewest {
		// Tokens of the default list stay what they were.
		parts = append(parts, "created-by", f.CreatedBy, "order", f.Order.String())
	}
	if f.Unpublished.Restricted {
		parts = append(parts, "unpublished-of")
		parts = append(parts, f.Unpublished.Of...)
	}
	return paging.FilterHash(parts...)
}

// ErrNotFound builds the NotFound error for an id or slug.
func ErrNotFound(idOrSlug string) error {
	return apperr.NotFound("practice %q not found", idOrSlug).WithReason(apperr.ReasonPracticeNotFound)
}

// ErrSlugTaken is the AlreadyExists error for a duplicate slug.
func ErrSlugTaken(slug string) error {
	return apperr.AlreadyExists("a practice with slug %q already exists", slug).WithReason(apperr.ReasonPracticeSlugTaken)
}

// Repository stores practices.
type Repository interface {
	// Create stores a new practice: AlreadyExists for a taken id or slug.
	Create(ctx context.Context, p *Practice) error
	// Get returns NotFound for an unknown id.
	Get(ctx context.Context, id string) (*Practice, error)
	// GetBySlug returns NotFound for an unknown slug.
	GetBySlug(ctx context.Context, slug string) (*Practice, error)
	// Update loads, applies fn, and saves atomically with a version check;
	// fn may run more than once. AlreadyExists if the new slug is taken.
	Update(ctx context.Context, id string, fn func(p *Practice) error) (*Practice, error)
	// List returns up to limit practices after the cursor, newest first.
	List(ctx context.Context, f Filter, after *paging.Cursor, limit int) ([]*Practice, error)
	// Update stores the revisions Revise put in History in their own
	// collection; ListRevisions returns up to limit of them with a number
	// below below (0: from the newest), newest first.
	ListRevisions(ctx context.Context, id string, below, limit int) ([]Revision, error)
	// RecordTransfer keeps r as its transfer's adoption record, one per
	// transfer in its own collection, unless the stored one is as new
	// (r.Newer), and adds the change to the counters of the practice and
	// of r's model. applied false: nothing was written. NotFound for an
	// unknown practice.
	RecordTransfer(ctx context.Context, practiceID string, r TransferRecord) (applied bool, err error)
	// Receivers returns the receiving organisations of each practice's
	// transfers, by practice id.
	Receivers(ctx context.Context, practiceIDs []string) (map[string]Receivers, error)
}
