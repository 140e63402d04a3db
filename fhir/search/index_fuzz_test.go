package search

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzIndex indexes arbitrary bodies, seeded with the R4 examples: it must
// not panic, and every entry must be filled as its type requires.
func FuzzIndex(f *testing.F) {
	dir := exampleDir(f)
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	for _, file := range files {
		typ, _, _ := strings.Cut(filepath.Base(file), "-")
		if typeSearchParams(typ) == nil {
			continue
		}
		body, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(typ, body)
	}
	f.Fuzz(func(t *testing.T, typ string, body []byte) {
		entries, err := Index(typ, body)
		if err != nil {
			return
		}
		for _, e := range entries {
			if msg := checkEntry(e); msg != "" {
				t.Fatalf("Index(%s): %s: %s (%+v)", typ, e.Param, msg, e)
			}
		}
	})
}
