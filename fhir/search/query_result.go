package search

import (
	"strconv"
	"strings"
)

// resultParam parses the result parameters _count, _sort, _total, _summary,
// _elements and _cursor. Each may be given once, except _elements whose
// lists add up.
func (p *queryParser) resultParam(name string, vals []string) {
	if name != "_elements" && len(vals) > 1 {
		p.errorf("invalid", name, "parameter %s given more than once", name)
		return
	}
	if len(vals) == 0 {
		return
	}
	v := vals[0]
	switch name {
	case "_count":
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			p.errorf("value", name, "_count must be a whole number of 0 or more")
			return
		}
		if n > maxCount {
			n = maxCount
		}
		p.q.Count = n
		p.use(name, strconv.Itoa(n))
	case "_total":
		switch v {
		case "none", "estimate", "accurate":
			p.q.Total = v
			p.use(name, v)
		default:
			p.errorf("value", name, "_total must be none, estimate or accurate")
		}
	case "_summary":
		switch v {
		case "true", "text", "data", "count", "false":
			p.q.Summary = v
			p.use(name, v)
		default:
			p.errorf("value", name, "_summary must be true, text, data, count or false")
		}
	case "_cursor":
		if v == "" {
			p.errorf("value", name, "_cursor is empty")
			return
		}
		p.q.Cursor = v
		p.use(name, v)
	case "_sort":
		if strings.Count(v, ",") >= MaxSortKeys {
			p.errorf("too-costly", name, "_sort takes at most %d keys", MaxSortKeys)
			return
		}
		var keys []SortKey
		for _, k := range strings.Split(v, ",") {
			desc := strings.HasPrefix(k, "-")
			k = strings.TrimPrefix(k, "-")
			sp, ok := p.tp.lookup(k)
			if !ok {
				if validParamName(k) {
					p.errorf("value", name, "cannot sort by %s: not a search parameter of %s", k, p.typ)
				} else {
					p.errorf("value", name, "invalid _sort value")
				}
				return
			}
			keys = append(keys, SortKey{Param: copyParam(sp.SearchParam), Descending: desc})
		}
		p.q.Sort = keys
		p.use(name, v)
	case "_elements":
		var elems []string
		for _, v := range vals {
			for _, e := range strings.Split(v, ",") {
				e = strings.TrimSpace(e)
				e = strings.TrimPrefix(e, p.typ+".")
				if !validElementName(e) {
					p.errorf("value", name, "invalid element name in _elements")
					return
				}
				elems = append(elems, e)
			}
		}
		p.q.Elements = append(p.q.Elements, elems...)
		p.use(name, vals...)
	}
}

// includeParam parses _include and _revinclude values:
// Source:param[:Target], Source:*, or *; the modifier may be :iterate (or
// its R3 name :recurse).
func (p *queryParser) includeParam(key, name, mod string, vals []string) {
	iterate := false
	switch mod {
	case "":
	case "iterate", "recurse":
		iterate = true
	default:
		p.errorf("invalid", key, "unknown modifier :%s for %s", quoteName(mod), name)
		return
	}
	rev := name == "_revinclude"
	for _, v := range vals {
		inc, msg := p.include(v, rev, iterate)
		if msg != "" {
			p.errorf("value", key, "%s", msg)
			continue
		}
		if rev {
			p.q.RevInclude = append(p.q.RevInclude, inc)
		} else {
			p.q.Include = append(p.q.Include, inc)
		}
		p.use(key, v)
	}
}

func (p *queryParser) include(v string, rev, iterate bool) (Include, string) {
	inc := Include{Iterate: iterate}
	if v == "*" {
		inc.Source, inc.Param = p.typ, SearchParam{Name: "*"}
		if rev {
			inc.Source = "*"
		}
		return inc, ""
	}
	parts := strings.Split(v, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return inc, "want Source:param[:Target] or *"
	}
	inc.Source = parts[0]
	stp := typeSearchParams(inc.Source)
	if stp == nil {
		if looksLikeTypeName(inc.Source) {
			return inc, "resource type " + inc.Source + " is not supported"
		}
		return inc, "want Source:param[:Target] or *"
	}
	if !rev && !iterate && inc.Source != p.typ {
		return inc, "the source of _include must be " + p.typ + " (or use :iterate)"
	}
	if len(parts) == 3 {
		inc.Target = parts[2]
		if typeSearchParams(inc.Target) == nil {
			if looksLikeTypeName(inc.Target) {
				return inc, "resource type " + inc.Target + " is not supported"
			}
			return inc, "invalid target type"
		}
	}
	if parts[1] == "*" {
		inc.Param = SearchParam{Name: "*"}
		return inc, ""
	}
	sp, ok := stp.lookup(parts[1])
	if !ok || sp.Type != ParamReference {
		if validParamName(parts[1]) {
			return inc, parts[1] + " is not a reference search parameter of " + inc.Source
		}
		return inc, "invalid search parameter name"
	}
	inc.Param = copyParam(sp.SearchParam)
	if inc.Target != "" && len(sp.Targets) > 0 && !pathContains(sp.Targets, inc.Target) {
		return inc, inc.Target + " is not a target type of " + inc.Source + ":" + parts[1]
	}
	if rev && !iterate {
		if inc.Target != "" && inc.Target != p.typ {
			return inc, "the target of _revinclude must be " + p.typ + " (or use :iterate)"
		}
		if len(sp.Targets) > 0 && !pathContains(sp.Targets, p.typ) {
			return inc, inc.Source + ":" + parts[1] + " does not refer to " + p.typ
		}
	}
	return inc, ""
}

// validParamName reports whether s looks like a search parameter name
// ([A-Za-z_][A-Za-z0-9_-]*), so that it may be named in a message.
func validParamName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(pathIsLetter(c) || c == '_' || i > 0 && (c >= '0' && c <= '9' || c == '-')) {
			return false
		}
	}
	return true
}

// validElementName reports whether s is a JSON element name
// ([A-Za-z][A-Za-z0-9_]*).
func validElementName(s string) bool {
	if s == "" || !pathIsLetter(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !(pathIsLetter(c) || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// quoteName returns s for a message when it looks like a name (a parameter,
// modifier or type name), and a placeholder otherwise, so that a value
// pasted where a name belongs is never echoed.
func quoteName(s string) string {
	if validParamName(s) {
		return s
	}
	return "(invalid name)"
}
