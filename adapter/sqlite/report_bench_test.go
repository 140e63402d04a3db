package sqlite

import (
	"context"
	"testing"

	"github.com/socialrx/socialrx/adapter/storetest"
)

// BenchmarkProgramReport: the program report over 100k prescriptions vs.
// one plain aggregate pass over each table it reads (baselineReport), in
// the same loop (docs/performance.md).
func BenchmarkProgramReport(b *testing.B) {
	s := benchStore(b)
	db := s.DB()
	storetest.BenchProgramReport(b, s, nil, func(ctx context.Context, from, to int64) error {
		for _, q := range baselineReport {
			var n, sum int64
			if err := db.QueryRowContext(ctx, q, from, to).Scan(&n, &sum); err != nil {
				return err
			}
		}
		return nil
	})
}

// baselineReport is a plain count and sum over the rows the report reads:
// the period's prescriptions, their referrals and follow-up results.
var baselineReport = []string{
	`SELECT count(*), coalesce(sum(authored_on / 86400000000), 0) FROM prescriptions WHERE authored_on >= $1 AND authored_on < $2`,
	`SELECT count(*), coalesce(sum(first_contact / 86400000000), 0) FROM referrals WHERE $1 <= $2`,
	`SELECT count(*), coalesce(sum(satisfaction), 0) FROM follow_up_results WHERE $1 <= $2`,
}
