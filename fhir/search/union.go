package search

import (
	"fmt"
	"slices"
)

// Union parameters. Some R4 string parameters select elements whose members
// other parameters of the same type select too: Patient.address indexes an
// Address's line, district, text, city, state, postalCode and country, and
// address-city, address-state, address-postalcode and address-country index
// four of them again. Writing those values twice (two index rows each) is
// the largest share of the rows of a Patient, a Practitioner, an
// Organization or a Location. For the parameters declared in unionDecls the
// values are written once: Index gives the union parameter only the values
// none of its parts holds (its remainder), and a search or _sort on it reads
// the rows of the parameter and of its parts (SearchParam.IndexParams). The
// matches and the sort order are those of the full set of values, which is
// exactly the union (a resource matches when any of its rows does).
//
// A declaration is served only when the R4 expressions make the union
// exact (checkUnion): each part's expression is a branch of the union
// parameter's, or such a branch followed by one member of the declared
// shape (Address, HumanName), which Index then always reads as that shape.
// TestUnionDecls fails when one is not served.

// shapeMembers are the members a string search on a HumanName or an Address
// looks into, in the order Index reads them.
var shapeMembers = map[string][]string{
	"HumanName": humanNameParts,
	"Address":   addressParts,
}

// unionDecl declares, for the types listed, string parameter name as the
// union of its own remainder and of parts. shape is the type of the
// elements name selects when parts are members of it ("" when parts select
// the same elements as branches of name's expression).
type unionDecl struct {
	types []string
	name  string
	shape string
	parts []string
}

// unionDecls are the union parameters (R4 4.0.1 expressions):
//
//	X.address  = line, district, text ∪ address-city ∪ address-country ∪ address-postalcode ∪ address-state
//	X.name     = text, prefix, suffix ∪ family ∪ given            (HumanName)
//	phonetic   = name (the same expression, X.name: no rows of its own)
//	Organization.name (name | alias) = alias ∪ phonetic (Organization.name)
//
// Location.name (name | alias) has no phonetic; HealthcareService,
// Endpoint and the other name parameters are one string each.
var unionDecls = []unionDecl{
	{types: []string{"Location", "Organization", "Patient", "Practitioner"}, name: "address", shape: "Address",
		parts: []string{"address-city", "address-country", "address-postalcode", "address-state"}},
	{types: []string{"Patient", "Practitioner"}, name: "name", shape: "HumanName", parts: []string{"family", "given"}},
	{types: []string{"Patient", "Practitioner"}, name: "phonetic", shape: "HumanName", parts: []string{"name"}},
	{types: []string{"Organization"}, name: "name", parts: []string{"phonetic"}},
}

// applyUnions sets Union and shape on tp's parameters from unionDecls for
// type typ. A declaration that does not hold is not applied; its reason is
// returned ("Type.name: reason").
func applyUnions(typ string, tp *typeParams) (bad []string) {
	direct := map[string]unionDecl{}
	for _, d := range unionDecls {
		if !slices.Contains(d.types, typ) {
			continue
		}
		if err := checkUnion(tp, d); err != nil {
			bad = append(bad, typ+"."+d.name+": "+err.Error())
			continue
		}
		direct[d.name] = d
	}
	for name, d := range direct {
		i := tp.byName[name]
		// Parts of parts: phonetic's rows are also in name's parts.
		var all []string
		var walk func(string, int) bool
		walk = func(n string, depth int) bool {
			if depth > len(direct) {
				return false // a cycle: a value would be in no row
			}
			for _, p := range direct[n].parts {
				if p == name {
					return false
				}
				if !slices.Contains(all, p) {
					all = append(all, p)
				}
				if !walk(p, depth+1) {
					return false
				}
			}
			return true
		}
		if !walk(name, 0) {
			bad = append(bad, typ+"."+name+": its parts include itself")
			continue
		}
		slices.Sort(all)
		tp.list[i].shape = d.shape
		if len(all) > 0 {
			tp.list[i].Union = all
			for _, p := range all {
				tp.list[i].unionIdx = append(tp.list[i].unionIdx, tp.byName[p])
			}
		}
	}
	slices.Sort(bad)
	return bad
}

// checkUnion reports why declaration d does not make d.name exactly the
// union of its remainder and d.parts for tp, or nil.
func checkUnion(tp *typeParams, d unionDecl) error {
	u, ok := tp.lookup(d.name)
	if !ok || u.Type != ParamString || u.Derived {
		return fmt.Errorf("not a served string parameter")
	}
	members := shapeMembers[d.shape]
	if d.shape != "" && members == nil {
		return fmt.Errorf("unknown shape %q", d.shape)
	}
	for _, pn := range d.parts {
		p, ok := tp.lookup(pn)
		if !ok || p.Type != ParamString || p.Derived {
			return fmt.Errorf("part %s is not a served string parameter", pn)
		}
		for _, pc := range p.expr.chains {
			if !chainCovered(u.expr, pc, members) {
				return fmt.Errorf("part %s: %s is not a branch of %s nor a member of one", pn, pc.elem, u.Expression)
			}
		}
	}
	return nil
}

// chainCovered reports whether every node part selects is a node of a
// branch of u, or a member (one of members) of one: then Index, which reads
// u's nodes as the shape, gives u every value it gives part.
func chainCovered(u *pathExpr, part pathChain, members []string) bool {
	if part.elem == "" {
		return false
	}
	for _, uc := range u.chains {
		if uc.elem == "" {
			continue
		}
		if part.elem == uc.elem && slices.EqualFunc(part.steps, uc.steps, sameStep) {
			return true
		}
		n := len(uc.steps)
		if members != nil && len(part.steps) == n+1 && slices.EqualFunc(part.steps[:n], uc.steps, sameStep) {
			last := part.steps[n]
			if last.kind == stepField && len(last.keys) == 1 && slices.Contains(members, last.keys[0]) &&
				part.elem == uc.elem+"."+last.keys[0] {
				return true
			}
		}
	}
	return false
}

func sameStep(a, b pathStep) bool {
	return a.kind == b.kind && a.name == b.name && a.value == b.value &&
		slices.Equal(a.keys, b.keys) && slices.Equal(a.types, b.types)
}

// IndexParams returns the parameters whose index rows hold p's values: p
// itself and, for a union parameter, its parts (Union).
func (p SearchParam) IndexParams() []string {
	if len(p.Union) == 0 {
		return []string{p.Name}
	}
	return append([]string{p.Name}, p.Union...)
}

// pruneUnions removes from es the entries of each union parameter of tp
// that equal an entry of one of its parts; spans[i] is where tp.list[i]'s
// entries are in es (before pruning). The order is kept. It is linear in
// the entries: the parts' values are looked up in a set (a scan of every
// part for every entry made a Patient of 32,000 names, 1.2 MB, take 11 s
// to index; 10 MB of names would have taken minutes).
func pruneUnions(tp *typeParams, es *Entries, spans [][2]int32) {
	var drop []bool
	for i := range tp.list {
		sp := &tp.list[i]
		if len(sp.unionIdx) == 0 || spans[i][0] == spans[i][1] {
			continue
		}
		held := partValues(es, spans, sp.unionIdx)
		for r := spans[i][0]; r < spans[i][1]; r++ {
			e := es.entry(int(r))
			if _, ok := held[stringValue{e.Value, e.Exact}]; ok {
				if drop == nil {
					drop = make([]bool, es.Len())
				}
				drop[r] = true
			}
		}
	}
	if drop != nil {
		// held's keys alias the arena keep rewrites: not used after it
		es.keep(0, func(r, _ int) bool { return !drop[r] })
	}
}

// stringValue is what tells two string entries apart.
type stringValue struct{ value, exact string }

// partValues returns the values of the entries of the parameters parts
// (indexes into tp.list).
func partValues(es *Entries, spans [][2]int32, parts []int) map[stringValue]struct{} {
	n := 0
	for _, pi := range parts {
		n += int(spans[pi][1] - spans[pi][0])
	}
	held := make(map[stringValue]struct{}, n)
	for _, pi := range parts {
		for r := spans[pi][0]; r < spans[pi][1]; r++ {
			e := es.entry(int(r))
			held[stringValue{e.Value, e.Exact}] = struct{}{}
		}
	}
	return held
}
