package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/socialrx/socialrx"
)

// The program report (socialrx.Reports) is one aggregate query over the
// prescriptions of the period, grouped three ways at once (all, by
// program, by need domain), and a count of billed visits by code. It
// reads narrow projection rows only, never resource JSON: prescriptions,
// their prescription_report row (migration 00008: referral counts, first
// contact and the latest follow-up result, kept up to date by the writes
// of referrals and results, projection.go) and their referral_report rows
// (SQLite migration 00011, PostgreSQL 00015: the same referral figures per
// program the referrals were sent to):
//
//	x  per prescription of the period (not entered-in-error, not draft): its figures
//	   as 0/1 flags and counts, days to first contact (NULL without
//	   one); a revoked prescription's follow-up figures are 0
//	r  per prescription of x and program its referrals went to: that
//	   program's referral counts and days to its first contact
//	y  the rows of each group: dimension t (total, key '') and n (need
//	   domain, one row per domain) take x whole; p (program) takes x's
//	   prescription and follow-up figures under the prescription's
//	   program (key target: summed per program first, as those rows
//	   carry no days to first contact for the median) and r's referral
//	   figures under the program the referrals went to (key program)
//	s  per group: the sums, and c, how many have a first contact; the
//	   median of days to first contact where the database has a median
//	   aggregate (PostgreSQL percentile_cont)
//	m  (SQLite) per group: that median, as the middle one or two of the
//	   c rows by ROW_NUMBER, averaged

var _ socialrx.Reports = (*Engine)(nil)

const microsPerDay = 86400 * 1_000_000

// reportQuery is the aggregate query of dialect d, with the period as $1
// and $2. Its rows are: dim, k,
// prescriptions, referrals, accepted, rejected, completed, followed up,
// pursued, satisfaction n, satisfaction sum, well-being n, improved,
// contacted, median days, referred; ordered by dim and k.
func reportQuery(d Dialect) string {
	needDomains := d.NeedDomains
	// The median: an aggregate in s where the database has one, else the
	// middle one or two rows of each group by ROW_NUMBER (m).
	medianAgg, medianCTE, medianCol, medianJoin := ", "+d.Median+" AS med", "", "s.med", ""
	if d.Median == "" {
		medianAgg, medianCol, medianJoin = "", "m.med", " LEFT JOIN m ON m.dim = s.dim AND m.k = s.k"
		medianCTE = `,
m AS (SELECT d.dim, d.k, avg(d.days) AS med FROM (
  SELECT dim, k, days, ROW_NUMBER() OVER (PARTITION BY dim, k ORDER BY days) AS rn FROM y WHERE days IS NOT NULL) d
  JOIN s ON s.dim = d.dim AND s.k = d.k
  WHERE d.rn = (s.c + 1) / 2 OR d.rn = (s.c + 2) / 2 GROUP BY d.dim, d.k)`
	}
	return `WITH x AS MATERIALIZED (SELECT p.service_request_id AS id, p.authored_on, p.target, p.needs,
  coalesce(q.referrals, 0) AS n, CASE WHEN q.referrals > 0 THEN 1 ELSE 0 END AS rd, coalesce(q.accepted, 0) AS acc, coalesce(q.rejected, 0) AS rej, coalesce(q.completed, 0) AS comp,
  CASE WHEN p.status = 'revoked' THEN 0 ELSE coalesce(q.followed_up, 0) END AS fu,
  CASE WHEN p.status <> 'revoked' AND q.pursued IN ('yes', 'partly') THEN 1 ELSE 0 END AS pursued,
  CASE WHEN p.status <> 'revoked' AND q.satisfaction > 0 THEN 1 ELSE 0 END AS satn,
  CASE WHEN p.status <> 'revoked' AND q.satisfaction > 0 THEN q.satisfaction ELSE 0 END AS sats,
  CASE WHEN p.status <> 'revoked' AND q.wellbeing <> '' THEN 1 ELSE 0 END AS wbn,
  CASE WHEN p.status <> 'revoked' AND q.wellbeing = 'better' THEN 1 ELSE 0 END AS better,
  CASE WHEN q.first_contact > 0 THEN CAST(q.first_contact - p.authored_on AS DOUBLE PRECISION) / ` + fmt.Sprint(microsPerDay) + ` END AS days
  FROM prescriptions p LEFT JOIN prescription_report q ON q.prescription_id = p.service_request_id
  WHERE p.authored_on >= $1 AND p.authored_on < $2 AND p.status NOT IN ('entered-in-error', 'draft')),
r AS (SELECT rr.program, rr.referrals AS n, rr.accepted AS acc, rr.rejected AS rej, rr.completed AS comp,
  CASE WHEN rr.first_contact > 0 THEN CAST(rr.first_contact - x.authored_on AS DOUBLE PRECISION) / ` + fmt.Sprint(microsPerDay) + ` END AS days
  FROM x JOIN referral_report rr ON rr.prescription_id = x.id WHERE x.n > 0),
y AS MATERIALIZED (SELECT 't' AS dim, '' AS k, 1 AS rx, n, rd, acc, rej, comp, fu, pursued, satn, sats, wbn, better, days FROM x
  UNION ALL SELECT 'p', target, count(*), 0, 0, 0, 0, 0, sum(fu), sum(pursued), sum(satn), sum(sats), sum(wbn), sum(better), CAST(NULL AS DOUBLE PRECISION) FROM x GROUP BY target
  UNION ALL SELECT 'p', program, 0, n, 1, acc, rej, comp, 0, 0, 0, 0, 0, 0, days FROM r
  UNION ALL SELECT 'n', j.value, 1, n, rd, acc, rej, comp, fu, pursued, satn, sats, wbn, better, days FROM x CROSS JOIN ` + needDomains + `),
s AS (SELECT dim, k, CAST(sum(rx) AS BIGINT) AS rx, CAST(sum(n) AS BIGINT) AS n, CAST(sum(rd) AS BIGINT) AS rd, CAST(sum(acc) AS BIGINT) AS acc, CAST(sum(rej) AS BIGINT) AS rej,
  CAST(sum(comp) AS BIGINT) AS comp, CAST(sum(fu) AS BIGINT) AS fu, CAST(sum(pursued) AS BIGINT) AS pursued,
  CAST(sum(satn) AS BIGINT) AS satn, CAST(sum(sats) AS BIGINT) AS sats, CAST(sum(wbn) AS BIGINT) AS wbn, CAST(sum(better) AS BIGINT) AS better,
  count(days) AS c` + medianAgg + `
  FROM y GROUP BY dim, k)` + medianCTE + `
SELECT s.dim, s.k, s.rx, s.n, s.acc, s.rej, s.comp, s.fu, s.pursued, s.satn, s.sats, s.wbn, s.better,
  CAST(s.c AS BIGINT), CAST(coalesce(` + medianCol + `, 0) AS DOUBLE PRECISION), s.rd
FROM s` + medianJoin + ` ORDER BY s.dim, s.k`
}

// ProgramReport computes the program report over [from, to) (see
// socialrx.Reports).
func (e *Engine) ProgramReport(ctx context.Context, from, to time.Time) (*socialrx.ProgramReport, error) {
	if !to.After(from) {
		return nil, socialrx.Errorf(socialrx.EINVALID, "program report: the end of the period (%s) is not after its start (%s)",
			to.Format(time.RFC3339), from.Format(time.RFC3339))
	}
	var q Querier = e.drv.Reader()
	if e.d.ReportSetup != "" {
		// PostgreSQL estimates 100 rows per jsonb_array_elements_text
		// call, so the query's estimated cost passes jit_above_cost and
		// JIT compilation took 600 ms of a 1 s report (EXPLAIN ANALYZE,
		// 30k prescriptions). The setting holds for this transaction only.
		dtx, err := e.drv.Begin(ctx)
		if err != nil {
			return nil, fmt.Errorf("program report: %w", e.translate(err))
		}
		defer func() { _ = dtx.Rollback(context.WithoutCancel(ctx)) }() // it only read
		if _, err := dtx.Exec(ctx, e.d.ReportSetup); err != nil {
			return nil, fmt.Errorf("program report: %w", e.translate(err))
		}
		q = dtx
	}
	lo, hi := micros(from), micros(to)
	rep := &socialrx.ProgramReport{From: from, To: to}
	if err := e.reportGroups(ctx, q, rep, lo, hi); err != nil {
		return nil, err
	}
	// The prescriptions without authoredOn (authored_on 0) are in no
	// period: counted, so that the report can say how many it left out.
	if err := q.QueryRow(ctx, `SELECT count(*) FROM prescriptions WHERE authored_on = 0 AND status NOT IN ('entered-in-error', 'draft')`).Scan(&rep.Undated); err != nil {
		return nil, fmt.Errorf("program report: %w", e.translate(err))
	}
	rows, err := q.Query(ctx, `SELECT code, count(*) FROM billed_visits WHERE status IN ('billable', 'billed') AND occurred_at >= $1 AND occurred_at < $2
GROUP BY code ORDER BY code`, lo, hi)
	if err != nil {
		return nil, fmt.Errorf("program report: %w", e.translate(err))
	}
	defer rows.Close()
	for rows.Next() {
		var b socialrx.BilledCount
		if err := rows.Scan(&b.Code, &b.Visits); err != nil {
			return nil, fmt.Errorf("program report: %w", e.translate(err))
		}
		rep.Billed = append(rep.Billed, b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("program report: %w", e.translate(err))
	}
	return rep, nil
}

// reportGroups runs reportQuery and files its rows in rep.
func (e *Engine) reportGroups(ctx context.Context, q Querier, rep *socialrx.ProgramReport, lo, hi int64) error {
	rows, err := q.Query(ctx, reportQuery(e.d), lo, hi)
	if err != nil {
		return fmt.Errorf("program report: %w", e.translate(err))
	}
	defer rows.Close()
	for rows.Next() {
		var dim string
		var s socialrx.ReportStats
		if err := rows.Scan(&dim, &s.Key, &s.Prescriptions, &s.Referrals, &s.Accepted, &s.Rejected, &s.Completed,
			&s.FollowedUp, &s.Pursued, &s.SatisfactionN, &s.SatisfactionSum, &s.WellbeingN, &s.Improved,
			&s.Contacted, &s.MedianDaysToContact, &s.Referred); err != nil {
			return fmt.Errorf("program report: %w", e.translate(err))
		}
		switch dim {
		case "t":
			rep.Total = s
		case "p":
			rep.Programs = append(rep.Programs, s)
		case "n":
			rep.Needs = append(rep.Needs, s)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("program report: %w", e.translate(err))
	}
	return nil
}
