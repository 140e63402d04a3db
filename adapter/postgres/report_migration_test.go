package postgres

import (
	"context"
	"fmt"
	"testing"

	"github.com/pressly/goose/v3"

	"github.com/socialrx/socialrx/adapter/internal/sqlstore/enginetest"
	"github.com/socialrx/socialrx/adapter/pgtest"
)

// TestMigrationReportByProgram: see the SQLite test of that name (here
// migration 00015).
func TestMigrationReportByProgram(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	err = s.withProvider(func(p *goose.Provider) error {
		if _, err := p.UpTo(ctx, 10); err != nil {
			return err
		}
		for _, q := range enginetest.PreReportRows {
			if _, err := s.pool.Exec(ctx, q); err != nil {
				return fmt.Errorf("%s: %w", q, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	enginetest.CheckReportRebuilt(t, s)
}
