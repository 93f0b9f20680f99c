package protoconv

import (
	"strings"

	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/gemella/gemella/services/discussion/internal/domain/member"
	"github.com/gemella/gemella/services/platform/apperr"
)

// profileFields says, for each writable field of a Member message, how to
// copy it into the profile.
var profileFields = map[string]func(dst *member.Profile, src member.Profile){
	"display_name":      func(d *member.Profile, s member.Profile) { d.DisplayName = s.DisplayName },
	"organization_id":   func(d *member.Profile, s member.Profile) { d.OrganizationID = s.OrganizationID },
	"organization_name": func(d *member.Profile, s member.Profile) { d.OrganizationName = s.OrganizationName },
	"role_title":        func(d *member.Profile, s member.Profile) { d.RoleTitle = s.RoleTitle },
}

// Output-only fields a client may echo back; a mask naming them is ignored.
var memberOutputOnly = map[string]bool{"id": true, "roles": true, "affiliations": true, "join_time": true, "last_login_time": true}

// ProfilePatch returns the patch that copies the masked fields of src; with
// no mask every writable field is replaced. The e-mail address is not
// changed here: it identifies the account for log-in.
func ProfilePatch(src member.Profile, mask *fieldmaskpb.FieldMask) (func(*member.Profile), error) {
	paths := mask.GetPaths()
	if len(paths) == 0 {
		return func(d *member.Profile) { *d = src }, nil
	}
	var setters []func(*member.Profile, member.Profile)
	var v apperr.Violations
	for _, p := range paths {
		root, _, _ := strings.Cut(p, ".")
		switch set, ok := profileFields[p]; {
		case memberOutputOnly[root]:
		case p == "email":
			v.Add("update_mask", "email cannot be changed: it identifies the account")
		case !ok:
			v.Addf("update_mask", "names unknown or read-only field %q", p)
		default:
			setters = append(setters, set)
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	return func(d *member.Profile) {
		for _, set := range setters {
			set(d, src)
		}
	}, nil
}
