package sqlstore

import (
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/fhir/search"
)

// builder collects the SQL of one statement and its arguments.
type builder struct {
	args []any
	now  time.Time
}

// arg adds a bound value and returns its placeholder.
func (b *builder) arg(v any) string {
	b.args = append(b.args, v)
	return "$" + strconv.Itoa(len(b.args))
}

// argList returns "$i, $j, ..." for vs.
func (b *builder) argList(vs []string) string {
	ph := make([]string, len(vs))
	for i, v := range vs {
		ph[i] = b.arg(v)
	}
	return strings.Join(ph, ", ")
}

func unsupported(c search.Clause, what string) *socialrx.Error {
	name := c.Param.Name
	if c.Modifier != "" {
		name += ":" + c.Modifier
	}
	return &socialrx.Error{Code: socialrx.EINVALID, Message: "search parameter not supported by the store",
		Issues: []socialrx.Issue{{Severity: socialrx.SeverityError, Code: "not-supported", Path: name, Message: what + " is not supported"}}}
}

// joinedClauses is how many index clauses of a search become a subquery
// of their own (r.id IN (...), a semi-join the planner may drive from);
// any further ones are folded into one r.id IN (... INTERSECT ...) and one
// r.id NOT IN (... UNION ...). PostgreSQL's planning time grows much faster
// than linearly with the number of semi-joins (20 took 55 ms, 100 took 4 s
// on an almost empty database), while a set operation is planned in linear
// time; SQLite is linear either way. Searches of up to joinedClauses such
// clauses, nearly all of them, keep the plans they had.
const joinedClauses = 4

// where returns the condition (over alias r of table resources) that a
// resource of type typ must meet to match every clause.
func (b *builder) where(typ string, clauses []search.Clause) (string, error) {
	conds := []string{"r.type = " + b.arg(typ), "NOT r.deleted"}
	// The likely most selective clauses first: SQLite drives the lookup of
	// resources from the first r.id IN (...) and only filters by the rest
	// (Observation?code=X&subject=Y must start from the subject's few rows,
	// not the code's thousands); PostgreSQL plans by statistics either way.
	var in, notIn []string // subqueries past joinedClauses
	joined := 0
	for rank := range 3 {
		for _, c := range clauses {
			if clauseRank(c) != rank {
				continue
			}
			if metaParam(c.Param.Name) {
				cond, err := b.metaClause("r", c)
				if err != nil {
					return "", err
				}
				conds = append(conds, cond)
				continue
			}
			sub, negate, err := b.matchSet(typ, c)
			if err != nil {
				return "", err
			}
			switch {
			case joined < joinedClauses && negate:
				conds = append(conds, "r.id NOT IN ("+sub+")")
			case joined < joinedClauses:
				conds = append(conds, "r.id IN ("+sub+")")
			case negate:
				notIn = append(notIn, sub)
			default:
				in = append(in, sub)
			}
			joined++
		}
	}
	if len(in) > 0 {
		conds = append(conds, "r.id IN ("+strings.Join(in, " INTERSECT ")+")")
	}
	if len(notIn) > 0 {
		conds = append(conds, "r.id NOT IN ("+strings.Join(notIn, " UNION ")+")")
	}
	return strings.Join(conds, " AND "), nil
}

// clauseRank orders the clauses of a search: _id and references to one
// resource (a few rows each) before the rest, negations last.
func clauseRank(c search.Clause) int {
	switch {
	case c.Modifier == "not" || c.Modifier == "missing":
		return 2
	case c.Param.Name == "_id", c.Param.Type == search.ParamReference:
		return 0
	}
	return 1
}

// metaClause returns the condition of an _id or _lastUpdated clause, read
// from the resources row itself. Every other clause is r.id [NOT] IN (a
// non-correlated subquery over search_index, matchSet): PostgreSQL runs it
// as a semi-join either way round, and SQLite turns it into PK lookups
// driven by the index hits instead of probing per resource.
func (b *builder) metaClause(alias string, c search.Clause) (string, error) {
	switch c.Param.Name {
	case "_id":
		if c.Modifier != "" && c.Modifier != "not" {
			return "", unsupported(c, "this modifier")
		}
		ids := make([]string, 0, len(c.Values))
		for _, v := range c.Values {
			id := v.Code
			if id == "" {
				id = v.Raw
			}
			ids = append(ids, id)
		}
		op := "IN"
		if c.Modifier == "not" {
			op = "NOT IN"
		}
		return alias + ".id " + op + " (" + b.argList(ids) + ")", nil
	case "_lastUpdated":
		if c.Modifier != "" {
			return "", unsupported(c, "this modifier")
		}
		alts := make([]string, 0, len(c.Values))
		for _, v := range c.Values {
			alts = append(alts, b.dateCond(alias+".last_updated", alias+".last_updated", v))
		}
		return "(" + strings.Join(alts, " OR ") + ")", nil
	}
	return "", unsupported(c, "this parameter here")
}

// matchSet returns a subquery selecting the ids of resources of type typ
// that have a value matching the clause; negate asks the caller to take the
// complement (:missing=true, :not).
func (b *builder) matchSet(typ string, c search.Clause) (sub string, negate bool, err error) {
	if metaParam(c.Param.Name) {
		// No index rows (IndexRows): the ids come from the resources rows.
		if c.Modifier == "missing" || c.Chain != nil {
			return "", false, unsupported(c, "this modifier")
		}
		cond, err := b.metaClause("m", c)
		if err != nil {
			return "", false, err
		}
		return "SELECT m.id FROM resources m WHERE m.type = " + b.arg(typ) + " AND NOT m.deleted AND " + cond, false, nil
	}
	// The kind is written as a literal: it is what lets SQLite and
	// PostgreSQL use the kind's partial index (migration 00004).
	head := "SELECT si.res_id FROM search_index si WHERE si.res_type = " + b.arg(typ) + " AND " + b.paramCond("si", c.Param) +
		" AND si.kind = '" + KindOf(c.Param.Type) + "'"
	if c.Modifier == "missing" {
		if len(c.Values) != 1 {
			return "", false, unsupported(c, "more than one value")
		}
		return head, c.Values[0].Missing, nil
	}
	if c.Chain != nil {
		if c.Param.Type != search.ParamReference {
			return "", false, unsupported(c, "a chain on a parameter that is not a reference")
		}
		inner := c.Chain.Clause
		var innerSet string
		if inner.Param.Name == "_id" && inner.Modifier == "" {
			ids := make([]string, 0, len(inner.Values))
			for _, v := range inner.Values {
				id := v.Code
				if id == "" {
					id = v.Raw
				}
				ids = append(ids, id)
			}
			innerSet = b.argList(ids)
		} else {
			if inner.Chain != nil || inner.Modifier == "missing" || inner.Modifier == "not" {
				return "", false, unsupported(c, "this chained search")
			}
			innerSet, _, err = b.matchSet(c.Chain.Type, inner)
			if err != nil {
				return "", false, err
			}
		}
		return head + " AND si.ref_type = " + b.arg(c.Chain.Type) + " AND si.ref_id IN (" + innerSet + ")", false, nil
	}
	if len(c.Values) == 0 {
		return "", false, unsupported(c, "a parameter without value")
	}
	alts := make([]string, 0, len(c.Values))
	for _, v := range c.Values {
		cond, err := b.valueCond(c, v)
		if err != nil {
			return "", false, err
		}
		alts = append(alts, "("+cond+")")
	}
	return head + " AND (" + strings.Join(alts, " OR ") + ")", c.Modifier == "not", nil
}

// paramCond is the condition that a search_index row (alias) holds a value
// of p: its param is p's, or, for a union parameter (address, name), one
// of the parameters whose rows hold its values (search.SearchParam.Union).
func (b *builder) paramCond(alias string, p search.SearchParam) string {
	if len(p.Union) == 0 {
		return alias + ".param = " + b.arg(p.Name)
	}
	return alias + ".param IN (" + b.argList(p.IndexParams()) + ")"
}

// valueCond is the condition on one search_index row (alias si) for one
// value of a clause.
func (b *builder) valueCond(c search.Clause, v search.Value) (string, error) {
	switch c.Param.Type {
	case search.ParamToken:
		switch c.Modifier {
		case "", "not":
			switch {
			case v.HasSystem && v.System != "" && v.Code != "":
				return "si.code = " + b.arg(v.Code) + " AND si.system = " + b.arg(v.System), nil
			case v.HasSystem && v.System == "":
				return "si.code = " + b.arg(v.Code) + " AND si.system = ''", nil
			case v.HasSystem:
				return "si.system = " + b.arg(v.System), nil
			default:
				return "si.code = " + b.arg(v.Code), nil
			}
		case "text":
			return "si.text LIKE " + b.arg(containsPattern(normalized(v))) + ` ESCAPE '\'`, nil
		}
	case search.ParamString:
		switch c.Modifier {
		case "":
			return b.prefixCond("si.value", normalized(v)), nil
		case "exact":
			return "si.exact = " + b.arg(exactOf(v)), nil
		case "contains":
			return "si.value LIKE " + b.arg(containsPattern(normalized(v))) + ` ESCAPE '\'`, nil
		}
	case search.ParamURI:
		switch c.Modifier {
		case "":
			return "si.exact = " + b.arg(exactOf(v)), nil
		case "below":
			return b.prefixCond("si.exact", exactOf(v)), nil
		}
	case search.ParamDate:
		if c.Modifier == "" {
			return b.dateCond("si.low", "si.high", v), nil
		}
	case search.ParamNumber:
		if c.Modifier == "" {
			return b.numberCond(v), nil
		}
	case search.ParamQuantity:
		if c.Modifier == "" {
			cond := b.numberCond(v)
			if v.Code != "" {
				cond += " AND si.code = " + b.arg(v.Code)
			}
			if v.System != "" {
				cond += " AND si.system = " + b.arg(v.System)
			}
			return cond, nil
		}
	case search.ParamSpecial:
		if c.Param.Name == "near" && c.Modifier == "" {
			return b.nearCond(v), nil
		}
	case search.ParamReference:
		typ := v.RefType
		if c.Modifier != "" {
			if !isTypeName(c.Modifier) {
				break
			}
			typ = c.Modifier // subject:Patient=123
		}
		switch {
		case v.RefID != "" && typ != "":
			return "si.ref_type = " + b.arg(typ) + " AND si.ref_id = " + b.arg(v.RefID), nil
		case v.RefID != "":
			return "si.ref_id = " + b.arg(v.RefID), nil
		default:
			return "si.exact = " + b.arg(exactOf(v)), nil
		}
	}
	if c.Modifier != "" {
		return "", unsupported(c, "this modifier")
	}
	return "", unsupported(c, "a parameter of type "+string(c.Param.Type))
}

func isTypeName(s string) bool { return s != "" && s[0] >= 'A' && s[0] <= 'Z' }

func normalized(v search.Value) string {
	if v.String != "" {
		return v.String
	}
	return strings.ToLower(v.Raw)
}

func exactOf(v search.Value) string {
	if v.Exact != "" {
		return v.Exact
	}
	return v.Raw
}

// maxRune sorts after every character a real text holds, so that
// [p, p+maxRune) is the set of strings starting with p under a binary
// collation (SQLite BINARY, PostgreSQL "C"); the range, unlike LIKE, uses the
// B-tree index in both.
const maxRune = "\U0010FFFF"

func (b *builder) prefixCond(col, prefix string) string {
	if prefix == "" {
		return "1 = 1"
	}
	return col + " >= " + b.arg(prefix) + " AND " + col + " < " + b.arg(prefix+maxRune)
}

var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

func containsPattern(s string) string { return "%" + likeEscaper.Replace(s) + "%" }

// dateCond compares the range [lo, hi] of an indexed value (columns of unix
// microseconds, both ends inclusive) with the range of the search value, as
// FHIR R4 search 3.1.1.4.3 (prefixes) defines it.
func (b *builder) dateCond(lo, hi string, v search.Value) string {
	return "(" + b.dateCond0(lo, hi, v) + ")"
}

func (b *builder) dateCond0(lo, hi string, v search.Value) string {
	L, H := toMicros(v.Low), toMicros(v.High)
	if v.High.IsZero() {
		H = L
	}
	switch v.Prefix {
	case "ne":
		return lo + " < " + b.arg(L) + " OR " + hi + " > " + b.arg(H)
	case "gt":
		return hi + " > " + b.arg(H)
	case "lt":
		return lo + " < " + b.arg(L)
	case "ge":
		return hi + " > " + b.arg(H) + " OR (" + lo + " >= " + b.arg(L) + " AND " + hi + " <= " + b.arg(H) + ")"
	case "le":
		return lo + " < " + b.arg(L) + " OR (" + lo + " >= " + b.arg(L) + " AND " + hi + " <= " + b.arg(H) + ")"
	case "sa":
		return lo + " > " + b.arg(H)
	case "eb":
		return hi + " < " + b.arg(L)
	case search.PrefixContains:
		// Not an R4 prefix: the stored range holds the search range
		// (available-at: the hours hold the moment).
		return lo + " <= " + b.arg(L) + " AND " + hi + " >= " + b.arg(H)
	case "ap":
		// Approximately: the ranges overlap once the search range is widened
		// by 10% of its distance from now (at least one day).
		gap := b.now.Sub(v.Low)
		if gap < 0 {
			gap = -gap
		}
		d := max(gap/10, 24*time.Hour).Microseconds()
		return lo + " <= " + b.arg(H+d) + " AND " + hi + " >= " + b.arg(L-d)
	default: // eq
		return lo + " >= " + b.arg(L) + " AND " + hi + " <= " + b.arg(H)
	}
}

// numberCond compares si.number with a number search value. eq and ne use
// the implied precision of the value as written (100 means [99.5, 100.5)).
func (b *builder) numberCond(v search.Value) string {
	return "(" + b.numberCond0(v) + ")"
}

func (b *builder) numberCond0(v search.Value) string {
	n := v.Number
	half := 0.5 * math.Pow10(-decimals(v.Raw))
	switch v.Prefix {
	case "ne":
		return "si.number < " + b.arg(n-half) + " OR si.number >= " + b.arg(n+half)
	case "gt", "sa":
		return "si.number > " + b.arg(n)
	case "lt", "eb":
		return "si.number < " + b.arg(n)
	case "ge":
		return "si.number >= " + b.arg(n)
	case "le":
		return "si.number <= " + b.arg(n)
	case "ap":
		d := math.Abs(n) / 10
		return "si.number >= " + b.arg(n-d) + " AND si.number <= " + b.arg(n+d)
	default:
		return "si.number >= " + b.arg(n-half) + " AND si.number < " + b.arg(n+half)
	}
}

// decimals is the number of significant decimal places of a number search
// value as written ("ge1.50|unit" → 2, "1e2" → -2).
func decimals(raw string) int {
	s := raw
	if len(s) >= 2 && s[0] >= 'a' && s[0] <= 'z' && s[1] >= 'a' && s[1] <= 'z' {
		s = s[2:]
	}
	if i := strings.IndexByte(s, '|'); i >= 0 {
		s = s[:i]
	}
	exp := 0
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		exp, _ = strconv.Atoi(s[i+1:])
		s = s[:i]
	}
	d := 0
	if i := strings.IndexByte(s, '.'); i >= 0 {
		d = len(s) - i - 1
	}
	return d - exp
}

// MatchSQL returns the subquery (and its arguments) that selects the ids of
// typ's resources matching each clause of the search rawQuery, in the order
// of the clauses. It is for the stores' plan tests: they EXPLAIN each one to
// prove that a clause of every kind reaches its partial index.
func MatchSQL(typ, rawQuery string) ([]string, [][]any, error) {
	params, err := url.ParseQuery(rawQuery)
	if err != nil {
		return nil, nil, err
	}
	query, issues := search.ParseQuery(typ, params, true)
	if len(issues) > 0 {
		return nil, nil, socialrx.Errorf(socialrx.EINVALID, "%s", issues[0].Message)
	}
	var subs []string
	var args [][]any
	for _, c := range query.Clauses {
		b := &builder{now: time.Now()}
		sub, _, err := b.matchSet(typ, c)
		if err != nil {
			return nil, nil, err
		}
		subs, args = append(subs, sub), append(args, b.args)
	}
	return subs, args, nil
}
