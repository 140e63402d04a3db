package workflow

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/mapping"
)

// Program checks (issue 14): a social prescription whose program (a
// HealthcareService performer) is inactive, stale (last verified longer
// ago than Options.ProgramStaleAfter) or reports no capacity is stored as
// sent, and the write carries a warning naming up to
// socialrx.MaxAlternatives suitable programs for the same need within
// socialrx.AlternativesWithinKm of the program's location. The warning is
// the write's, not the prescription's: the REST handler answers it in the
// OperationOutcome (Prefer: return=OperationOutcome) and a Bundle entry in
// response.outcome (Tx.TakeWarnings).

// TakeWarnings returns the warnings of the writes since the last call
// and forgets them.
func (tx *Tx) TakeWarnings() []socialrx.Issue {
	w := tx.warnings
	tx.warnings = nil
	return w
}

func (o Options) programStaleAfter() time.Duration {
	if o.ProgramStaleAfter > 0 {
		return o.ProgramStaleAfter
	}
	return socialrx.DefaultProgramStaleAfter
}

// checkProgram warns when p's program is not one to send someone to.
func (tx *Tx) checkProgram(ctx context.Context, p *socialrx.Prescription) error {
	if p.Status != "draft" && p.Status != "active" {
		return nil // a prescription being closed sends nobody anywhere
	}
	typ, id, ok := mapping.RefTypeID(p.Target)
	if !ok || typ != "HealthcareService" {
		return nil
	}
	res, err := tx.cachedRead(ctx, typ, id)
	if code := socialrx.ErrorCode(err); code == socialrx.ENOTFOUND || code == socialrx.EGONE {
		return nil
	}
	if err != nil {
		return err
	}
	prog, err := mapping.ProgramOf(id, res.Body)
	if err != nil {
		return nil
	}
	now, staleAfter := tx.w.now(), tx.w.opts.programStaleAfter()
	concerns := prog.Status().Concerns(now, staleAfter)
	if len(concerns) == 0 {
		return nil
	}
	found, located, err := tx.alternatives(ctx, p, prog)
	if err != nil {
		return err
	}
	where := fmt.Sprintf("within %g km", socialrx.AlternativesWithinKm)
	if !located {
		where = "(the program has no site with a position, so not by distance)"
	}
	alts := make([]string, len(found))
	for i, a := range found {
		alts[i] = a.desc
	}
	msg := fmt.Sprintf("the program %s %s", p.Target, strings.Join(concerns, ", "))
	if len(alts) == 0 {
		msg += "; the directory has no other suitable program for this need " + where
	} else {
		msg += "; alternatives for the same need " + where + ": " + strings.Join(alts, "; ")
	}
	tx.warnings = append(tx.warnings, socialrx.Issue{Severity: socialrx.SeverityWarning, Code: "business-rule", Path: "ServiceRequest.performer", Message: msg})
	return nil
}

// alternative is a program suggested instead of another: its reference
// and "Name (HealthcareService/id, 2.3 km)".
type alternative struct{ ref, desc string }

// alternatives finds up to socialrx.MaxAlternatives suitable active
// programs for p's needs, nearest to prog's first located site first
// (within socialrx.AlternativesWithinKm), other than prog; by need alone
// when prog has no position (located false).
func (tx *Tx) alternatives(ctx context.Context, p *socialrx.Prescription, prog mapping.Program) (alts []alternative, located bool, err error) {
	var domains []string
	for _, d := range p.Needs {
		if d != socialrx.DomainUnspecified {
			domains = append(domains, string(d))
		}
	}
	if len(domains) == 0 {
		return nil, false, nil
	}
	params := url.Values{"need-domain": {strings.Join(domains, ",")}, "active": {"true"}, "_count": {"20"}, "_total": {"none"}}
	lat, lon := 0.0, 0.0
	for _, ref := range prog.Locations {
		l, err := tx.cachedRead(ctx, "Location", strings.TrimPrefix(ref, "Location/"))
		if code := socialrx.ErrorCode(err); code == socialrx.ENOTFOUND || code == socialrx.EGONE {
			continue
		}
		if err != nil {
			return nil, false, err
		}
		if lat, lon, located = mapping.LocationPosition(l.Body); located {
			break
		}
	}
	if located {
		params.Set("location.near", strconv.FormatFloat(lat, 'f', -1, 64)+"|"+strconv.FormatFloat(lon, 'f', -1, 64)+"|"+strconv.FormatFloat(socialrx.AlternativesWithinKm, 'f', -1, 64)+"|km")
	}
	res, err := tx.st.Search(ctx, socialrx.SearchRequest{Type: "HealthcareService", Params: params})
	if err != nil {
		return nil, located, err
	}
	now, staleAfter := tx.w.now(), tx.w.opts.programStaleAfter()
	var out []alternative
	for _, m := range res.Matches {
		if m.ID == prog.ID {
			continue
		}
		alt, err := mapping.ProgramOf(m.ID, m.Body)
		if err != nil || !alt.Status().Suitable(now, staleAfter) {
			continue
		}
		desc := fmt.Sprintf("%q (HealthcareService/%s", alt.Name, m.ID)
		if located {
			if d, ok := tx.nearestKm(ctx, alt, lat, lon); ok {
				desc += fmt.Sprintf(", %.1f km", d)
			}
		}
		out = append(out, alternative{ref: "HealthcareService/" + m.ID, desc: desc + ")"})
		if len(out) == socialrx.MaxAlternatives {
			break
		}
	}
	return out, located, nil
}

// nearestKm is the distance from (lat, lon) to the program's nearest site.
func (tx *Tx) nearestKm(ctx context.Context, prog mapping.Program, lat, lon float64) (float64, bool) {
	best, ok := 0.0, false
	for _, ref := range prog.Locations {
		l, err := tx.cachedRead(ctx, "Location", strings.TrimPrefix(ref, "Location/"))
		if err != nil {
			continue
		}
		if la, lo, has := mapping.LocationPosition(l.Body); has {
			if d := mapping.DistanceKm(lat, lon, la, lo); !ok || d < best {
				best, ok = d, true
			}
		}
	}
	return best, ok
}

// verifyProgramPrefix starts the ids of the verify-program Tasks: one per
// program and last-verified date (DerivedID), so the daily check creates
// it once, and again only after the program was verified and went stale
// anew.
const verifyProgramPrefix = "vp-"

// CheckStalePrograms is the daily staleness check (job stale_programs):
// every active HealthcareService whose last-verified date is older than
// Options.ProgramStaleAfter gets a verify-program Task on staff's work list
// (Task?code=verify-program&status=requested), once. It returns how many
// Tasks it created. Programs with no last-verified date are not listed
// (socialrx cannot tell; see socialrx.ProgramStatus.Stale).
func (w *Workflow) CheckStalePrograms(ctx context.Context) (created int, err error) {
	now := w.now()
	cutoff := now.Add(-w.opts.programStaleAfter())
	params := url.Values{"active": {"true"}, "last-verified": {"lt" + cutoff.Format(time.DateOnly)}, "_count": {"200"}, "_total": {"none"}}
	for {
		page, err := w.store.Search(ctx, socialrx.SearchRequest{Type: "HealthcareService", Params: params})
		if err != nil {
			return created, err
		}
		for _, m := range page.Matches {
			prog, err := mapping.ProgramOf(m.ID, m.Body)
			if err != nil || !prog.Status().Stale(now, w.opts.programStaleAfter()) {
				continue
			}
			ref := "HealthcareService/" + m.ID
			id := DerivedID(verifyProgramPrefix, ref+"|"+prog.LastVerified)
			err = w.Transact(ctx, func(tx *Tx) error {
				if exists, err := tx.Exists(ctx, "Task", id); err != nil || exists {
					return err
				}
				if _, err := tx.Create(ctx, "Task", id, mapping.VerifyProgramTask(ref, prog.Name, prog.LastVerified, now)); err != nil {
					return err
				}
				created++
				return nil
			})
			if err != nil {
				return created, err
			}
		}
		if page.Next == nil {
			return created, nil
		}
		params = page.Next
	}
}

// CloseVerifiedPrograms closes the open verify-program Tasks that no longer
// need anyone (run by the daily staleness check after CheckStalePrograms):
// completed when the program was verified again since the Task was made
// (its last-verified date is no longer the Task's, and it is not stale),
// cancelled when the program left the directory (deleted) or is no longer
// active. It returns how many it closed.
func (w *Workflow) CloseVerifiedPrograms(ctx context.Context) (closed int, err error) {
	now := w.now()
	params := url.Values{"code": {socialrx.CodeSystemBase + "task-code|" + mapping.TaskVerifyProgram},
		"status": {"requested"}, "_count": {"200"}, "_total": {"none"}}
	for {
		page, err := w.store.Search(ctx, socialrx.SearchRequest{Type: "Task", Params: params})
		if err != nil {
			return closed, err
		}
		for _, m := range page.Matches {
			ref := mapping.VerifyProgramFocus(m.Body)
			typ, id, ok := strings.Cut(ref, "/")
			if !ok || typ != "HealthcareService" {
				continue
			}
			err := w.Transact(ctx, func(tx *Tx) error {
				status, reason := "", ""
				r, err := tx.Read(ctx, typ, id)
				switch code := socialrx.ErrorCode(err); {
				case code == socialrx.ENOTFOUND || code == socialrx.EGONE:
					status, reason = "cancelled", "The program is no longer in the directory."
				case err != nil:
					return err
				default:
					prog, err := mapping.ProgramOf(id, r.Body)
					if err != nil {
						return nil // not readable as a program: leave it to staff
					}
					switch {
					case !prog.Active:
						status, reason = "cancelled", "The program is no longer active."
					case DerivedID(verifyProgramPrefix, ref+"|"+prog.LastVerified) != m.ID &&
						!prog.Status().Stale(now, w.opts.programStaleAfter()):
						status, reason = "completed", "The program was verified again on "+prog.LastVerified+"."
					}
				}
				if status == "" {
					return nil
				}
				body, err := mapping.CloseVerifyProgramTask(m.Body, status, reason, now)
				if err != nil {
					return err
				}
				if _, _, err := tx.Update(ctx, "Task", m.ID, body, m.VersionID); err != nil {
					return err
				}
				closed++
				return nil
			})
			if err != nil {
				return closed, err
			}
		}
		if page.Next == nil {
			return closed, nil
		}
		params = page.Next
	}
}
