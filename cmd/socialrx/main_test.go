package main

import (
	"os"
	"testing"

	"github.com/socialrx/socialrx/adapter/pgtest"
)

// TestMain starts one throwaway PostgreSQL cluster for this package's tests
// (when its binaries are installed) and stops it afterwards.
func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
