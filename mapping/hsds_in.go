package mapping

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/socialrx/socialrx"
)

// HSDS 3.0 -> FHIR R4, following the HL7 Human Services Directory IG
// (http://hl7.org/fhir/us/hsds; its HSDS mapping page):
//
//	HSDS organization        -> Organization (identifier, name, alias, telecom: website, email, phones)
//	HSDS service             -> HealthcareService (identifier, active from status, providedBy,
//	                            category: need domains, type: taxonomy terms, name, comment,
//	                            extraDetails: application process, telecom, location: its
//	                            service_at_locations, communication: languages, eligibility,
//	                            program, availableTime: weekly schedules, and socialrx extensions
//	                            last-verified, cost and capacity)
//	HSDS location            -> Location (identifier, status active, name, alias, description,
//	                            mode instance, telecom, address: the first physical address,
//	                            position from latitude/longitude, managingOrganization)
//	HSDS service_at_location -> HealthcareService.location
//
// Ids are derived from HSDS ids (HSDSResourceID), so a re-import updates
// the same resources. The mapping is pure (no clock): a service with no
// assured_date and no last_modified has no last-verified extension, and
// counts as never verified.

// Canonical URLs socialrx uses in the resources it maps from HSDS.
const (
	// HSDSIdentifierSystem is the identifier system of the HSDS id, one per
	// object kind: HSDSIdentifierSystem + "service" etc.
	HSDSIdentifierSystem = "http://socialrx.dev/fhir/NamingSystem/hsds-"
	// ExtLastVerified is the date a program's details were last checked
	// (HSDS assured_date, else the date of last_modified), valueDate.
	ExtLastVerified = "http://socialrx.dev/fhir/StructureDefinition/last-verified"
	// ExtCost is the program's cost in words (HSDS fees_description and
	// cost_options), valueString.
	ExtCost = "http://socialrx.dev/fhir/StructureDefinition/cost"
	// ExtCapacity is the program's capacity: sub-extensions status
	// (valueCode has-capacity | wait-list | no-capacity), available and
	// maximum (valueDecimal), unit (valueString), date (valueDateTime).
	// The SDOH Clinical Care 3.0 draft's capacity extension was not found
	// in the published IG material on this machine; socialrx uses its own
	// URL until that one is final (docs/mapping.md).
	ExtCapacity = "http://socialrx.dev/fhir/StructureDefinition/capacity"
	// hsdsTaxonomySystem is the system of a taxonomy term that has no
	// term_uri: hsdsTaxonomySystem + the taxonomy's name.
	hsdsTaxonomySystem = "http://socialrx.dev/fhir/CodeSystem/hsds-taxonomy/"
	systemBCP47        = "urn:ietf:bcp:47"
)

// HSDSResource is one FHIR resource mapped from HSDS.
type HSDSResource struct {
	Type   string
	ID     string
	Body   []byte
	Source string // where its HSDS record came from
	HSDSID string
}

var fhirIDPattern = regexp.MustCompile(`^[A-Za-z0-9\-.]{1,59}$`)

// HSDSResourceID is the FHIR id of the resource mapped from the HSDS object
// with id hsdsID: "hsds-" + the id when it is a valid FHIR id (HSDS ids are
// UUIDs), else "hsds-" + 40 hex digits of its SHA-256. Types do not share
// ids in FHIR, so an organization and a service with one HSDS id are
// Organization/hsds-x and HealthcareService/hsds-x.
func HSDSResourceID(hsdsID string) string {
	if fhirIDPattern.MatchString(hsdsID) {
		return "hsds-" + hsdsID
	}
	sum := sha256.Sum256([]byte(hsdsID))
	return "hsds-" + hex.EncodeToString(sum[:])[:40]
}

// Resources maps the directory to FHIR: Organizations first, then
// Locations, then HealthcareServices (so references resolve in that order),
// each in the order added, and the records left out with their reasons.
// A record that fails a check (a missing name, a latitude outside -90..90,
// a phone that is not a phone number...) is left out and reported; the
// rest go on. A phone, language or schedule that fails is left out of its
// parent, which is kept. A service keeps only the locations that were
// mapped, and those this dataset leaves out or rejects that are stored
// (Stored): a bad record never drops what an earlier import stored.
func (d *HSDSDirectory) Resources() ([]HSDSResource, []HSDSReject) {
	d.attach()
	var out []HSDSResource
	orgOK := map[string]string{} // hsds id -> name
	for _, id := range d.orgs.order {
		o := d.orgs.byID[id]
		res, ok := d.mapOrganization(o.src, o.v)
		if ok {
			out = append(out, res)
			orgOK[id] = strings.TrimSpace(o.v.Name)
		}
	}
	locOK := map[string]bool{}
	for _, id := range d.locs.order {
		l := d.locs.byID[id]
		res, ok := d.mapLocation(l.src, l.v, orgOK)
		if ok {
			out = append(out, res)
			locOK[id] = true
		}
	}
	salsOf := map[string][]HSDSServiceAtLocation{}
	for _, id := range d.sals.order {
		sal := d.sals.byID[id]
		if _, ok := d.services.byID[sal.v.ServiceID]; !ok {
			d.Reject(sal.src, "service_at_location", sal.v.ID, "service "+sal.v.ServiceID+" is not in the dataset")
			continue
		}
		// A location this dataset leaves out or rejects that an earlier
		// import stored: the service keeps referring to the stored one
		// (the Location's own reject says why it was not updated).
		if !locOK[sal.v.LocationID] && !d.isStored("Location/"+HSDSResourceID(sal.v.LocationID)) {
			reason := "location " + sal.v.LocationID + " is not in the dataset"
			if _, ok := d.locs.byID[sal.v.LocationID]; ok {
				reason = "location " + sal.v.LocationID + " was rejected"
			}
			d.Reject(sal.src, "service_at_location", sal.v.ID, reason)
			continue
		}
		salsOf[sal.v.ServiceID] = append(salsOf[sal.v.ServiceID], sal.v)
	}
	d.endpoints = map[string]madeEndpoint{}
	for _, id := range d.services.order {
		s := d.services.byID[id]
		res, endpoints, ok := d.mapService(s.src, s.v, orgOK, salsOf[id])
		if ok {
			out = append(out, endpoints...)
			out = append(out, res)
		}
	}
	return out, d.rejects
}

// FHIR JSON shapes written by the HSDS mapping.
type (
	hsIdentifier struct {
		System string `json:"system"`
		Value  string `json:"value"`
	}
	hsRef struct {
		Reference string `json:"reference"`
		Display   string `json:"display,omitempty"`
	}
	hsCoding struct {
		System  string `json:"system,omitempty"`
		Code    string `json:"code,omitempty"`
		Display string `json:"display,omitempty"`
	}
	hsConcept struct {
		Coding []hsCoding `json:"coding,omitempty"`
		Text   string     `json:"text,omitempty"`
	}
	hsTelecom struct {
		System string `json:"system"`
		Value  string `json:"value"`
		Use    string `json:"use,omitempty"`
	}
	hsExtension struct {
		URL           string        `json:"url"`
		ValueDate     string        `json:"valueDate,omitempty"`
		ValueDateTime string        `json:"valueDateTime,omitempty"`
		ValueString   string        `json:"valueString,omitempty"`
		ValueCode     string        `json:"valueCode,omitempty"`
		ValueDecimal  *json.Number  `json:"valueDecimal,omitempty"`
		Extension     []hsExtension `json:"extension,omitempty"`
	}
	hsAddress struct {
		Use        string   `json:"use,omitempty"`
		Type       string   `json:"type,omitempty"`
		Line       []string `json:"line,omitempty"`
		City       string   `json:"city,omitempty"`
		District   string   `json:"district,omitempty"`
		State      string   `json:"state,omitempty"`
		PostalCode string   `json:"postalCode,omitempty"`
		Country    string   `json:"country,omitempty"`
	}
	hsPosition struct {
		Longitude json.Number `json:"longitude"`
		Latitude  json.Number `json:"latitude"`
	}
	hsAvailableTime struct {
		DaysOfWeek         []string `json:"daysOfWeek,omitempty"`
		AllDay             *bool    `json:"allDay,omitempty"`
		AvailableStartTime string   `json:"availableStartTime,omitempty"`
		AvailableEndTime   string   `json:"availableEndTime,omitempty"`
	}
	hsEligibility struct {
		Code    *hsConcept `json:"code,omitempty"`
		Comment string     `json:"comment,omitempty"`
	}
)

type hsOrganization struct {
	ResourceType string         `json:"resourceType"`
	Identifier   []hsIdentifier `json:"identifier"`
	Active       bool           `json:"active"`
	Name         string         `json:"name"`
	Alias        []string       `json:"alias,omitempty"`
	Telecom      []hsTelecom    `json:"telecom,omitempty"`
}

type hsLocation struct {
	ResourceType         string         `json:"resourceType"`
	Identifier           []hsIdentifier `json:"identifier"`
	Status               string         `json:"status"`
	Name                 string         `json:"name,omitempty"`
	Alias                []string       `json:"alias,omitempty"`
	Description          string         `json:"description,omitempty"`
	Mode                 string         `json:"mode"`
	Telecom              []hsTelecom    `json:"telecom,omitempty"`
	Address              *hsAddress     `json:"address,omitempty"`
	Position             *hsPosition    `json:"position,omitempty"`
	ManagingOrganization *hsRef         `json:"managingOrganization,omitempty"`
}

type hsService struct {
	ResourceType           string            `json:"resourceType"`
	Extension              []hsExtension     `json:"extension,omitempty"`
	Identifier             []hsIdentifier    `json:"identifier"`
	Active                 bool              `json:"active"`
	ProvidedBy             *hsRef            `json:"providedBy,omitempty"`
	Category               []hsConcept       `json:"category,omitempty"`
	Type                   []hsConcept       `json:"type,omitempty"`
	Location               []hsRef           `json:"location,omitempty"`
	Name                   string            `json:"name"`
	Comment                string            `json:"comment,omitempty"`
	ExtraDetails           string            `json:"extraDetails,omitempty"`
	Telecom                []hsTelecom       `json:"telecom,omitempty"`
	Eligibility            []hsEligibility   `json:"eligibility,omitempty"`
	Program                []hsConcept       `json:"program,omitempty"`
	Communication          []hsConcept       `json:"communication,omitempty"`
	AvailableTime          []hsAvailableTime `json:"availableTime,omitempty"`
	AvailabilityExceptions string            `json:"availabilityExceptions,omitempty"`
	Endpoint               []hsRef           `json:"endpoint,omitempty"`
}

func (d *HSDSDirectory) mapOrganization(src string, o HSDSOrganization) (HSDSResource, bool) {
	name := strings.TrimSpace(o.Name)
	if name == "" {
		d.Reject(src, "organization", o.ID, "name is missing")
		return HSDSResource{}, false
	}
	r := hsOrganization{ResourceType: "Organization", Active: true, Name: name,
		Identifier: []hsIdentifier{{System: HSDSIdentifierSystem + "organization", Value: o.ID}}}
	if a := strings.TrimSpace(o.AlternateName); a != "" {
		r.Alias = []string{a}
	}
	r.Telecom = d.telecoms(src, o.Phones, o.Email, o.Website, "organization", o.ID)
	return d.resource("Organization", src, o.ID, r)
}

func (d *HSDSDirectory) mapLocation(src string, l HSDSLocation, orgs map[string]string) (HSDSResource, bool) {
	reject := func(reason string) (HSDSResource, bool) {
		d.Reject(src, "location", l.ID, reason)
		return HSDSResource{}, false
	}
	switch {
	case l.Latitude.Bad != "" || l.Longitude.Bad != "":
		return reject("latitude or longitude is not a number")
	case l.Latitude.Set != l.Longitude.Set:
		return reject("latitude and longitude must be given together")
	case l.Latitude.Set && (l.Latitude.Value < -90 || l.Latitude.Value > 90):
		return reject("latitude " + strconv.FormatFloat(l.Latitude.Value, 'f', -1, 64) + " is outside -90..90")
	case l.Longitude.Set && (l.Longitude.Value < -180 || l.Longitude.Value > 180):
		return reject("longitude " + strconv.FormatFloat(l.Longitude.Value, 'f', -1, 64) + " is outside -180..180")
	}
	switch l.LocationType {
	case "", "physical", "postal", "virtual":
	default:
		return reject("location_type must be physical, postal or virtual")
	}
	r := hsLocation{ResourceType: "Location", Status: "active", Mode: "instance",
		Identifier:  []hsIdentifier{{System: HSDSIdentifierSystem + "location", Value: l.ID}},
		Name:        strings.TrimSpace(l.Name),
		Description: strings.TrimSpace(l.Description)}
	if a := strings.TrimSpace(l.AlternateName); a != "" {
		r.Alias = []string{a}
	}
	if l.Latitude.Set {
		r.Position = &hsPosition{Latitude: jsonNum(l.Latitude.Value), Longitude: jsonNum(l.Longitude.Value)}
	}
	r.Telecom = d.telecoms(src, l.Phones, "", "", "location", l.ID)
	if a := firstAddress(l.Addresses); a != nil {
		r.Address = a
	}
	if ref, ok := d.orgRef(l.OrganizationID, orgs); ok {
		r.ManagingOrganization = ref
	}
	if r.Name == "" && r.Address == nil && r.Position == nil {
		return reject("a location needs a name, an address or a position")
	}
	return d.resource("Location", src, l.ID, r)
}

// mapService maps a service to a HealthcareService, and its referral
// endpoints (attributes of the Endpoint connection-type code system) to
// Endpoints it references.
func (d *HSDSDirectory) mapService(src string, s HSDSService, orgs map[string]string, sals []HSDSServiceAtLocation) (HSDSResource, []HSDSResource, bool) {
	reject := func(reason string) (HSDSResource, []HSDSResource, bool) {
		d.Reject(src, "service", s.ID, reason)
		return HSDSResource{}, nil, false
	}
	name := strings.TrimSpace(s.Name)
	if name == "" {
		return reject("name is missing")
	}
	active := true
	switch strings.ToLower(strings.TrimSpace(s.Status)) {
	case "", "active":
	case "inactive", "defunct", "temporarily closed":
		active = false
	default:
		return reject("status must be active, inactive, defunct or temporarily closed")
	}
	r := hsService{ResourceType: "HealthcareService", Active: active, Name: name,
		Identifier:   []hsIdentifier{{System: HSDSIdentifierSystem + "service", Value: s.ID}},
		Comment:      strings.TrimSpace(s.Description),
		ExtraDetails: strings.TrimSpace(s.ApplicationProcess)}
	if verified, ok := lastVerified(s.AssuredDate, s.LastModified); ok {
		r.Extension = append(r.Extension, hsExtension{URL: ExtLastVerified, ValueDate: verified})
	} else if s.AssuredDate != "" || s.LastModified != "" {
		return reject("assured_date or last_modified is not a date")
	}
	if cost := costText(s); cost != "" {
		r.Extension = append(r.Extension, hsExtension{URL: ExtCost, ValueString: cost})
	}
	for _, c := range s.Capacities {
		ext, err := capacityExtension(c)
		if err != "" {
			d.Reject(or(c.src, src), "service_capacity", c.ID, err)
			continue
		}
		r.Extension = append(r.Extension, ext)
	}
	if ref, ok := d.orgRef(s.OrganizationID, orgs); ok {
		r.ProvidedBy = ref
	}
	var terms []HSDSTaxonomyTerm
	var endpoints []HSDSResource
	for _, a := range s.Attributes {
		t := a.TaxonomyTerm
		if t == nil {
			if tt, ok := d.terms[a.TaxonomyTermID]; ok {
				t = &tt
			}
		}
		if t == nil {
			continue
		}
		if isEndpointTerm(*t) {
			ep, reason := referralEndpoint(s, a, *t, r.ProvidedBy)
			if reason != "" {
				d.Reject(src, "attribute", a.ID, reason)
				continue
			}
			// One attribute (one id) may name the intake endpoint of several
			// services, an agency's single eReferral address: the Endpoint is
			// made once and each service references it. The same id with
			// another address or type is a conflict: the later attribute is
			// rejected, so that no batch holds one Endpoint id twice.
			epID := HSDSResourceID(ep.Identifier[0].Value)
			if prev, seen := d.endpoints[epID]; seen {
				if prev.address != ep.Address || prev.code != ep.ConnectionType.Code {
					d.Reject(src, "attribute", a.ID, "attribute id already names the referral endpoint of service "+prev.service+" with another address or connection type")
					continue
				}
				r.Endpoint = append(r.Endpoint, hsRef{Reference: "Endpoint/" + epID})
				continue
			}
			res, ok := d.resource("Endpoint", src, ep.Identifier[0].Value, ep)
			if ok {
				d.endpoints[epID] = madeEndpoint{address: ep.Address, code: ep.ConnectionType.Code, service: s.ID}
				endpoints = append(endpoints, res)
				r.Endpoint = append(r.Endpoint, hsRef{Reference: "Endpoint/" + res.ID})
			}
			continue
		}
		terms = append(terms, *t)
	}
	for _, dom := range ServiceNeedDomains(terms, name) {
		r.Category = append(r.Category, hsConcept{Coding: []hsCoding{{System: needDomainSystem, Code: string(dom), Display: dom.Display()}}})
	}
	for _, t := range terms {
		r.Type = append(r.Type, taxonomyConcept(t))
	}
	seen := map[string]bool{}
	for _, sal := range sals {
		ref := "Location/" + HSDSResourceID(sal.LocationID)
		if !seen[ref] {
			seen[ref] = true
			r.Location = append(r.Location, hsRef{Reference: ref})
		}
	}
	r.Telecom = d.telecoms(src, s.Phones, s.Email, s.URL, "service", s.ID)
	if e := strings.TrimSpace(s.EligibilityDescription); e != "" {
		r.Eligibility = []hsEligibility{{Code: &hsConcept{Text: "Eligibility"}, Comment: e}}
	}
	if s.Program != nil && strings.TrimSpace(s.Program.Name) != "" {
		r.Program = []hsConcept{{Text: strings.TrimSpace(s.Program.Name)}}
	}
	for _, l := range s.Languages {
		c, ok := languageConcept(l)
		if !ok {
			d.Reject(or(l.src, src), "language", l.ID, "code is not a BCP 47 language tag and there is no name")
			continue
		}
		r.Communication = append(r.Communication, c)
	}
	schedules := s.Schedules
	for _, sal := range sals {
		schedules = append(schedules, sal.Schedules...)
	}
	var notes []string
	for _, sc := range schedules {
		at, ok, reason := availableTime(sc)
		if reason != "" {
			d.Reject(or(sc.src, src), "schedule", sc.ID, reason)
			continue
		}
		if ok {
			r.AvailableTime = append(r.AvailableTime, at)
		}
		if t := strings.TrimSpace(sc.Description); t != "" {
			notes = append(notes, t)
		}
	}
	r.AvailabilityExceptions = strings.Join(notes, " ")
	res, ok := d.resource("HealthcareService", src, s.ID, r)
	if !ok {
		return res, nil, false
	}
	return res, endpoints, true
}

// EndpointConnectionTypeSystem is R4's Endpoint.connectionType code
// system. An HSDS attribute of a service whose taxonomy term is one of
// its codes (taxonomy or term_uri naming this system) and whose value is
// an http(s) URL says the service takes referrals there: socialrx maps it
// to an Endpoint the HealthcareService references, which is what makes a
// prescription to it a warm hand-off by eReferral (docs/mapping.md, "Form
// and channel").
const EndpointConnectionTypeSystem = systemEndpointConnType

func isEndpointTerm(t HSDSTaxonomyTerm) bool {
	uri := strings.TrimSpace(t.TermURI)
	return strings.TrimSpace(t.Taxonomy) == EndpointConnectionTypeSystem ||
		uri == EndpointConnectionTypeSystem || strings.HasPrefix(uri, EndpointConnectionTypeSystem+"#") || strings.HasPrefix(uri, EndpointConnectionTypeSystem+"/")
}

// hsEndpoint is an R4 Endpoint.
type hsEndpoint struct {
	ResourceType         string         `json:"resourceType"`
	Identifier           []hsIdentifier `json:"identifier"`
	Status               string         `json:"status"`
	ConnectionType       hsCoding       `json:"connectionType"`
	Name                 string         `json:"name,omitempty"`
	ManagingOrganization *hsRef         `json:"managingOrganization,omitempty"`
	PayloadType          []hsConcept    `json:"payloadType"`
	Address              string         `json:"address"`
}

// referralEndpoint maps a service's endpoint attribute; reason says why
// it cannot be used (the service is kept without it).
func referralEndpoint(s HSDSService, a HSDSAttribute, t HSDSTaxonomyTerm, org *hsRef) (hsEndpoint, string) {
	// Only the connection types socialrx sends eReferrals over
	// (electronicConnections): an endpoint of another kind would be
	// stored and never used.
	code := strings.TrimSpace(t.Code)
	if !slices.Contains(electronicConnections, code) {
		return hsEndpoint{}, "referral endpoint connection type must be " + strings.Join(electronicConnections, " or ")
	}
	addr := strings.TrimSpace(a.Value)
	if u, err := url.Parse(addr); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return hsEndpoint{}, "referral endpoint value must be an http(s) URL"
	}
	id := a.ID
	if id == "" {
		id = s.ID + "/endpoint/" + code
	}
	ep := hsEndpoint{ResourceType: "Endpoint", Status: "active",
		Identifier:     []hsIdentifier{{System: HSDSIdentifierSystem + "endpoint", Value: id}},
		ConnectionType: hsCoding{System: EndpointConnectionTypeSystem, Code: code},
		Name:           strings.TrimSpace(s.Name) + " referrals",
		PayloadType:    []hsConcept{{Coding: []hsCoding{{System: "http://terminology.hl7.org/CodeSystem/endpoint-payload-type", Code: "any", Display: "Any"}}, Text: "Referrals"}},
		Address:        addr}
	if org != nil {
		ep.ManagingOrganization = &hsRef{Reference: org.Reference}
	}
	return ep, ""
}

// orgRef is the reference to the organization with HSDS id id: none when
// id is empty or the organization is in this dataset but was rejected
// (unless an earlier import stored it: Stored); a
// reference to where an earlier import put it when it is not in this
// dataset (a dataset of services only). No display: it would make a
// service differ between datasets that do and do not carry its
// organization.
func (d *HSDSDirectory) orgRef(id string, mapped map[string]string) (*hsRef, bool) {
	if id == "" {
		return nil, false
	}
	if _, ok := mapped[id]; !ok {
		if _, inDataset := d.orgs.byID[id]; inDataset && !d.isStored("Organization/"+HSDSResourceID(id)) {
			return nil, false
		}
	}
	return &hsRef{Reference: "Organization/" + HSDSResourceID(id)}, true
}

func (d *HSDSDirectory) resource(typ, src, hsdsID string, v any) (HSDSResource, bool) {
	b, err := json.Marshal(v)
	if err != nil {
		d.Reject(src, strings.ToLower(typ), hsdsID, "cannot be written as JSON")
		return HSDSResource{}, false
	}
	return HSDSResource{Type: typ, ID: HSDSResourceID(hsdsID), Body: b, Source: src, HSDSID: hsdsID}, true
}

// telecoms maps phones (each checked: a bad one is reported and left out),
// an email and a website.
func (d *HSDSDirectory) telecoms(src string, phones []HSDSPhone, email, website, parent, parentID string) []hsTelecom {
	var out []hsTelecom
	for _, p := range phones {
		t, reason := phoneTelecom(p)
		if reason != "" {
			id := p.ID
			if id == "" {
				id = parent + " " + parentID
			}
			d.Reject(or(p.src, src), "phone", id, reason)
			continue
		}
		out = append(out, t)
	}
	if e := strings.TrimSpace(email); e != "" {
		if strings.Count(e, "@") != 1 || strings.ContainsAny(e, " \t") {
			d.Reject(src, parent+".email", parentID, "email is not an address")
		} else {
			out = append(out, hsTelecom{System: "email", Value: e, Use: "work"})
		}
	}
	if w := strings.TrimSpace(website); w != "" {
		out = append(out, hsTelecom{System: "url", Value: w, Use: "work"})
	}
	return out
}

// phoneTelecom checks and maps a phone: digits with the usual separators
// (+ ( ) - . space), 7 to 15 digits (E.164's most); the extension digits
// only.
func phoneTelecom(p HSDSPhone) (hsTelecom, string) {
	n := strings.TrimSpace(p.Number)
	if n == "" {
		return hsTelecom{}, "number is missing"
	}
	digits := 0
	for _, r := range n {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case strings.ContainsRune("+()-. ", r):
		default:
			return hsTelecom{}, "number is not a phone number (only digits and + ( ) - . allowed)"
		}
	}
	if digits < 7 || digits > 15 {
		return hsTelecom{}, "number must have 7 to 15 digits, has " + strconv.Itoa(digits)
	}
	value := n
	if x := strings.TrimSpace(p.Extension); x != "" {
		if strings.Trim(x, "0123456789") != "" {
			return hsTelecom{}, "extension must be digits"
		}
		value += " ext. " + x
	}
	t := hsTelecom{System: "phone", Value: value, Use: "work"}
	switch strings.ToLower(p.Type) {
	case "fax":
		t.System = "fax"
	case "cell":
		t.Use = "mobile"
	case "text", "sms":
		t.System = "sms"
	case "pager":
		t.System = "pager"
	}
	return t, ""
}

func firstAddress(as []HSDSAddress) *hsAddress {
	pick := -1
	for i, a := range as {
		if a.AddressType == "" || a.AddressType == "physical" {
			pick = i
			break
		}
		if pick < 0 {
			pick = i
		}
	}
	if pick < 0 {
		return nil
	}
	a := as[pick]
	out := &hsAddress{Use: "work", City: strings.TrimSpace(a.City), District: strings.TrimSpace(a.Region),
		State: strings.TrimSpace(a.StateProvince), PostalCode: strings.TrimSpace(a.PostalCode), Country: strings.TrimSpace(a.Country)}
	switch a.AddressType {
	case "postal":
		out.Type = "postal"
	case "", "physical":
		out.Type = "physical"
	}
	for _, l := range []string{a.Address1, a.Address2} {
		if l = strings.TrimSpace(l); l != "" {
			out.Line = append(out.Line, l)
		}
	}
	return out
}

// lastVerified is the date a service's details were last checked:
// assured_date (a date), else the date part of last_modified (a
// date-time). ok is false when neither is given or one is not a date.
func lastVerified(assured, modified string) (string, bool) {
	if a := strings.TrimSpace(assured); a != "" {
		if _, err := time.Parse(time.DateOnly, a); err == nil {
			return a, true
		}
		if t, err := time.Parse(time.RFC3339Nano, a); err == nil {
			return t.Format(time.DateOnly), true
		}
		return "", false
	}
	if m := strings.TrimSpace(modified); m != "" {
		if t, err := time.Parse(time.RFC3339Nano, m); err == nil {
			return t.Format(time.DateOnly), true
		}
		if _, err := time.Parse(time.DateOnly, m); err == nil {
			return m, true
		}
	}
	return "", false
}

func costText(s HSDSService) string {
	var parts []string
	if f := strings.TrimSpace(s.FeesDescription); f != "" {
		parts = append(parts, f)
	}
	for _, c := range s.CostOptions {
		if o := strings.TrimSpace(c.Option); o != "" {
			parts = append(parts, o)
		}
	}
	return strings.Join(parts, "; ")
}

func capacityExtension(c HSDSCapacity) (hsExtension, string) {
	if c.Available.Bad != "" || !c.Available.Set {
		return hsExtension{}, "available is missing or not a number"
	}
	if c.Available.Value < 0 || (c.Maximum.Set && c.Maximum.Value < 0) || c.Maximum.Bad != "" {
		return hsExtension{}, "available and maximum must be numbers of 0 or more"
	}
	status := socialrx.CapacityAvailable
	if c.Available.Value == 0 {
		status = socialrx.CapacityNone
	}
	ext := hsExtension{URL: ExtCapacity, Extension: []hsExtension{{URL: "status", ValueCode: status}}}
	av := jsonNum(c.Available.Value)
	ext.Extension = append(ext.Extension, hsExtension{URL: "available", ValueDecimal: &av})
	if c.Maximum.Set {
		m := jsonNum(c.Maximum.Value)
		ext.Extension = append(ext.Extension, hsExtension{URL: "maximum", ValueDecimal: &m})
	}
	if c.Unit != nil && strings.TrimSpace(c.Unit.Name) != "" {
		ext.Extension = append(ext.Extension, hsExtension{URL: "unit", ValueString: strings.TrimSpace(c.Unit.Name)})
	}
	if u := strings.TrimSpace(c.Updated); u != "" {
		t, err := time.Parse(time.RFC3339Nano, u)
		if err != nil {
			return hsExtension{}, "updated is not a date-time with a time zone"
		}
		ext.Extension = append(ext.Extension, hsExtension{URL: "date", ValueDateTime: t.Format(time.RFC3339Nano)})
	}
	return ext, ""
}

var bcp47 = regexp.MustCompile(`^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$`)

func languageConcept(l HSDSLanguage) (hsConcept, bool) {
	code, name := strings.TrimSpace(l.Code), strings.TrimSpace(l.Name)
	c := hsConcept{Text: name}
	if code != "" {
		if !bcp47.MatchString(code) {
			return hsConcept{}, false
		}
		c.Coding = []hsCoding{{System: systemBCP47, Code: code}}
	}
	return c, code != "" || name != ""
}

var icalDays = map[string]string{"MO": "mon", "TU": "tue", "WE": "wed", "TH": "thu", "FR": "fri", "SA": "sat", "SU": "sun"}

// availableTime maps a weekly schedule to HealthcareService.availableTime.
// R4's availableTime has no time zone: opens_at and closes_at are kept as
// local wall-clock times (a "Z" or offset suffix is dropped; HSDS says
// they should carry one, publishers mostly write local times), and
// open-now compares them with the local time at the search
// (docs/mapping.md). Monthly schedules (2MO) have no availableTime form:
// ok is false and only their description is kept.
func availableTime(sc HSDSSchedule) (at hsAvailableTime, ok bool, reject string) {
	if f := strings.ToUpper(strings.TrimSpace(sc.Freq)); f != "" && f != "WEEKLY" {
		return at, false, ""
	}
	for _, p := range strings.Split(sc.ByDay, ",") {
		p = strings.ToUpper(strings.TrimSpace(p))
		if p == "" {
			continue
		}
		day, known := icalDays[p]
		if !known {
			return at, false, "byday must be weekday codes MO..SU"
		}
		at.DaysOfWeek = append(at.DaysOfWeek, day)
	}
	var err string
	if at.AvailableStartTime, err = hsdsTime(sc.OpensAt); err != "" {
		return at, false, "opens_at " + err
	}
	if at.AvailableEndTime, err = hsdsTime(sc.ClosesAt); err != "" {
		return at, false, "closes_at " + err
	}
	if len(at.DaysOfWeek) == 0 && at.AvailableStartTime == "" && at.AvailableEndTime == "" {
		return at, false, ""
	}
	return at, true, ""
}

var hsdsTimePattern = regexp.MustCompile(`^([01][0-9]|2[0-3]):([0-5][0-9])(:([0-5][0-9]))?(Z|[+-][0-9]{2}:?[0-9]{2})?$`)

func hsdsTime(s string) (string, string) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", ""
	}
	m := hsdsTimePattern.FindStringSubmatch(s)
	if m == nil {
		return "", "is not a time (HH:MM or HH:MM:SS)"
	}
	sec := m[4]
	if sec == "" {
		sec = "00"
	}
	return fmt.Sprintf("%s:%s:%s", m[1], m[2], sec), ""
}

func taxonomyConcept(t HSDSTaxonomyTerm) hsConcept {
	system := strings.TrimSpace(t.TermURI)
	if system == "" || strings.Contains(system, "#") || !strings.Contains(system, "://") {
		system = ""
	}
	tax := strings.TrimSpace(t.Taxonomy)
	if system == "" && tax != "" {
		system = taxonomySystem(tax)
	}
	code := strings.TrimSpace(t.Code)
	if code == "" {
		code = strings.TrimSpace(t.ID)
	}
	c := hsConcept{Text: strings.TrimSpace(t.Name)}
	if system != "" && code != "" {
		c.Coding = []hsCoding{{System: system, Code: code, Display: strings.TrimSpace(t.Name)}}
	}
	return c
}

func taxonomySystem(tax string) string {
	if strings.Contains(tax, "://") {
		return tax
	}
	var b strings.Builder
	for _, r := range strings.ToLower(tax) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	return hsdsTaxonomySystem + strings.Trim(b.String(), "-")
}

func jsonNum(v float64) json.Number { return json.Number(strconv.FormatFloat(v, 'f', -1, 64)) }

// ServiceNeedDomains are the need domains of a program, for
// HealthcareService.category: from its taxonomy terms (a socialrx
// need-domain code; else the 211/AIRS taxonomy code's prefix, then words
// of the term's name, hsdsDomainWords), and only when no term gives one,
// from words of the service's name. In the order of needDomainOrder; none
// when nothing matches.
func ServiceNeedDomains(terms []HSDSTaxonomyTerm, serviceName string) []socialrx.NeedDomain {
	found := map[socialrx.NeedDomain]bool{}
	for _, t := range terms {
		if d := socialrx.NeedDomain(strings.TrimSpace(t.Code)); d.Valid() && d != socialrx.DomainUnspecified &&
			(strings.Contains(t.Taxonomy, "need-domain") || strings.Contains(t.TermURI, "need-domain")) {
			found[d] = true
			continue
		}
		if d, ok := airsDomain(t.Code); ok {
			found[d] = true
			continue
		}
		for _, d := range wordDomains(t.Name) {
			found[d] = true
		}
	}
	if len(found) == 0 {
		for _, d := range wordDomains(serviceName) {
			found[d] = true
		}
	}
	var out []socialrx.NeedDomain
	for _, d := range socialrx.AllNeedDomains() {
		if found[d] {
			out = append(out, d)
		}
	}
	return out
}

// airsPrefixes maps 211 LA / AIRS taxonomy codes to need domains by their
// leading letters, longest prefix first (AIRS top level: B basic needs, N
// income support and employment, R mental health and substance use). Only
// the branches whose meaning is one domain are listed; others fall to the
// words of the term's name.
var airsPrefixes = []struct {
	prefix string
	domain socialrx.NeedDomain
}{
	{"BD", socialrx.DomainFood},
	{"BH", socialrx.DomainHousing},
	{"NL", socialrx.DomainFinances},
	{"NT", socialrx.DomainFinances},
	{"DT", socialrx.DomainFinances},
	{"RX", socialrx.DomainMentalHealth},
	{"RP", socialrx.DomainMentalHealth},
	{"RR", socialrx.DomainMentalHealth},
}

var airsCode = regexp.MustCompile(`^[A-Z]{2}(-[0-9]{4}(\.[0-9]{4})*(-[0-9]{3})?)?$`)

func airsDomain(code string) (socialrx.NeedDomain, bool) {
	code = strings.TrimSpace(code)
	if !airsCode.MatchString(code) {
		return "", false
	}
	for _, p := range airsPrefixes {
		if strings.HasPrefix(code, p.prefix) {
			return p.domain, true
		}
	}
	return "", false
}

// hsdsDomainWords are the words (lower case, matched at the start of a
// word) that put a program in a need domain.
var hsdsDomainWords = []struct {
	words  []string
	domain socialrx.NeedDomain
}{
	{[]string{"food", "meal", "pantry", "pantries", "grocer", "nutrition", "soup kitchen", "community kitchen"}, socialrx.DomainFood},
	{[]string{"housing", "shelter", "rent", "homeless", "tenant", "eviction"}, socialrx.DomainHousing},
	{[]string{"income", "tax", "benefit", "financial", "money", "debt", "employment", "job"}, socialrx.DomainFinances},
	{[]string{"mental health", "counsel", "addiction", "substance", "crisis", "psychotherap"}, socialrx.DomainMentalHealth},
	{[]string{"lonel", "isolation", "social support", "peer support", "friendly visit", "befriend", "seniors centre", "seniors center", "drop-in"}, socialrx.DomainSocialSupport},
	{[]string{"exercise", "walking", "fitness", "sport", "physical activity", "yoga", "swim"}, socialrx.DomainPhysicalActivity},
	{[]string{"art", "music", "dance", "craft", "garden", "nature", "museum", "choir", "creative", "culture"}, socialrx.DomainCreativeExpression},
	{[]string{"home care", "personal care", "daily living", "homemaking", "transportation"}, socialrx.DomainDailyLiving},
	{[]string{"child care", "childcare", "daycare", "day care", "early years"}, socialrx.DomainChildcare},
	{[]string{"prescription", "medication", "drug coverage", "pharmac", "drug benefit"}, socialrx.DomainMedicationCoverage},
}

func wordDomains(s string) []socialrx.NeedDomain {
	s = " " + strings.ToLower(s)
	var out []socialrx.NeedDomain
	for _, row := range hsdsDomainWords {
		for _, w := range row.words {
			if i := strings.Index(s, w); i > 0 && !isLetter(s[i-1]) {
				out = append(out, row.domain)
				break
			}
		}
	}
	return out
}

func isLetter(b byte) bool { return b >= 'a' && b <= 'z' }
