package search

import (
	"os"
	"path/filepath"
	"testing"
)

// exampleDirs are where the FHIR R4 specification examples are looked for:
// the repository copy first, then the shared folder it is copied from.
var exampleDirs = []string{
	filepath.Join("..", "..", "testdata", "fhir-examples", "r4"),
	"/work/shared/fhir-examples/r4",
}

// exampleDir returns the folder holding the R4 examples; the test fails if
// there is none.
func exampleDir(tb testing.TB) string {
	tb.Helper()
	for _, d := range exampleDirs {
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			return d
		}
	}
	tb.Fatalf("no FHIR R4 examples in %v", exampleDirs)
	return ""
}

// readExample returns the bytes of one R4 example file.
func readExample(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(exampleDir(tb), name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}
