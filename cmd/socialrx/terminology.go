package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/fhir/search"
	"github.com/socialrx/socialrx/mapping"
)

// seedTerminology stores socialrx's own CodeSystems and ValueSets (built
// from the Go code tables in package mapping), SearchParameters (the
// parameters socialrx defines beyond R4, search.Definitions) and the
// follow-up Questionnaire (mapping.FollowUpQuestionnaire) as resources,
// so clients can read them at /fhir/CodeSystem/<name>,
// /fhir/ValueSet/<name>, /fhir/SearchParameter/<name> and
// /fhir/Questionnaire/social-prescription-follow-up, the program report's
// Measures (mapping.Measures, /fhir/Measure/social-prescribing-effectiveness)
// and search them by url. It writes only what is missing or changed, in one
// transaction, so a restart adds no versions. It returns how many it wrote.
func seedTerminology(ctx context.Context, s socialrx.Store) (int, error) {
	type item struct {
		typ  string
		body []byte
	}
	var items []item
	for _, b := range mapping.CodeSystems() {
		items = append(items, item{"CodeSystem", b})
	}
	for _, b := range mapping.ValueSets() {
		items = append(items, item{"ValueSet", b})
	}
	for _, b := range search.Definitions() {
		items = append(items, item{"SearchParameter", b})
	}
	items = append(items, item{"Questionnaire", mapping.FollowUpQuestionnaire()})
	for _, b := range mapping.Measures() {
		items = append(items, item{"Measure", b})
	}
	written := 0
	err := s.Transact(ctx, func(tx socialrx.Tx) error {
		written = 0
		for _, it := range items {
			var head struct{ ID string }
			if err := json.Unmarshal(it.body, &head); err != nil || head.ID == "" {
				return fmt.Errorf("terminology %s without an id", it.typ)
			}
			cur, err := tx.Read(ctx, it.typ, head.ID)
			if err != nil && socialrx.ErrorCode(err) != socialrx.ENOTFOUND && socialrx.ErrorCode(err) != socialrx.EGONE {
				return err
			}
			if cur != nil && sameContent(cur.Body, it.body) {
				continue
			}
			if _, _, err := tx.Update(ctx, it.typ, head.ID, it.body, 0); err != nil {
				return fmt.Errorf("store %s/%s: %w", it.typ, head.ID, err)
			}
			written++
		}
		return nil
	})
	return written, err
}

// sameContent reports whether two resource bodies are equal but for meta.
func sameContent(a, b []byte) bool {
	da, db := decodeNoMeta(a), decodeNoMeta(b)
	return da != nil && db != nil && reflect.DeepEqual(da, db)
}

func decodeNoMeta(b []byte) map[string]any {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if dec.Decode(&m) != nil {
		return nil
	}
	delete(m, "meta")
	return m
}
