package socialrx

import "time"

// Resource is one version of a stored FHIR resource.
//
// Body is the resource JSON exactly as the server stores and serves it: the
// document as received (unknown elements, extensions, primitive extensions
// such as _birthDate, contained resources and decimal precision all kept),
// with id, meta.versionId and meta.lastUpdated set by the store. For a
// deleted version Body is nil.
type Resource struct {
	Type        string
	ID          string
	VersionID   int64
	LastUpdated time.Time
	Deleted     bool
	Body        []byte
}
