package mapping

import (
	"encoding/json"

	"github.com/socialrx/socialrx"
)

// ProgramName returns the name a program resource shows people:
// HealthcareService.name, Organization.name, Location.name; for a
// PractitionerRole, its first code's text or display; "" when it has none.
func ProgramName(body []byte) string {
	var r struct {
		Name string `json:"name"`
		Code []struct {
			Text   string `json:"text"`
			Coding []struct {
				Display string `json:"display"`
			} `json:"coding"`
		} `json:"code"`
	}
	if json.Unmarshal(body, &r) != nil {
		return ""
	}
	if r.Name != "" {
		return r.Name
	}
	for _, c := range r.Code {
		if c.Text != "" {
			return c.Text
		}
		for _, cd := range c.Coding {
			if cd.Display != "" {
				return cd.Display
			}
		}
	}
	return ""
}

// NameReport fills the names of rep's groups: programs from their
// resources (bodies by "Type/id", ProgramName), need domains from
// socialrx.NeedDomain.Display.
func NameReport(rep *socialrx.ProgramReport, bodies map[string][]byte) {
	for i := range rep.Programs {
		if b, ok := bodies[rep.Programs[i].Key]; ok {
			rep.Programs[i].Name = ProgramName(b)
		}
	}
	for i := range rep.Needs {
		rep.Needs[i].Name = socialrx.NeedDomain(rep.Needs[i].Key).Display()
	}
}
