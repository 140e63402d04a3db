package fhir

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// treeValue is n as encoding/json decodes it with UseNumber.
func treeValue(n Node) any {
	switch n.Kind() {
	case JSONObject:
		m := map[string]any{}
		for k, v := range n.Members() {
			m[k] = treeValue(v)
		}
		return m
	case JSONArray:
		a := []any{}
		for x := range n.Items() {
			a = append(a, treeValue(x))
		}
		return a
	case JSONString:
		s, _ := n.Str()
		return s
	case JSONNumber:
		s, _ := n.Number()
		return json.Number(s)
	case JSONBool:
		b, _ := n.Bool()
		return b
	}
	return nil
}

// TestTreeReadsAsDecoded reads every R4 example through the Tree and
// compares it with encoding/json's reading.
func TestTreeReadsAsDecoded(t *testing.T) {
	files, err := filepath.Glob("../testdata/fhir-examples/r4/*.json")
	if err != nil || len(files) < 200 {
		t.Fatalf("%d examples (%v)", len(files), err)
	}
	for _, f := range files {
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		tr, err := ParseTree(body)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		dec := json.NewDecoder(strings.NewReader(string(body)))
		dec.UseNumber()
		var want any
		if err := dec.Decode(&want); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, treeValue(tr.Root())); diff != "" {
			t.Errorf("%s (-encoding/json +Tree):\n%s", f, diff)
		}
		// The node slice was sized once: nodeBound holds every node and
		// is not far above them.
		n, b := len(tr.t.nodes), nodeBound(body)
		if b < n || b > 2*n+16 || cap(tr.t.nodes) != b {
			t.Errorf("%s: %d nodes, bound %d, slice of %d", f, n, b, cap(tr.t.nodes))
		}
	}
}

func TestTreeNode(t *testing.T) {
	tr, err := ParseTree([]byte(`{"s":"a\u00e9","n":-1.50e3,"b":false,"z":null,"a":[1,"x",null],"o":{"k\"":1}}`))
	if err != nil {
		t.Fatal(err)
	}
	r := tr.Root()
	type got struct {
		Kind    JSONKind
		Exists  bool
		Str     string
		StrOK   bool
		Num     string
		NumOK   bool
		Bool    bool
		BoolOK  bool
		IsStrAe bool
	}
	read := func(n Node) got {
		g := got{Kind: n.Kind(), Exists: n.Exists(), IsStrAe: n.IsStr("aé")}
		g.Str, g.StrOK = n.Str()
		g.Num, g.NumOK = n.Number()
		g.Bool, g.BoolOK = n.Bool()
		return g
	}
	for _, tc := range []struct {
		name string
		n    Node
		want got
	}{
		{"string", r.Get("s"), got{Kind: JSONString, Exists: true, Str: "aé", StrOK: true, IsStrAe: true}},
		{"number", r.Get("n"), got{Kind: JSONNumber, Exists: true, Num: "-1.50e3", NumOK: true}},
		{"bool", r.Get("b"), got{Kind: JSONBool, Exists: true, BoolOK: true}},
		{"null", r.Get("z"), got{Kind: JSONNull, Exists: true}},
		{"array", r.Get("a"), got{Kind: JSONArray, Exists: true}},
		{"object", r.Get("o"), got{Kind: JSONObject, Exists: true}},
		{"escaped key", r.Get("o").Get(`k"`), got{Kind: JSONNumber, Exists: true, Num: "1", NumOK: true}},
		{"missing", r.Get("nope"), got{}},
		{"member of a string", r.Get("s").Get("x"), got{}},
		{"member of absent", Node{}.Get("x"), got{}},
	} {
		if diff := cmp.Diff(tc.want, read(tc.n)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
	}
	var items []any
	for x := range r.Get("a").Items() {
		items = append(items, treeValue(x))
	}
	if diff := cmp.Diff([]any{json.Number("1"), "x", nil}, items); diff != "" {
		t.Errorf("items (-want +got):\n%s", diff)
	}
	for range r.Get("o").Items() {
		t.Error("an object has items")
	}
	for range r.Get("a").Members() {
		t.Error("an array has members")
	}
	if _, err := ParseTree([]byte(`{"a":1,"a":2}`)); err == nil {
		t.Error("duplicate key taken")
	}
}

// TestNodeBound: the bound holds for dense documents and strings full of
// separators (the slow path), and is exact for containers.
func TestNodeBound(t *testing.T) {
	for _, doc := range []string{
		`[1,2,3,4,5,6,7,8,9,0,1,2,3,4,5,6,7,8,9,0,1,2,3,4,5,6,7,8,9,0,1,2,3,4,5,6,7,8,9,0,1,2,3,4,5,6,7,8,9,0]`,
		`{"s":"` + strings.Repeat(",:[{", 100) + `","t":"\"` + strings.Repeat(",", 50) + `\\"}`,
		`{}`, `[]`, `"x"`, `{"a":{"b":[{},[],{"c":null}]}}`,
	} {
		tr, err := ParseTree([]byte(doc))
		if err != nil {
			t.Fatalf("%s: %v", doc, err)
		}
		if n, b := len(tr.t.nodes), nodeBound([]byte(doc)); b < n || b > n+4 {
			t.Errorf("%.40s: %d nodes, bound %d", doc, n, b)
		}
	}
}
