package httpapi

import (
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/socialrx/socialrx"
)

// hostSet is the set of Host header values that links may be built from
// (Config.AllowedHosts, plus loopback). A nil set allows every host: links
// then come from Config.BaseURL, never from Host.
type hostSet struct {
	anyPort map[string]bool // "name": any port
	ports   map[string]bool // "name:port"
}

// newHostSet returns the hosts cfg admits; nil when Host is not checked
// (BaseURL set, AllowedHosts empty).
func newHostSet(cfg Config) *hostSet {
	if cfg.BaseURL != "" && len(cfg.AllowedHosts) == 0 {
		return nil
	}
	hs := &hostSet{anyPort: map[string]bool{}, ports: map[string]bool{}}
	for _, h := range cfg.AllowedHosts {
		name, port, _ := parseAllowedHost(h) // checked by Validate
		if port == "" {
			hs.anyPort[name] = true
		} else {
			hs.ports[net.JoinHostPort(name, port)] = true
		}
	}
	if cfg.BaseURL != "" {
		if u, err := url.Parse(cfg.BaseURL); err == nil {
			hs.anyPort[strings.ToLower(u.Hostname())] = true // links use BaseURL: the port does not matter
		}
	}
	return hs
}

// parseAllowedHost splits an AllowedHosts entry, "name", "name:port",
// "[::1]" or "[::1]:port", into its lower-case name and port ("" for any).
func parseAllowedHost(h string) (name, port string, err error) {
	bad := socialrx.Errorf(socialrx.EINVALID, "httpapi: allowed host %q: want a host name or address, optionally with :port (no scheme, no path)", h)
	if h == "" || strings.ContainsAny(h, "/?#@ *") {
		return "", "", bad
	}
	name, port = splitHost(h)
	if name == "" {
		return "", "", bad
	}
	return name, port, nil
}

// splitHost splits a Host header value into its lower-case name (without
// brackets or a trailing dot) and port ("" when absent).
func splitHost(h string) (name, port string) {
	if n, p, err := net.SplitHostPort(h); err == nil {
		name, port = n, p
	} else {
		name = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
	}
	return strings.TrimSuffix(strings.ToLower(name), "."), port
}

// IsLoopbackRequestHost reports whether a Host header value names a
// loopback host (IsLoopbackHost of its name, read as splitHost reads it:
// any port, brackets, case and a trailing dot).
func IsLoopbackRequestHost(h string) bool {
	name, _ := splitHost(h)
	return name != "" && IsLoopbackHost(name)
}

func portOr(port string, tls bool) string {
	switch {
	case port != "":
		return port
	case tls:
		return "443"
	}
	return "80"
}

// allows reports whether links may be built from the request's Host.
func (hs *hostSet) allows(r *http.Request) bool {
	if hs == nil {
		return true
	}
	name, port := splitHost(r.Host)
	if name == "" {
		return false
	}
	if IsLoopbackHost(name) || hs.anyPort[name] {
		return true
	}
	return hs.ports[net.JoinHostPort(name, portOr(port, r.TLS != nil))]
}

// IsLoopbackHost reports whether name (a host, without port) is this
// machine only by name: localhost and its subdomains (RFC 6761), or a
// loopback IP (127.0.0.0/8, ::1). The rule for links (Host). Where serve
// may listen without authentication also needs such a name to resolve to
// loopback addresses only (cmd/socialrx LoopbackListen): a Host header
// is only a name, a listen address is where the socket goes.
func IsLoopbackHost(name string) bool {
	name = strings.ToLower(name)
	if name == "localhost" || strings.HasSuffix(name, ".localhost") {
		return true
	}
	ip := net.ParseIP(name)
	return ip != nil && ip.IsLoopback()
}

// checkHost answers 421 Misdirected Request to a /fhir request whose Host
// is not one links may be built from (Config.AllowedHosts): the server
// would otherwise echo a host the client chose in Location, fullUrl and
// paging links. Health and metrics carry no links and are not checked.
func (s *Server) checkHost(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if (r.URL.Path == "/fhir" || strings.HasPrefix(r.URL.Path, "/fhir/")) && !s.hosts.allows(r) {
			const msg = "this server does not answer for the Host of the request; its operator can list the host (--allowed-hosts) or set the public URL (--base-url)"
			return &statusError{status: http.StatusMisdirectedRequest, err: &socialrx.Error{
				Code: socialrx.EINVALID, Message: msg,
				Issues: []socialrx.Issue{{Severity: socialrx.SeverityError, Code: "not-supported", Message: msg}},
			}}
		}
		return next(c)
	}
}
