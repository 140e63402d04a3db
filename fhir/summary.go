package fhir

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
)

// subsettedTag is the meta.tag a server adds to a resource it returns
// incompletely (http://hl7.org/fhir/R4/search.html#summary).
const subsettedTag = `{"system":"http://terminology.hl7.org/CodeSystem/v3-ObservationValue","code":"SUBSETTED","display":"Resource encoded in summary mode"}`

// Elements returns the resource in body reduced to the top-level elements
// named in elements (as in _elements: "name", "birthDate"; a choice element
// by its base name, "value" or "value[x]", matches valueQuantity), plus
// resourceType, id, meta and the elements the type makes mandatory (min >= 1,
// as the spec asks servers to return them), each with its primitive
// extension "_x". meta.tag gets the SUBSETTED code. Kept members keep
// their bytes and order. An empty elements list returns body unchanged.
func Elements(body []byte, elements []string) ([]byte, error) {
	if len(elements) == 0 {
		return body, nil
	}
	obj, ti, err := topLevel(body)
	if err != nil {
		return nil, fmt.Errorf("elements: %w", err)
	}
	keep := append(slices.Clone(elements), "id", "meta")
	if row, ok := summaryTable[ti.name]; ok {
		keep = append(keep, row.mandatory...)
	}
	return subset(obj, ti, keep)
}

// Summary returns the resource in body as _summary=mode asks
// (http://hl7.org/fhir/R4/search.html#summary):
//   - "" and "false": body unchanged;
//   - "true": the top-level elements the R4 definitions flag isSummary and
//     the mandatory ones; each kept element is kept whole (an approximation:
//     the spec would also drop the non-summary parts inside a kept complex
//     element, which matters little as datatype elements are almost all
//     summary elements);
//   - "text": text, id, meta and the mandatory top-level elements;
//   - "data": everything but text.
//
// Every mode but "" and "false" adds the SUBSETTED meta.tag. "count" is not
// a mode for one resource and is an error, like any other value.
func Summary(body []byte, mode string) ([]byte, error) {
	switch mode {
	case "", "false":
		return body, nil
	case "true", "text", "data":
	default:
		return nil, errors.New("summary: mode must be true, text, data or false")
	}
	obj, ti, err := topLevel(body)
	if err != nil {
		return nil, fmt.Errorf("summary: %w", err)
	}
	row := summaryTable[ti.name]
	switch mode {
	case "true":
		return subset(obj, ti, slices.Concat(row.summary, row.mandatory, []string{"id", "meta"}))
	case "text":
		return subset(obj, ti, append(slices.Clone(row.mandatory), "text", "id", "meta"))
	}
	obj.Del("text")
	obj.Del("_text")
	return addSubsetted(obj)
}

// topLevel parses a resource's top-level members and finds its type.
func topLevel(body []byte) (*Object, *typeInfo, error) {
	obj, err := ParseObject(body)
	if err != nil {
		return nil, nil, err
	}
	var typ string
	if raw, ok := obj.Get("resourceType"); ok {
		_ = json.Unmarshal(raw, &typ)
	}
	ti := types().types[typ]
	if ti == nil || !ti.resource {
		return nil, nil, errors.New("not a resource of a known type")
	}
	return obj, ti, nil
}

// subset keeps resourceType and the members matching names (and their "_x").
func subset(obj *Object, ti *typeInfo, names []string) ([]byte, error) {
	for _, k := range obj.Keys() {
		key := k
		if len(key) > 1 && key[0] == '_' {
			key = key[1:]
		}
		keep := k == "resourceType"
		for _, n := range names {
			if matchesElement(ti, key, n) {
				keep = true
				break
			}
		}
		if !keep {
			obj.Del(k)
		}
	}
	return addSubsetted(obj)
}

// addSubsetted adds the SUBSETTED tag to meta.tag (once) and writes obj.
func addSubsetted(obj *Object) ([]byte, error) {
	obj.CompactLayout()
	meta := &Object{}
	if raw, ok := obj.Get("meta"); ok && string(raw) != "null" {
		var err error
		if meta, err = ParseObject(raw); err != nil {
			return nil, fmt.Errorf("meta: %w", err)
		}
	}
	var tags []json.RawMessage
	if raw, ok := meta.Get("tag"); ok {
		if err := json.Unmarshal(raw, &tags); err != nil {
			return nil, fmt.Errorf("meta.tag: %w", err)
		}
	}
	for _, tg := range tags {
		var c struct{ System, Code string }
		if json.Unmarshal(tg, &c) == nil && c.Code == "SUBSETTED" && c.System == "http://terminology.hl7.org/CodeSystem/v3-ObservationValue" {
			return obj.Bytes(), nil
		}
	}
	tags = append(tags, json.RawMessage(subsettedTag))
	var tagRaw bytes.Buffer
	tagRaw.WriteByte('[')
	for i, tg := range tags {
		if i > 0 {
			tagRaw.WriteByte(',')
		}
		tagRaw.Write(tg)
	}
	tagRaw.WriteByte(']')
	meta.Set("tag", tagRaw.Bytes())
	meta.CompactLayout()
	obj.Set("meta", meta.Bytes())
	obj.MoveFront("resourceType", "id", "meta")
	return obj.Bytes(), nil
}
