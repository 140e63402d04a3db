package mapping

import (
	"encoding/json"
	"time"

	"github.com/socialrx/socialrx"
)

// GroupMembership is who a Group has as members at one instant (read by
// GroupMembersAt), for Group/[id]/$export.
type GroupMembership struct {
	// Patients are the ids of the Patient members, in Group.member order,
	// each once.
	Patients []string
	// Others are the element paths (Group.member[i].entity) of members that
	// are not a literal Patient reference: another type (Practitioner,
	// Device, ...), a contained, conditional or identifier-only entity. No
	// ids or values: the paths only.
	Others []string
}

// GroupMembersAt reads the members of a Group resource that are members at
// instant at. A member counts unless it is marked inactive
// (member.inactive true) or its member.period does not cover at (a start
// after at, or an end before it; an end is exclusive by its precision, so
// an end of "2026-03" covers all of March). A period bound that cannot be
// read leaves the member out. EINVALID when body is not a Group.
func GroupMembersAt(body []byte, at time.Time) (*GroupMembership, error) {
	var g struct {
		ResourceType string `json:"resourceType"`
		Member       []struct {
			Entity   *reference    `json:"entity"`
			Period   *memberPeriod `json:"period"`
			Inactive bool          `json:"inactive"`
		} `json:"member"`
	}
	if err := json.Unmarshal(body, &g); err != nil || g.ResourceType != "Group" {
		return nil, socialrx.Errorf(socialrx.EINVALID, "not a Group resource")
	}
	out := &GroupMembership{Patients: []string{}}
	seen := map[string]bool{}
	for i, m := range g.Member {
		if m.Inactive || !periodCovers(m.Period, at) {
			continue
		}
		var typ, id string
		ok := false
		if m.Entity != nil {
			typ, id, ok = refTypeID(m.Entity.Reference)
		}
		if !ok || typ != "Patient" {
			out.Others = append(out.Others, idx("Group.member", i)+".entity")
			continue
		}
		if !seen[id] {
			seen[id] = true
			out.Patients = append(out.Patients, id)
		}
	}
	return out, nil
}

// memberPeriod is Group.member.period.
type memberPeriod struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

// periodCovers reports whether p (nil: always) covers instant at.
func periodCovers(p *memberPeriod, at time.Time) bool {
	if p == nil {
		return true
	}
	if p.Start != "" {
		start, ok := periodBound(p.Start, false)
		if !ok || start.After(at) {
			return false
		}
	}
	if p.End != "" {
		end, ok := periodBound(p.End, true)
		if !ok || !at.Before(end) {
			return false
		}
	}
	return true
}
