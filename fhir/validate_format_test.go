package fhir

import "testing"

func TestPrimitiveFormats(t *testing.T) {
	tests := []struct {
		typ   string
		value string
		ok    bool
	}{
		{"date", "2020", true}, {"date", "2020-02", true}, {"date", "2020-02-29", true},
		{"date", "2021-02-29", false}, {"date", "2020-13", false}, {"date", "0000", false},
		{"date", "2020-1-01", false}, {"date", "2020-01-01T00:00:00Z", false},
		{"dateTime", "2020", true}, {"dateTime", "2020-01-01T10:00:00Z", true},
		{"dateTime", "2020-01-01T10:00:00.123+14:00", true}, {"dateTime", "2020-01-01T10:00:00", false},
		{"dateTime", "2020-01-01T10:00Z", false}, {"dateTime", "2020-01-01T24:00:00Z", false},
		{"dateTime", "2020-01T10:00:00Z", false}, {"dateTime", "2020-01-01T10:00:00+14:30", false},
		{"instant", "2020-01-01T10:00:00Z", true}, {"instant", "2020-01-01", false},
		{"instant", "2020-01-01T10:00:00.Z", false},
		{"time", "10:00:00", true}, {"time", "23:59:60.5", true}, {"time", "10:00", false}, {"time", "10:00:00Z", false},
		{"id", "a-B.9", true}, {"id", "a_b", false}, {"id", "", false},
		{"code", "a b", true}, {"code", "a  b", false}, {"code", "a ", false}, {"code", "a\tb", false},
		{"uri", "http://x/y?z", true}, {"uri", "http://x/ y", false}, {"uri", "urn:x\u00a0y", false},
		{"oid", "urn:oid:1.2.3", true}, {"oid", "urn:oid:1.02", false}, {"oid", "urn:oid:3.1", false}, {"oid", "1.2.3", false},
		{"uuid", "urn:uuid:c757873d-ec9a-4326-a141-556f43239520", true},
		{"uuid", "urn:uuid:C757873D-EC9A-4326-A141-556F43239520", false},
		{"base64Binary", "aGVsbG8=", true}, {"base64Binary", "aGVs bG8=", true}, {"base64Binary", "aGVsbG8", false},
		{"base64Binary", "aG=sbG8=", false}, {"base64Binary", "a$==", false},
	}
	check := map[string]func([]byte) bool{
		"date": validDate, "dateTime": validDateTime, "instant": validInstant, "time": validTime,
		"id": validIDBytes, "code": validCode, "uri": validURI, "oid": validOID, "uuid": validUUID,
		"base64Binary": validBase64,
	}
	for _, tt := range tests {
		if got := check[tt.typ]([]byte(tt.value)); got != tt.ok {
			t.Errorf("%s %q: valid = %v, want %v", tt.typ, tt.value, got, tt.ok)
		}
	}
}

func TestCheckInteger(t *testing.T) {
	tests := []struct {
		raw  string
		kind primKind
		ok   bool
	}{
		{"0", primInteger, true}, {"-2147483648", primInteger, true}, {"2147483647", primInteger, true},
		{"2147483648", primInteger, false}, {"1.0", primInteger, false}, {"1e2", primInteger, false},
		{"0", primPositiveInt, false}, {"1", primPositiveInt, true},
		{"0", primUnsignedInt, true}, {"-1", primUnsignedInt, false},
	}
	for _, tt := range tests {
		if got := checkInteger([]byte(tt.raw), tt.kind); got != tt.ok {
			t.Errorf("checkInteger(%s, %d) = %v, want %v", tt.raw, tt.kind, got, tt.ok)
		}
	}
}

func TestValidID(t *testing.T) {
	for id, want := range map[string]bool{"a": true, "A-1.b": true, "": false, "a/b": false, string(make([]byte, 65)): false} {
		if got := ValidID(id); got != want {
			t.Errorf("ValidID(%q) = %v, want %v", id, got, want)
		}
	}
}
