package search

import (
	"fmt"
	"strings"

	"github.com/socialrx/socialrx/fhir"
)

// This file is a small evaluator for the subset of FHIRPath that the R4
// search parameter expressions of the supported types use. It works on the
// parse tree of package fhir (fhir.Tree: one small record per value, pointing
// into the text; decoding into map[string]any took 10 times the body,
// docs/performance.md). Supported:
//
//	A.b.c                    dotted paths; arrays are flattened at each step
//	A.b | A.c                unions
//	(A.b)  (A.b).c           parentheses
//	A.value as Quantity      choice selection (also .as(T) and .ofType(T))
//	A.effective              a choice element: effectiveDateTime, effectivePeriod...
//	A.subject.where(resolve() is Patient)   references whose type is Patient
//	A.telecom.where(system='email')          equality on a child element
//	A.extension('http://...')                extensions with that url
//
// Anything else (exists(), and, !=, other functions) fails to compile, and
// the search parameter using it is not served.

// pathNode is one node an expression selects.
type pathNode struct {
	v fhir.Node
	// typ is the FHIR type the node is known to have from a choice suffix
	// (effectivePeriod → "Period"), or "" when only its JSON shape tells.
	typ string
}

type stepKind uint8

const (
	stepField        stepKind = iota // child element(s) by key
	stepWhereEq                      // keep objects whose child name equals value
	stepWhereResolve                 // keep References whose target type is name
)

type pathStep struct {
	kind  stepKind
	name  string   // stepWhereEq: the child; stepWhereResolve: the type
	value string   // stepWhereEq: the literal
	keys  []string // stepField: JSON keys to look up, in order
	types []string // stepField: the FHIR type each key implies ("" if none)
}

// pathChain is one branch of a union: steps applied from the resource root.
type pathChain struct {
	steps []pathStep
	// hint is the name of the last element the chain selects ("telecom",
	// "identifier"): it tells apart JSON shapes that look alike.
	hint string
	// elem is the element path ("Observation.component.value") while the
	// chain only walks resource elements; "" once that is no longer known.
	elem string
}

// pathExpr is a compiled expression: the union of its chains.
type pathExpr struct {
	chains []pathChain
}

// compilePath compiles expr for resource type typ. The root name of each
// branch must be typ, Resource or DomainResource. choices maps choice element
// paths (without [x]) to their allowed types.
func compilePath(typ, expr string, choices map[string][]string) (*pathExpr, error) {
	p := &pathParser{typ: typ, choices: choices}
	if err := p.lex(expr); err != nil {
		return nil, err
	}
	chains, err := p.union()
	if err != nil {
		return nil, err
	}
	if p.pos < len(p.toks) {
		return nil, fmt.Errorf("unexpected %q", p.toks[p.pos].text)
	}
	return &pathExpr{chains: chains}, nil
}

// pathEvaluator holds working space that successive evaluations reuse.
// The zero value is ready to use; it is not safe for concurrent use.
type pathEvaluator struct {
	a, b []pathNode
}

// each gives yield the nodes chain c selects in root, those of the last
// step as it makes them: a long selection (a resource's 260,525
// identifiers, 8 MB of nodes) is never held. yield must not use ev.
func (ev *pathEvaluator) each(c *pathChain, root fhir.Node, yield func(pathNode)) {
	if len(c.steps) == 0 {
		yield(pathNode{v: root})
		return
	}
	cur := ev.upTo(c, root, len(c.steps)-1)
	c.steps[len(c.steps)-1].each(cur, yield)
}

// upTo returns the nodes the first n steps of chain c select in root, in
// the evaluator's space (ev.a or ev.b, the other one free).
func (ev *pathEvaluator) upTo(c *pathChain, root fhir.Node, n int) []pathNode {
	cur := append(ev.a[:0], pathNode{v: root})
	next := ev.b[:0]
	for si := range c.steps[:n] {
		next = c.steps[si].apply(cur, next[:0])
		cur, next = next, cur
		if len(cur) == 0 {
			break
		}
	}
	ev.a, ev.b = cur, next
	return cur
}

// apply appends to out the nodes step s selects from each of in.
func (s *pathStep) apply(in, out []pathNode) []pathNode {
	s.each(in, func(n pathNode) { out = append(out, n) })
	return out
}

// each gives yield the nodes step s selects from each of in, in order.
func (s *pathStep) each(in []pathNode, yield func(pathNode)) {
	switch s.kind {
	case stepField:
		for _, n := range in {
			if n.v.Kind() != fhir.JSONObject {
				continue
			}
			for i, k := range s.keys {
				switch v := n.v.Get(k); v.Kind() {
				case fhir.JSONAbsent, fhir.JSONNull:
				case fhir.JSONArray:
					for x := range v.Items() {
						if x.Kind() != fhir.JSONNull {
							yield(pathNode{v: x, typ: s.types[i]})
						}
					}
				default:
					yield(pathNode{v: v, typ: s.types[i]})
				}
			}
		}
	case stepWhereEq:
		for _, n := range in {
			if n.v.Get(s.name).IsStr(s.value) {
				yield(n)
			}
		}
	case stepWhereResolve:
		for _, n := range in {
			if ref, ok := n.v.Get("reference").Str(); ok {
				if t, _, ok := searchRefTypeID(ref); ok && t == s.name {
					yield(n)
				}
			}
		}
	}
}

// pathToken is a lexical token: an identifier, a quoted string or one
// punctuation character.
type pathToken struct {
	kind byte // 'i' identifier, 's' string, or the punctuation character
	text string
}

type pathParser struct {
	typ     string
	choices map[string][]string
	toks    []pathToken
	pos     int
}

func (p *pathParser) lex(s string) error {
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '_' || pathIsLetter(c):
			j := i + 1
			for j < len(s) && (s[j] == '_' || pathIsLetter(s[j]) || (s[j] >= '0' && s[j] <= '9')) {
				j++
			}
			p.toks = append(p.toks, pathToken{kind: 'i', text: s[i:j]})
			i = j
		case c == '\'':
			var b strings.Builder
			j := i + 1
			for ; j < len(s) && s[j] != '\''; j++ {
				if s[j] == '\\' && j+1 < len(s) {
					j++
				}
				b.WriteByte(s[j])
			}
			if j >= len(s) {
				return fmt.Errorf("unterminated string")
			}
			p.toks = append(p.toks, pathToken{kind: 's', text: b.String()})
			i = j + 1
		case strings.IndexByte("().|=", c) >= 0:
			p.toks = append(p.toks, pathToken{kind: c, text: string(c)})
			i++
		default:
			return fmt.Errorf("unsupported character %q", c)
		}
	}
	return nil
}

func pathIsLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func (p *pathParser) peek() pathToken {
	if p.pos < len(p.toks) {
		return p.toks[p.pos]
	}
	return pathToken{}
}

func (p *pathParser) accept(kind byte) bool {
	if p.peek().kind == kind {
		p.pos++
		return true
	}
	return false
}

func (p *pathParser) expect(kind byte) (pathToken, error) {
	t := p.peek()
	if t.kind != kind {
		if t.kind == 0 {
			return t, fmt.Errorf("unexpected end, want %q", kind)
		}
		return t, fmt.Errorf("unexpected %q", t.text)
	}
	p.pos++
	return t, nil
}

// union := term ('|' term)*
func (p *pathParser) union() ([]pathChain, error) {
	chains, err := p.term()
	if err != nil {
		return nil, err
	}
	for p.accept('|') {
		more, err := p.term()
		if err != nil {
			return nil, err
		}
		chains = append(chains, more...)
	}
	return chains, nil
}

// term := postfix ('as' TypeName)?
func (p *pathParser) term() ([]pathChain, error) {
	chains, err := p.postfix()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind == 'i' && t.text == "as" {
		p.pos++
		tn, err := p.expect('i')
		if err != nil {
			return nil, err
		}
		if err := p.selectType(chains, tn.text); err != nil {
			return nil, err
		}
	}
	return chains, nil
}

// postfix := primary ('.' invocation)*
func (p *pathParser) postfix() ([]pathChain, error) {
	var chains []pathChain
	if p.accept('(') {
		var err error
		if chains, err = p.union(); err != nil {
			return nil, err
		}
		if _, err := p.expect(')'); err != nil {
			return nil, err
		}
	} else {
		root, err := p.expect('i')
		if err != nil {
			return nil, err
		}
		if root.text != p.typ && root.text != "Resource" && root.text != "DomainResource" {
			return nil, fmt.Errorf("expression root %s is not %s", root.text, p.typ)
		}
		chains = []pathChain{{elem: p.typ}}
	}
	for p.accept('.') {
		name, err := p.expect('i')
		if err != nil {
			return nil, err
		}
		if !p.accept('(') {
			for i := range chains {
				chains[i].field(name.text, p.choices)
			}
			continue
		}
		if err := p.function(chains, name.text); err != nil {
			return nil, err
		}
	}
	return chains, nil
}

// function compiles the call name(...) (the '(' already read) onto chains.
func (p *pathParser) function(chains []pathChain, name string) error {
	switch name {
	case "as", "ofType":
		tn, err := p.expect('i')
		if err != nil {
			return err
		}
		if _, err := p.expect(')'); err != nil {
			return err
		}
		return p.selectType(chains, tn.text)
	case "extension":
		url, err := p.expect('s')
		if err != nil {
			return err
		}
		if _, err := p.expect(')'); err != nil {
			return err
		}
		for i := range chains {
			chains[i].field("extension", nil)
			chains[i].steps = append(chains[i].steps, pathStep{kind: stepWhereEq, name: "url", value: url.text})
			chains[i].elem = ""
		}
		return nil
	case "where":
		var step pathStep
		t, err := p.expect('i')
		if err != nil {
			return err
		}
		if t.text == "resolve" {
			// where(resolve() is T)
			if _, err := p.expect('('); err != nil {
				return err
			}
			if _, err := p.expect(')'); err != nil {
				return err
			}
			if is, err := p.expect('i'); err != nil || is.text != "is" {
				return fmt.Errorf("where(resolve() ...) without is")
			}
			tn, err := p.expect('i')
			if err != nil {
				return err
			}
			step = pathStep{kind: stepWhereResolve, name: tn.text}
		} else {
			// where(child = 'literal')
			if _, err := p.expect('='); err != nil {
				return err
			}
			lit, err := p.expect('s')
			if err != nil {
				return err
			}
			step = pathStep{kind: stepWhereEq, name: t.text, value: lit.text}
		}
		if _, err := p.expect(')'); err != nil {
			return err
		}
		for i := range chains {
			chains[i].steps = append(chains[i].steps, step)
		}
		return nil
	}
	return fmt.Errorf("unsupported function %s()", name)
}

// field appends a child step. A choice element (known from choices) looks
// up every allowed type's key.
func (c *pathChain) field(name string, choices map[string][]string) {
	step := pathStep{kind: stepField, keys: []string{name}, types: []string{""}}
	if c.elem != "" {
		c.elem += "." + name
		if types, ok := choices[c.elem]; ok {
			step.keys, step.types = nil, nil
			for _, t := range types {
				step.keys = append(step.keys, name+pathUpperFirst(t))
				step.types = append(step.types, t)
			}
		}
	}
	c.steps = append(c.steps, step)
	c.hint = name
}

// selectType narrows the last step of each chain, which must be a field, to
// one type of a choice element ("value as Quantity" → valueQuantity).
func (p *pathParser) selectType(chains []pathChain, typ string) error {
	for i := range chains {
		c := &chains[i]
		if len(c.steps) == 0 || c.steps[len(c.steps)-1].kind != stepField {
			return fmt.Errorf("type selection %s not on an element", typ)
		}
		last := &c.steps[len(c.steps)-1]
		if c.elem != "" {
			if types, ok := p.choices[c.elem]; ok && !pathContains(types, typ) {
				return fmt.Errorf("%s is not a type of %s[x]", typ, c.elem)
			}
		}
		name := c.hint
		last.keys = []string{name + pathUpperFirst(typ)}
		last.types = []string{typ}
		c.elem = ""
	}
	return nil
}

func pathUpperFirst(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}

func pathContains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
