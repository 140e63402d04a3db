package mapping

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestAppendToArray(t *testing.T) {
	for _, c := range []struct{ arr, want string }{
		{`[]`, `[1,2]`},
		{`[0]`, `[0,1,2]`},
		{"[\n  0\n]", "[\n  0,\n  1,\n  2\n]"},
		{`[ 0 ]`, `[ 0, 1, 2 ]`},
	} {
		got := appendToArray([]byte(c.arr), [][]byte{[]byte("1"), []byte("2")})
		if diff := cmp.Diff(c.want, string(got)); diff != "" {
			t.Errorf("appendToArray(%q) (-want +got):\n%s", c.arr, diff)
		}
	}
}

func TestEditArray(t *testing.T) {
	double := func(e json.RawMessage) (json.RawMessage, bool) {
		if string(e) == "2" {
			return json.RawMessage("22"), true
		}
		return e, false
	}
	for _, c := range []struct {
		arr, want string
		changed   bool
	}{
		{`[1, 2 ,3,2]`, `[1, 22 ,3,22]`, true},
		{"[\n 2\n]", "[\n 22\n]", true},
		{`[1, 3]`, `[1, 3]`, false},
		{`[]`, `[]`, false},
		{`{"a":2}`, `{"a":2}`, false},
		{`[2,`, `[2,`, false},
	} {
		got, changed := editArray([]byte(c.arr), double)
		if string(got) != c.want || changed != c.changed {
			t.Errorf("editArray(%q) = %q, %v; want %q, %v", c.arr, got, changed, c.want, c.changed)
		}
	}
}

func TestJSONEqual(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{`{"a":1,"b":[true]}`, `{ "b" : [ true ], "a":1 }`, true},
		{`1.50`, `1.5`, false},
		{`"x"`, `"x"`, true},
		{``, `null`, true},
		{``, `""`, false},
		{`{"a":1}`, `{"a":2}`, false},
	} {
		if got := jsonEqual(json.RawMessage(c.a), json.RawMessage(c.b)); got != c.want {
			t.Errorf("jsonEqual(%s, %s) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
}
