// Package httpapi is the FHIR R4 REST API of socialrx, served with Echo v4.
//
// It maps HTTP onto the socialrx.Store port: read, vread, create (with
// If-None-Exist), update (with If-Match, update-as-create and conditional
// update), delete, history (instance, type, system), search (GET and POST
// _search), transaction and batch Bundles, the CapabilityStatement at
// /fhir/metadata, and /healthz, /readyz and /metrics for operators.
//
// Authentication and authorisation (auth.go): with Config.Auth set, every
// FHIR route but the CapabilityStatement and $process-messages (which takes
// the platforms' own bearer tokens) requires a bearer access token; the
// principal it stands for is put in the request's context
// (socialrx.WithPrincipal), and each route, each Bundle entry, each chained
// search parameter and each _include result is checked against its SMART
// scopes. The operations routes are then served apart (OpsHandler), and
// /.well-known/smart-configuration describes the authorisation server.
//
// Error handling follows benbjohnson/wtf: handlers return errors, and one
// HTTP error handler (error.go) maps a *socialrx.Error code to the HTTP status
// and to an OperationOutcome. Every error response, including Echo's own 404,
// 405 and 413, is an OperationOutcome.
//
// Resource types: a type that is not an R4 resource type and an R4 type that
// socialrx does not hold are both answered 404 with an OperationOutcome
// (issue code not-supported), as HAPI does for unknown types: the URL names no
// endpoint of this server. In a Bundle entry the same 404 is the entry's
// status. A resource body whose resourceType is wrong or unsupported is a 400.
//
// Logs (log/slog) carry the method, route pattern, status, duration, request
// id, resource type and id only: never bodies, query values or error
// diagnostics that might hold PHI. Internal errors are logged with their
// error text, which never holds a body.
package httpapi
