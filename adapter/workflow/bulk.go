package workflow

import (
	"context"

	"github.com/socialrx/socialrx"
)

// UpsertMany stores a new version of each resource of ws and ingests it,
// as Update with ifMatch 0 would one after the other, in order
// (socialrx.ResourceTx.UpsertMany). Consecutive writes of types the
// workflow only stores (Organization, Location, HealthcareService,
// Patient...: no prepare, no domain rows, no follow-on; see plainType) go to
// the store's bulk write together; a write of a type with duties goes
// through Update, in its place. The same Type/ID twice in ws is EINVALID,
// before anything is written.
func (tx *Tx) UpsertMany(ctx context.Context, ws []socialrx.Write) ([]*socialrx.Resource, []bool, error) {
	seen := make(map[string]bool, len(ws))
	for _, w := range ws {
		k := w.Type + "/" + w.ID
		if seen[k] {
			return nil, nil, socialrx.Errorf(socialrx.EINVALID, "upsert many: %s is written twice in one batch", k)
		}
		seen[k] = true
	}
	res := make([]*socialrx.Resource, 0, len(ws))
	created := make([]bool, 0, len(ws))
	for i := 0; i < len(ws); {
		if !tx.plainType(ws[i].Type) {
			r, c, err := tx.Update(ctx, ws[i].Type, ws[i].ID, ws[i].Body, 0)
			if err != nil {
				return nil, nil, err
			}
			res, created = append(res, r), append(created, c)
			i++
			continue
		}
		j := i + 1
		for j < len(ws) && tx.plainType(ws[j].Type) {
			j++
		}
		rs, cs, err := tx.st.UpsertMany(ctx, ws[i:j])
		if err != nil {
			return nil, nil, err
		}
		for _, r := range rs {
			tx.wrote(r.Type, r.ID, r)
		}
		res, created = append(res, rs...), append(created, cs...)
		i = j
	}
	return res, created, nil
}

// plainType reports whether a write of typ is stored and nothing else:
// prepare, project and the consent checks (Update) do nothing for it. Keep
// it in step with prepare and project (ingest.go) and consentWritten
// (consent.go).
func (tx *Tx) plainType(typ string) bool {
	switch typ {
	case "QuestionnaireResponse", "ChargeItem", "ServiceRequest", // prepare
		"Observation", "Condition", "Task", "Appointment", "Communication": // project
		return false
	case "Consent":
		return !tx.w.opts.RequireConsent
	}
	return true
}
