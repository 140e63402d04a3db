package main

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/schollz/progressbar/v3"
)

// runClients runs op(0), ..., op(n-1), each once, from clients goroutines,
// advancing bar, and returns each op's time (by index, sorted) and the time
// they all took. The first error stops the clients and is returned; so is
// ctx's.
func runClients(ctx context.Context, n, clients int, bar *progressbar.ProgressBar, op func(i int) error) ([]time.Duration, time.Duration, error) {
	lat := make([]time.Duration, n)
	var next atomic.Int64
	var failed atomic.Pointer[error]
	var wg sync.WaitGroup
	start := time.Now()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for failed.Load() == nil && ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				t0 := time.Now()
				if err := op(i); err != nil {
					failed.Store(&err)
					return
				}
				lat[i] = time.Since(t0)
				_ = bar.Add(1)
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	if err := failed.Load(); err != nil {
		return nil, took, *err
	}
	if err := ctx.Err(); err != nil {
		return nil, took, err
	}
	slices.Sort(lat)
	return lat, took, nil
}

// quantileMs is the p quantile of sorted latencies, in milliseconds.
func quantileMs(sorted []time.Duration, p float64) float64 {
	return float64(sorted[min(len(sorted)-1, int(p*float64(len(sorted))))].Microseconds()) / 1000
}
