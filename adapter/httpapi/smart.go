package httpapi

import (
	"encoding/json"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/socialrx/socialrx"
)

// SMARTConfig describes the authorisation server whose access tokens
// Config.Auth accepts, for /.well-known/smart-configuration and the
// CapabilityStatement. The zero value: none (static tokens only, or no
// authentication).
type SMARTConfig struct {
	// Issuer is the authorisation server's issuer (iss of its tokens).
	Issuer string
	// TokenEndpoint is where clients get access tokens. Without it no
	// smart-configuration is served (404): SMART requires it.
	TokenEndpoint string
	// JWKSURI is where the authorisation server publishes its keys; ""
	// when socialrx reads them from a file.
	JWKSURI string
}

// smartScopes are the scopes listed as supported: any resource type may
// stand for *, and any of c r u d s for the v2 permissions.
var smartScopes = []string{"system/*.read", "system/*.write", "system/*.*", "system/*.rs", "system/*.cruds"}

// smartConfiguration is the SMART App Launch 2.x discovery document,
// for backend services (http://hl7.org/fhir/smart-app-launch/conformance.html).
type smartConfiguration struct {
	Issuer                       string   `json:"issuer,omitempty"`
	JWKSURI                      string   `json:"jwks_uri,omitempty"`
	TokenEndpoint                string   `json:"token_endpoint"`
	TokenEndpointAuthMethods     []string `json:"token_endpoint_auth_methods_supported"`
	TokenEndpointAuthSigningAlgs []string `json:"token_endpoint_auth_signing_alg_values_supported"`
	GrantTypes                   []string `json:"grant_types_supported"`
	ScopesSupported              []string `json:"scopes_supported"`
	Capabilities                 []string `json:"capabilities"`
}

// handleSMARTConfiguration answers GET /fhir/.well-known/smart-configuration
// (and the same below the root): 404 when no authorisation server is
// configured.
func (s *Server) handleSMARTConfiguration(c echo.Context) error {
	sc := s.cfg.SMART
	if s.cfg.Auth == nil || sc.TokenEndpoint == "" {
		return errorf(socialrx.ENOTFOUND, "no SMART authorisation server is configured (see --auth-token-endpoint)")
	}
	doc := smartConfiguration{
		Issuer:                       sc.Issuer,
		JWKSURI:                      sc.JWKSURI,
		TokenEndpoint:                sc.TokenEndpoint,
		TokenEndpointAuthMethods:     []string{"private_key_jwt"},
		TokenEndpointAuthSigningAlgs: []string{"RS384", "ES384"},
		GrantTypes:                   []string{"client_credentials"},
		ScopesSupported:              smartScopes,
		Capabilities:                 []string{"client-confidential-asymmetric", "permission-v1", "permission-v2"},
	}
	out, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "max-age=3600")
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, out)
}

// Security of the CapabilityStatement (CapabilityStatement.rest.security).
type capSecurity struct {
	Extension   []capExtension   `json:"extension,omitempty"`
	CORS        bool             `json:"cors"`
	Service     []capCodeableCon `json:"service,omitempty"`
	Description string           `json:"description"`
}

type capExtension struct {
	URL       string         `json:"url"`
	ValueURI  string         `json:"valueUri,omitempty"`
	Extension []capExtension `json:"extension,omitempty"`
}

type capCodeableCon struct {
	Coding []capCoding `json:"coding"`
	Text   string      `json:"text,omitempty"`
}

type capCoding struct {
	System  string `json:"system"`
	Code    string `json:"code"`
	Display string `json:"display,omitempty"`
}

// oauthURIs is the SMART extension naming the OAuth endpoints.
const oauthURIs = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"

// security describes how the REST API authenticates.
func (s *Server) security() *capSecurity {
	const scopes = "Scopes: SMART v1 (system/Patient.read, system/*.write, system/*.*) and v2 (system/Patient.rs, system/Task.cruds); user/ scopes count as system/; patient/ and granular (?param=) scopes grant nothing. " +
		"Each route and each Bundle entry is checked against them (read, vread, instance history: r; search, type history: s, system history: s on every type; create: c; update, also one that creates: u; delete: d; conditional ones and chained parameters also need s); " +
		"_include and _revinclude results of types the scopes do not cover are left out. No token or a bad one is 401 with WWW-Authenticate; a scope that does not cover the request is 403. $process-messages takes the platforms' own bearer tokens."
	if s.cfg.Auth == nil {
		return &capSecurity{Description: "No authentication: development mode, served on a loopback address only."}
	}
	sec := &capSecurity{Description: "Bearer access tokens. " + scopes}
	if sc := s.cfg.SMART; sc.Issuer != "" {
		sec.Description = "SMART Backend Services: bearer access tokens (JWT) issued by " + sc.Issuer + ", or static API tokens. " + scopes
		sec.Service = []capCodeableCon{{Coding: []capCoding{{
			System: "http://terminology.hl7.org/CodeSystem/restful-security-service", Code: "SMART-on-FHIR", Display: "SMART-on-FHIR",
		}}, Text: "SMART Backend Services (client credentials, private_key_jwt)"}}
		if sc.TokenEndpoint != "" {
			sec.Extension = []capExtension{{URL: oauthURIs, Extension: []capExtension{{URL: "token", ValueURI: sc.TokenEndpoint}}}}
		}
	}
	return sec
}
