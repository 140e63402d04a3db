package search

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// parseValue parses one alternative of parameter sp; a non-empty message
// says why it is malformed (without echoing the value unless it is a code).
func parseValue(sp SearchParam, mod, refType, raw string) (Value, string) {
	v := Value{Raw: raw}
	if raw == "" {
		return v, "empty value in a list of alternatives"
	}
	if mod == "missing" {
		switch raw {
		case "true", "false":
			v.Missing = raw == "true"
			return v, ""
		}
		return v, "the :missing modifier takes true or false"
	}
	switch sp.Type {
	case ParamToken:
		if mod == "text" {
			v.String = normalizeSearchString(unescapeSearch(raw))
			return v, ""
		}
		parts := splitUnescaped(raw, '|')
		switch len(parts) {
		case 1:
			v.Code = unescapeSearch(parts[0])
		case 2:
			v.System, v.Code, v.HasSystem = unescapeSearch(parts[0]), unescapeSearch(parts[1]), true
		default:
			return v, "invalid token value: more than one '|'"
		}
	case ParamString:
		v.Exact = unescapeSearch(raw)
		v.String = normalizeSearchString(v.Exact)
	case ParamURI:
		v.Exact = unescapeSearch(raw)
	case ParamDate:
		if sp.Name == availableAtParam {
			return parseAvailableAt(raw)
		}
		prefix, rest, msg := splitPrefix(raw)
		if msg != "" {
			return v, msg
		}
		low, high, ok := parseDateRange(rest)
		if !ok {
			return v, "invalid date value"
		}
		v.Prefix, v.Low, v.High = prefix, low, high
	case ParamNumber:
		prefix, rest, msg := splitPrefix(raw)
		if msg != "" {
			return v, msg
		}
		n, ok := parseSearchNumber(rest)
		if !ok {
			return v, "invalid number value"
		}
		v.Prefix, v.Number = prefix, n
	case ParamQuantity:
		prefix, rest, msg := splitPrefix(raw)
		if msg != "" {
			return v, msg
		}
		parts := splitUnescaped(rest, '|')
		if len(parts) != 1 && len(parts) != 3 {
			return v, "invalid quantity value: want number, number|system|code or number||code"
		}
		n, ok := parseSearchNumber(parts[0])
		if !ok {
			return v, "invalid quantity value"
		}
		v.Prefix, v.Number = prefix, n
		if len(parts) == 3 {
			v.System, v.Code = unescapeSearch(parts[1]), unescapeSearch(parts[2])
			v.HasSystem = v.System != ""
		}
	case ParamReference:
		return parseReferenceValue(sp, refType, unescapeSearch(raw))
	case ParamSpecial:
		if sp.Name == "near" {
			return parseNearValue(raw)
		}
		return v, "parameter type not supported"
	default:
		return v, "parameter type not supported"
	}
	return v, ""
}

// parseReferenceValue parses a reference search value. refType comes from a
// :Type modifier.
func parseReferenceValue(sp SearchParam, refType, ref string) (Value, string) {
	v := Value{Raw: ref}
	if strings.Contains(ref, "://") || strings.HasPrefix(ref, "urn:") {
		if refType != "" {
			return v, "a reference with a :Type modifier must be an id or Type/id"
		}
		v.Exact = ref
		return v, ""
	}
	if i := strings.Index(ref, "/_history/"); i >= 0 {
		ref = ref[:i]
	}
	typ, id, found := strings.Cut(ref, "/")
	if !found {
		typ, id = "", ref
	}
	if found && !looksLikeTypeName(typ) || !searchIDOK(id) {
		return v, "invalid reference value: want Type/id, id or an absolute URL"
	}
	if refType != "" {
		if typ != "" && typ != refType {
			return v, fmt.Sprintf("reference type %s does not match the modifier :%s", typ, refType)
		}
		typ = refType
	}
	if typ == "" && len(sp.Targets) == 1 {
		typ = sp.Targets[0]
	}
	if typ != "" && len(sp.Targets) > 0 && !pathContains(sp.Targets, typ) {
		return v, fmt.Sprintf("%s is not a target type of search parameter %s", typ, sp.Name)
	}
	v.RefType, v.RefID = typ, id
	return v, ""
}

// splitPrefix splits a comparison prefix off a date, number or quantity
// value; without one the prefix is "eq".
func splitPrefix(raw string) (prefix, rest, msg string) {
	if len(raw) >= 2 && raw[0] >= 'a' && raw[0] <= 'z' && raw[1] >= 'a' && raw[1] <= 'z' {
		if !searchPrefixes[raw[:2]] {
			return "", "", "unknown prefix " + strconv.Quote(raw[:2])
		}
		return raw[:2], raw[2:], ""
	}
	return "eq", raw, ""
}

// parseSearchNumber parses a FHIR decimal: -?digits(.digits)?([eE][+-]?digits)?.
func parseSearchNumber(s string) (float64, bool) {
	i := 0
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		i++
	}
	start := i
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == start {
		return 0, false
	}
	if i < len(s) && s[i] == '.' {
		i++
		fs := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == fs {
			return 0, false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '-' || s[i] == '+') {
			i++
		}
		es := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == es {
			return 0, false
		}
	}
	if i != len(s) {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, false
	}
	return f, true
}

// splitUnescaped splits s at each sep not preceded by a backslash escape.
// Escapes are kept in the parts (unescapeSearch removes them).
func splitUnescaped(s string, sep byte) []string {
	var parts []string
	start := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case sep:
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	return append(parts, s[start:])
}

// unescapeSearch removes the backslash of the escapes \, \| \$ and \\.
func unescapeSearch(s string) string {
	if strings.IndexByte(s, '\\') < 0 {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) && strings.IndexByte(",|$\\", s[i+1]) >= 0 {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// NearDefaultKm is the distance of a near search that gives none (R4 leaves
// it to the server): 25 km, the distance socialrx looks for alternative
// programs within.
const NearDefaultKm = 25.0

// NearMaxKm is the largest distance a near search may ask for. The store
// compares distances on a local flat projection of the earth
// (sqlstore.nearCond), which is within 1% up to this distance away from the
// poles.
const NearMaxKm = 500.0

// nearUnits are the distance units near accepts (UCUM codes and the plain
// words clients send), in kilometres.
var nearUnits = map[string]float64{"": 1, "km": 1, "m": 0.001, "[mi_i]": 1.609344, "mi": 1.609344}

// parseNearValue parses R4's near value: latitude|longitude|distance|units
// (decimal degrees, WGS84; units km when missing, distance NearDefaultKm
// when missing).
func parseNearValue(raw string) (Value, string) {
	v := Value{Raw: raw}
	parts := strings.Split(raw, "|")
	if len(parts) < 2 || len(parts) > 4 {
		return v, "invalid near value: want latitude|longitude|distance|units"
	}
	lat, ok1 := parseSearchNumber(parts[0])
	lon, ok2 := parseSearchNumber(parts[1])
	if !ok1 || !ok2 || lat < -90 || lat > 90 || lon < -180 || lon > 180 {
		return v, "invalid near value: latitude must be -90..90 and longitude -180..180 (decimal degrees)"
	}
	v.Lat, v.Lon, v.DistanceKm = lat, lon, NearDefaultKm
	unit := ""
	if len(parts) == 4 {
		unit = parts[3]
	}
	if _, ok := nearUnits[unit]; !ok {
		return v, "invalid near value: units must be km, m or [mi_i]"
	}
	if len(parts) >= 3 && parts[2] != "" {
		d, ok := NearDistanceKm(parts[2], unit)
		if !ok {
			return v, fmt.Sprintf("invalid near value: the distance must be a number from 0 to %g km", NearMaxKm)
		}
		v.DistanceKm = d
	}
	return v, ""
}

// NearDistanceKm is a distance in near's terms (a number and one of its
// units: km, the default, m, [mi_i] or mi) in kilometres; ok is false when
// the unit is not one of them or the distance is not a number from 0 to
// NearMaxKm. `socialrx programs --within` reads its distances with it too.
func NearDistanceKm(number, unit string) (km float64, ok bool) {
	factor, ok := nearUnits[unit]
	if !ok {
		return 0, false
	}
	d, ok := parseSearchNumber(number)
	if !ok || d < 0 || d*factor > NearMaxKm {
		return 0, false
	}
	return d * factor, true
}
