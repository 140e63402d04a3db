package fhir

import (
	"strconv"
	"unicode"
	"unicode/utf8"
)

// Primitive formats of FHIR R4 (http://hl7.org/fhir/R4/datatypes.html), as
// hand-written checks equivalent to the regular expressions of the R4 JSON
// schema, plus the calendar check the spec asks for ("Dates SHALL be valid
// dates"). They take the unescaped string content.

func decDigit(c byte) bool { return c >= '0' && c <= '9' }

func allDigits(s []byte, n int) bool {
	if len(s) < n {
		return false
	}
	for i := 0; i < n; i++ {
		if !decDigit(s[i]) {
			return false
		}
	}
	return true
}

func twoDigits(s []byte) int { return int(s[0]-'0')*10 + int(s[1]-'0') }

func monthDays(year, month int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// datePart checks YYYY, YYYY-MM or YYYY-MM-DD at the start of s and returns
// the number of bytes used and how many parts (1..3) were present.
func datePart(s []byte) (n, parts int, ok bool) {
	if !allDigits(s, 4) || string(s[:4]) == "0000" {
		return 0, 0, false
	}
	year, _ := strconv.Atoi(string(s[:4]))
	if len(s) == 4 || s[4] != '-' {
		return 4, 1, true
	}
	if !allDigits(s[5:], 2) {
		return 0, 0, false
	}
	month := twoDigits(s[5:])
	if month < 1 || month > 12 {
		return 0, 0, false
	}
	if len(s) == 7 || s[7] != '-' {
		return 7, 2, true
	}
	if !allDigits(s[8:], 2) {
		return 0, 0, false
	}
	day := twoDigits(s[8:])
	if day < 1 || day > monthDays(year, month) {
		return 0, 0, false
	}
	return 10, 3, true
}

// timePart checks hh:mm:ss(.fff...)? at the start of s and returns the
// number of bytes used.
func timePart(s []byte) (int, bool) {
	if len(s) < 8 || !allDigits(s, 2) || s[2] != ':' || !allDigits(s[3:], 2) || s[5] != ':' || !allDigits(s[6:], 2) {
		return 0, false
	}
	if twoDigits(s) > 23 || twoDigits(s[3:]) > 59 || twoDigits(s[6:]) > 60 {
		return 0, false
	}
	n := 8
	if n < len(s) && s[n] == '.' {
		n++
		start := n
		for n < len(s) && decDigit(s[n]) {
			n++
		}
		if n == start {
			return 0, false
		}
	}
	return n, true
}

// zone checks Z or +hh:mm / -hh:mm (up to 14:00) as the whole of s.
func zone(s []byte) bool {
	if len(s) == 1 && s[0] == 'Z' {
		return true
	}
	if len(s) != 6 || (s[0] != '+' && s[0] != '-') || !allDigits(s[1:], 2) || s[3] != ':' || !allDigits(s[4:], 2) {
		return false
	}
	h, m := twoDigits(s[1:]), twoDigits(s[4:])
	return m <= 59 && (h < 14 || (h == 14 && m == 0))
}

func validDate(s []byte) bool {
	n, _, ok := datePart(s)
	return ok && n == len(s)
}

func validDateTime(s []byte) bool {
	n, parts, ok := datePart(s)
	if !ok {
		return false
	}
	if n == len(s) {
		return true
	}
	if parts != 3 || s[n] != 'T' {
		return false
	}
	m, ok := timePart(s[n+1:])
	return ok && zone(s[n+1+m:])
}

func validInstant(s []byte) bool {
	n, parts, ok := datePart(s)
	if !ok || parts != 3 || n == len(s) || s[n] != 'T' {
		return false
	}
	m, ok := timePart(s[n+1:])
	return ok && zone(s[n+1+m:])
}

func validTime(s []byte) bool {
	n, ok := timePart(s)
	return ok && n == len(s)
}

// ValidID reports whether id is a valid FHIR id ([A-Za-z0-9\-\.]{1,64}).
func ValidID(id string) bool { return validIDBytes([]byte(id)) }

func validIDBytes(s []byte) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || decDigit(c) || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

func fhirSpace(r rune) bool {
	return r == ' ' || r == '\t' || r == '\n' || r == '\r' || unicode.IsSpace(r)
}

// validCode: at least one character, no leading or trailing whitespace, and
// no whitespace other than single spaces inside.
func validCode(s []byte) bool {
	if len(s) == 0 {
		return false
	}
	prevSpace := true // no leading whitespace
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRune(s[i:])
		if fhirSpace(r) {
			if prevSpace || r != ' ' {
				return false
			}
			prevSpace = true
		} else {
			prevSpace = false
		}
		i += size
	}
	return !prevSpace
}

// validURI: no whitespace (uri, url, canonical).
func validURI(s []byte) bool {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRune(s[i:])
		if fhirSpace(r) {
			return false
		}
		i += size
	}
	return len(s) > 0
}

func validOID(s []byte) bool {
	const p = "urn:oid:"
	if len(s) < len(p)+3 || string(s[:len(p)]) != p {
		return false
	}
	s = s[len(p):]
	if s[0] < '0' || s[0] > '2' || s[1] != '.' {
		return false
	}
	arcs := dotArcs(s[2:])
	for _, a := range arcs {
		if len(a) == 0 || !allDigits(a, len(a)) || (len(a) > 1 && a[0] == '0') {
			return false
		}
	}
	return true
}

func dotArcs(s []byte) [][]byte {
	var out [][]byte
	start := 0
	for i, c := range s {
		if c == '.' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// validUUIDString checks the 8-4-4-4-12 hex form; lower reports whether
// only lower case hex is allowed.
func validUUIDString(s []byte, lower bool) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
			continue
		}
		if !(decDigit(c) || c >= 'a' && c <= 'f' || !lower && c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

func validUUID(s []byte) bool {
	const p = "urn:uuid:"
	return len(s) > len(p) && string(s[:len(p)]) == p && validUUIDString(s[len(p):], true)
}

// validBase64 allows whitespace between groups (as the R4 schema does).
func validBase64(s []byte) bool {
	n, pad := 0, 0
	for _, c := range s {
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			continue
		case c == '=':
			pad++
		case pad > 0:
			return false
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', decDigit(c), c == '+', c == '/':
		default:
			return false
		}
		n++
	}
	return n%4 == 0 && pad <= 2
}

// checkInteger checks the raw JSON number of an integer, positiveInt or
// unsignedInt: no fraction or exponent, 32-bit signed range, and the sign
// the type asks for.
func checkInteger(raw []byte, k primKind) bool {
	for _, c := range raw {
		if c == '.' || c == 'e' || c == 'E' {
			return false
		}
	}
	v, err := strconv.ParseInt(string(raw), 10, 32)
	if err != nil {
		return false
	}
	switch k {
	case primPositiveInt:
		return v > 0
	case primUnsignedInt:
		return v >= 0
	}
	return true
}
