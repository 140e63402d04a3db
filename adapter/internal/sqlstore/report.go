package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/socialrx/socialrx"
)

// The program report (socialrx.Reports) is three runs of one aggregate
// query, over the prescriptions of the period grouped three ways (all,
// by program, by need domain), and a count of billed visits by code. Each
// run reads narrow projection rows only (prescriptions, referrals,
// follow_up_results; migration 00008), never resource JSON:
//
//	g  the period's prescriptions: (id, group key, authored_on)
//	r  per prescription: referral counts by status, first contact
//	o  per prescription: its latest answered follow-up
//	m  per group: the median of days to first contact (the middle one or
//	   two rows by ROW_NUMBER, averaged)
//	s  per group: the sums

var _ socialrx.Reports = (*Engine)(nil)

const microsPerDay = 86400 * 1_000_000

// reportQuery is the aggregate query over the groups g, a SELECT of (id,
// k, at) with the period as $1 and $2. Its rows are: k, prescriptions,
// referrals, accepted, rejected, completed, followed up, pursued,
// satisfaction n, satisfaction sum, well-being n, improved, contacted,
// median days.
func reportQuery(g string) string {
	return `WITH g AS (` + g + `),
r AS (SELECT g.id, g.k, count(*) AS n,
  sum(CASE WHEN f.status IN ('accepted', 'on-hold', 'in-progress', 'completed') THEN 1 ELSE 0 END) AS acc,
  sum(CASE WHEN f.status = 'rejected' THEN 1 ELSE 0 END) AS rej,
  sum(CASE WHEN f.status = 'completed' THEN 1 ELSE 0 END) AS comp,
  min(CASE WHEN f.first_contact > 0 THEN f.first_contact END) AS fc
  FROM g JOIN referrals f ON f.prescription_id = g.id GROUP BY g.id, g.k),
o AS (SELECT id, k, pursued, satisfaction, wellbeing FROM (
  SELECT g.id, g.k, u.pursued, u.satisfaction, u.wellbeing,
    ROW_NUMBER() OVER (PARTITION BY g.id, g.k ORDER BY u.answered_at DESC, u.response_id DESC) AS rn
  FROM g JOIN follow_up_results u ON u.prescription_id = g.id) x WHERE rn = 1),
d AS (SELECT g.k, CAST(r.fc - g.at AS DOUBLE PRECISION) / ` + fmt.Sprint(microsPerDay) + ` AS days
  FROM g JOIN r ON r.id = g.id AND r.k = g.k WHERE r.fc IS NOT NULL),
m AS (SELECT k, max(c) AS c, avg(days) AS med FROM (
  SELECT k, days, ROW_NUMBER() OVER (PARTITION BY k ORDER BY days) AS rn, count(*) OVER (PARTITION BY k) AS c FROM d) y
  WHERE rn = (c + 1) / 2 OR rn = (c + 2) / 2 GROUP BY k),
s AS (SELECT g.k, count(*) AS rx,
  CAST(coalesce(sum(r.n), 0) AS BIGINT) AS n,
  CAST(coalesce(sum(r.acc), 0) AS BIGINT) AS acc,
  CAST(coalesce(sum(r.rej), 0) AS BIGINT) AS rej,
  CAST(coalesce(sum(r.comp), 0) AS BIGINT) AS comp,
  count(o.id) AS fu,
  CAST(coalesce(sum(CASE WHEN o.pursued IN ('yes', 'partly') THEN 1 ELSE 0 END), 0) AS BIGINT) AS pursued,
  CAST(coalesce(sum(CASE WHEN o.satisfaction > 0 THEN 1 ELSE 0 END), 0) AS BIGINT) AS satn,
  CAST(coalesce(sum(CASE WHEN o.satisfaction > 0 THEN o.satisfaction ELSE 0 END), 0) AS BIGINT) AS sats,
  CAST(coalesce(sum(CASE WHEN o.wellbeing <> '' THEN 1 ELSE 0 END), 0) AS BIGINT) AS wbn,
  CAST(coalesce(sum(CASE WHEN o.wellbeing = 'better' THEN 1 ELSE 0 END), 0) AS BIGINT) AS better
  FROM g LEFT JOIN r ON r.id = g.id AND r.k = g.k LEFT JOIN o ON o.id = g.id AND o.k = g.k GROUP BY g.k)
SELECT s.k, s.rx, s.n, s.acc, s.rej, s.comp, s.fu, s.pursued, s.satn, s.sats, s.wbn, s.better,
  CAST(coalesce(m.c, 0) AS BIGINT), CAST(coalesce(m.med, 0) AS DOUBLE PRECISION)
FROM s LEFT JOIN m ON m.k = s.k ORDER BY s.k`
}

const inPeriod = ` authored_on >= $1 AND authored_on < $2`

// ProgramReport computes the program report over [from, to) (see
// socialrx.Reports).
func (e *Engine) ProgramReport(ctx context.Context, from, to time.Time) (*socialrx.ProgramReport, error) {
	if !to.After(from) {
		return nil, socialrx.Errorf(socialrx.EINVALID, "program report: the end of the period (%s) is not after its start (%s)",
			to.Format(time.RFC3339), from.Format(time.RFC3339))
	}
	q := e.drv.Reader()
	lo, hi := micros(from), micros(to)
	rep := &socialrx.ProgramReport{From: from, To: to}
	total, err := e.reportGroups(ctx, q, `SELECT service_request_id AS id, '' AS k, authored_on AS at FROM prescriptions WHERE`+inPeriod, lo, hi)
	if err != nil {
		return nil, err
	}
	if len(total) == 1 {
		rep.Total = total[0]
	}
	if rep.Programs, err = e.reportGroups(ctx, q, `SELECT service_request_id AS id, target AS k, authored_on AS at FROM prescriptions WHERE`+inPeriod, lo, hi); err != nil {
		return nil, err
	}
	if rep.Needs, err = e.reportGroups(ctx, q, `SELECT p.service_request_id AS id, j.value AS k, p.authored_on AS at FROM prescriptions p CROSS JOIN `+
		e.d.NeedDomains+` WHERE p.authored_on >= $1 AND p.authored_on < $2`, lo, hi); err != nil {
		return nil, err
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

// reportGroups runs reportQuery over the groups g.
func (e *Engine) reportGroups(ctx context.Context, q Querier, g string, lo, hi int64) ([]socialrx.ReportStats, error) {
	rows, err := q.Query(ctx, reportQuery(g), lo, hi)
	if err != nil {
		return nil, fmt.Errorf("program report: %w", e.translate(err))
	}
	defer rows.Close()
	var out []socialrx.ReportStats
	for rows.Next() {
		var s socialrx.ReportStats
		if err := rows.Scan(&s.Key, &s.Prescriptions, &s.Referrals, &s.Accepted, &s.Rejected, &s.Completed,
			&s.FollowedUp, &s.Pursued, &s.SatisfactionN, &s.SatisfactionSum, &s.WellbeingN, &s.Improved,
			&s.Contacted, &s.MedianDaysToContact); err != nil {
			return nil, fmt.Errorf("program report: %w", e.translate(err))
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("program report: %w", e.translate(err))
	}
	return out, nil
}
