package pgtest

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

// TestServerCPU: a query that keeps a backend busy shows in ServerCPU, and
// the time of the test process does not.
func TestServerCPU(t *testing.T) {
	dsn := NewDatabase(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	before, ok := ServerCPU()
	if !ok {
		t.Fatal("ServerCPU: no cluster found in /proc")
	}
	start := time.Now()
	var n int64
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM generate_series(1, 20000000) AS g(i) WHERE i % 7 = 3").Scan(&n); err != nil {
		t.Fatal(err)
	}
	busy := time.Since(start)
	after, _ := ServerCPU()
	// The backend was on a CPU for most of the query's time (ticks are
	// 10 ms: allow for them, and for a loaded machine).
	if got := after - before; got < busy/4 || got < 50*time.Millisecond {
		t.Errorf("ServerCPU grew by %v over a %v query; want most of it", got, busy)
	}
	idle, _ := ServerCPU()
	time.Sleep(300 * time.Millisecond)
	if later, _ := ServerCPU(); later-idle > 150*time.Millisecond {
		t.Errorf("ServerCPU grew by %v while the server was idle", later-idle)
	}
}
