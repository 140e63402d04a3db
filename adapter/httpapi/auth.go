package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/fhir"
	"github.com/socialrx/socialrx/fhir/search"
)

// Authenticator turns the bearer token of a request into the principal it
// stands for (adapter/auth implements it). An invalid token is an
// EUNAUTHORIZED error whose message says which rule it broke; it must never
// hold the token.
type Authenticator interface {
	Authenticate(ctx context.Context, token string) (socialrx.Principal, error)
}

// access is who may call a route.
type access int

const (
	// accessToken (the zero value) requires an authenticated principal
	// when Config.Auth is set, and then what the route's need says.
	accessToken access = iota
	// accessOpen needs nothing: the CapabilityStatement.
	accessOpen
	// accessOwn is authenticated by the handler itself:
	// $process-messages, with the platforms' inbound bearer tokens.
	accessOwn
)

// Scopes and interactions (SMART App Launch 2.x, scopes-and-launch-context):
//
//	read, vread, history-instance, $prescription         r on the type
//	search-type, history-type (GET, POST _search)         s on the type
//	history-system                                         s on every type held
//	create                                                 c (If-None-Exist: s as well)
//	update, also one that creates the resource             u (conditional: s as well)
//	delete                                                 d
//	a chained parameter (subject:Patient.name=...)         s on the chained type too
//	a conditional reference in a Bundle (Patient?...)      s on that type
//	$validate                                              authentication only: it reads and stores nothing
//	transaction / batch                                    each entry as above
//
// An update that creates needs u only, as SMART says of the u scope
// ("some servers allow for an update operation to create a new instance,
// and this is allowed by the update scope"). Resources added by _include
// and _revinclude are left out of a searchset, without a word, when the
// scopes allow neither r nor s on their type. A transaction with an entry
// the scopes do not allow fails whole with 403; in a batch that entry alone
// gets 403.

// authorize is the per-route middleware of the FHIR routes: it
// authenticates the request's bearer token (when Config.Auth is set), puts
// the principal in the request's context, and checks the route's need.
func (s *Server) authorize(r route) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if r.access != accessToken {
				return next(c)
			}
			if s.cfg.Auth != nil {
				p, err := s.authenticate(c)
				if err != nil {
					return err
				}
				c.SetRequest(c.Request().WithContext(socialrx.WithPrincipal(c.Request().Context(), p)))
			}
			if err := s.require(c, r.need); err != nil {
				return err
			}
			return next(c)
		}
	}
}

// realm is the realm of the WWW-Authenticate challenges.
const realm = `Bearer realm="socialrx"`

// authenticate reads the Authorization header: no bearer token, or one the
// Authenticator refuses, is 401 with a WWW-Authenticate challenge (RFC 6750
// section 3; error="invalid_token" for a refused token).
func (s *Server) authenticate(c echo.Context) (socialrx.Principal, error) {
	r := c.Request()
	scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	tok = strings.TrimSpace(tok)
	if !strings.EqualFold(scheme, "Bearer") || tok == "" {
		c.Response().Header().Set("WWW-Authenticate", realm)
		return socialrx.Principal{}, errorf(socialrx.EUNAUTHORIZED, "a bearer access token is required (Authorization: Bearer ...)")
	}
	p, err := s.cfg.Auth.Authenticate(r.Context(), tok)
	if err != nil {
		if socialrx.ErrorCode(err) != socialrx.EUNAUTHORIZED {
			return socialrx.Principal{}, err
		}
		msg := socialrx.ErrorMessage(err)
		c.Response().Header().Set("WWW-Authenticate", realm+`, error="invalid_token", error_description="`+quotable(msg)+`"`)
		s.log.InfoContext(r.Context(), "access token refused", "request_id", requestIDOf(c), "route", routeOf(c), "reason", msg)
		return socialrx.Principal{}, errorf(socialrx.EUNAUTHORIZED, "%s", msg)
	}
	return p, nil
}

// quotable makes s fit a quoted-string of an auth-param.
func quotable(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '"' || r == '\\' || r < 0x20 || r > 0x7e {
			return '\''
		}
		return r
	}, s)
}

// require checks that the principal may do each of need on the route's
// :type, or, on a route without one (system history), on every type the
// server holds. A type this server does not hold is left to the handler
// (404).
func (s *Server) require(c echo.Context, need []socialrx.Interaction) error {
	p := socialrx.PrincipalFrom(c.Request().Context())
	if p.Access == nil || len(need) == 0 {
		return nil
	}
	typ := c.Param("type")
	for _, i := range need {
		if typ == "" {
			for _, t := range fhir.SupportedTypes() {
				if !p.Permits(i, t) {
					return forbiddenError(i, "*")
				}
			}
			continue
		}
		if checkType(typ) != nil {
			return nil
		}
		if !p.Permits(i, typ) {
			return forbiddenError(i, typ)
		}
	}
	return nil
}

// forbiddenErr is the 403 of a scope that does not cover a request. The
// error handler adds the insufficient_scope challenge (RFC 6750 section
// 3.1) naming scope, the scope that would have allowed it ("" when no one
// scope would: the challenge then names none).
type forbiddenErr struct {
	se    *socialrx.Error
	scope string
}

func (e *forbiddenErr) Error() string { return e.se.Error() }
func (e *forbiddenErr) Unwrap() error { return e.se }

// challenge returns the WWW-Authenticate value of a 403 answering err:
// every 403 is about scopes (EFORBIDDEN has no other use), so each gets
// error="insufficient_scope", with the scope that would have allowed the
// request when err says (forbiddenErr).
func challenge(err error) string {
	var fe *forbiddenErr
	if !errors.As(err, &fe) || fe.scope == "" {
		return realm + `, error="insufficient_scope"`
	}
	return realm + `, error="insufficient_scope", scope="` + fe.scope + `"`
}

// scopeError is a 403 saying msg, whose challenge names scope, one that
// would allow the request.
func scopeError(scope, msg string) *forbiddenErr {
	return &forbiddenErr{scope: scope, se: &socialrx.Error{Code: socialrx.EFORBIDDEN, Message: msg, Issues: []socialrx.Issue{{
		Severity: socialrx.SeverityError, Code: "forbidden", Message: msg,
	}}}}
}

// interactionNames are the words of a 403's message.
var interactionNames = map[socialrx.Interaction]string{
	socialrx.InteractionCreate: "create",
	socialrx.InteractionRead:   "read",
	socialrx.InteractionUpdate: "update",
	socialrx.InteractionDelete: "delete",
	socialrx.InteractionSearch: "search",
}

// forbiddenError is the 403 of interaction i on typ ("*": every type).
func forbiddenError(i socialrx.Interaction, typ string) *forbiddenErr {
	scope := fmt.Sprintf("system/%s.%c", typ, i)
	on := typ
	if typ == "*" {
		on = "every resource type"
	}
	return scopeError(scope, fmt.Sprintf("the access token's scopes do not allow %s on %s (this needs %s)", interactionNames[i], on, scope))
}

// permit is nil when the context's principal may do i on typ, else a 403.
func permit(ctx context.Context, i socialrx.Interaction, typ string) error {
	if socialrx.PrincipalFrom(ctx).Permits(i, typ) {
		return nil
	}
	return forbiddenError(i, typ)
}

// permitSearch checks a search of typ with params (a search, a
// conditional create, update or reference): s on typ and on every type a
// chained parameter searches.
func permitSearch(ctx context.Context, typ string, params url.Values) error {
	p := socialrx.PrincipalFrom(ctx)
	if p.Access == nil {
		return nil
	}
	if err := permit(ctx, socialrx.InteractionSearch, typ); err != nil {
		return err
	}
	q, _ := search.ParseQuery(typ, params, false)
	if q == nil {
		return nil
	}
	for _, cl := range q.Clauses {
		if cl.Chain != nil {
			if err := permit(ctx, socialrx.InteractionSearch, cl.Chain.Type); err != nil {
				return err
			}
		}
	}
	return nil
}

// visible leaves out of sr the resources _include and _revinclude added
// whose type the principal may neither read nor search.
func visible(ctx context.Context, sr *socialrx.SearchResult) {
	p := socialrx.PrincipalFrom(ctx)
	if p.Access == nil || len(sr.Included) == 0 {
		return
	}
	kept := sr.Included[:0:0]
	for _, m := range sr.Included {
		if p.Permits(socialrx.InteractionRead, m.Type) || p.Permits(socialrx.InteractionSearch, m.Type) {
			kept = append(kept, m)
		}
	}
	sr.Included = kept
}

// permitOp checks one transaction or batch entry as its own request would
// be checked.
func permitOp(ctx context.Context, o *op) error {
	if socialrx.PrincipalFrom(ctx).Access == nil {
		return nil
	}
	switch o.kind {
	case opRead, opVRead:
		return permit(ctx, socialrx.InteractionRead, o.typ)
	case opSearch:
		return permitSearch(ctx, o.typ, o.cond)
	case opCreate, opUpdate, opPatch:
		i := socialrx.InteractionCreate
		if o.kind != opCreate {
			i = socialrx.InteractionUpdate
		}
		if err := permit(ctx, i, o.typ); err != nil {
			return err
		}
		if o.cond != nil {
			return permitSearch(ctx, o.typ, o.cond)
		}
	case opDelete:
		if err := permit(ctx, socialrx.InteractionDelete, o.typ); err != nil {
			return err
		}
		if o.cond != nil {
			return permitSearch(ctx, o.typ, o.cond)
		}
	}
	return nil
}
