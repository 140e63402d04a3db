package fhir

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// InstantFormat is how the server writes meta.lastUpdated: UTC, microseconds
// (the resolution both stores keep), always with a fraction so that values
// sort and compare as text too.
const InstantFormat = "2006-01-02T15:04:05.000000Z"

// StampMeta returns body with id, meta.versionId and meta.lastUpdated set by
// the server. Every other member, including the rest of meta (profile,
// security, tag, source, extensions), is kept with its bytes and its order;
// resourceType, id and meta are moved to the front. body must be a JSON object.
func StampMeta(body []byte, id string, versionID int64, lastUpdated time.Time) ([]byte, error) {
	obj, err := ParseObject(body)
	if err != nil {
		return nil, fmt.Errorf("stamp meta: %w", err)
	}
	meta := &Object{}
	if raw, ok := obj.Get("meta"); ok && string(raw) != "null" {
		if meta, err = ParseObject(raw); err != nil {
			return nil, fmt.Errorf("stamp meta: meta: %w", err)
		}
	}
	vid, _ := json.Marshal(strconv.FormatInt(versionID, 10))
	lu, _ := json.Marshal(lastUpdated.UTC().Format(InstantFormat))
	meta.Set("versionId", vid)
	meta.Set("lastUpdated", lu)
	meta.MoveFront("versionId", "lastUpdated")
	// A client-sent _versionId/_lastUpdated extension describes a value that
	// is no longer there.
	meta.Del("_versionId")
	meta.Del("_lastUpdated")
	meta.CompactLayout()
	idRaw, _ := json.Marshal(id)
	obj.Set("id", idRaw)
	obj.Set("meta", meta.Bytes())
	obj.Del("_id")
	obj.MoveFront("resourceType", "id", "meta")
	obj.CompactLayout()
	return obj.Bytes(), nil
}
