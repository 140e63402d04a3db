package mapping

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
)

// The Open Referral HSDS 3.0 objects the directory import reads (HSDS 3.1's
// service_capacity too), with only the fields socialrx maps. Field names are
// HSDS's (https://docs.openreferral.org/en/latest/hsds/schema_reference.html).
// The same structs read the JSON forms (nested children) and the tabular
// form (one CSV per object, children pointing at their parent by *_id; the
// reader turns a CSV row into a JSON object of strings, which is why
// numbers accept strings).

// HSDSOrganization is an HSDS organization.
type HSDSOrganization struct {
	ID            string      `json:"id"`
	Name          string      `json:"name"`
	AlternateName string      `json:"alternate_name"`
	Description   string      `json:"description"`
	Email         string      `json:"email"`
	Website       string      `json:"website"`
	Phones        []HSDSPhone `json:"phones"`
	// Services and Locations appear in the organization's compiled form;
	// the directory takes them as objects of their own.
	Services  []HSDSService  `json:"services"`
	Locations []HSDSLocation `json:"locations"`
}

// HSDSService is an HSDS service.
type HSDSService struct {
	ID                     string                    `json:"id"`
	OrganizationID         string                    `json:"organization_id"`
	Name                   string                    `json:"name"`
	AlternateName          string                    `json:"alternate_name"`
	Description            string                    `json:"description"`
	URL                    string                    `json:"url"`
	Email                  string                    `json:"email"`
	Status                 string                    `json:"status"`
	ApplicationProcess     string                    `json:"application_process"`
	FeesDescription        string                    `json:"fees_description"`
	EligibilityDescription string                    `json:"eligibility_description"`
	AssuredDate            string                    `json:"assured_date"`
	LastModified           string                    `json:"last_modified"`
	Organization           *HSDSOrganization         `json:"organization"`
	Program                *struct{ Name string }    `json:"program"`
	Phones                 []HSDSPhone               `json:"phones"`
	Schedules              []HSDSSchedule            `json:"schedules"`
	Languages              []HSDSLanguage            `json:"languages"`
	Attributes             []HSDSAttribute           `json:"attributes"`
	ServiceAtLocations     []HSDSServiceAtLocation   `json:"service_at_locations"`
	Capacities             []HSDSCapacity            `json:"capacities"`
	CostOptions            []struct{ Option string } `json:"cost_options"`
}

// HSDSLocation is an HSDS location.
type HSDSLocation struct {
	ID             string         `json:"id"`
	OrganizationID string         `json:"organization_id"`
	LocationType   string         `json:"location_type"`
	Name           string         `json:"name"`
	AlternateName  string         `json:"alternate_name"`
	Description    string         `json:"description"`
	Latitude       HSDSNumber     `json:"latitude"`
	Longitude      HSDSNumber     `json:"longitude"`
	Addresses      []HSDSAddress  `json:"addresses"`
	Phones         []HSDSPhone    `json:"phones"`
	Languages      []HSDSLanguage `json:"languages"`
	Schedules      []HSDSSchedule `json:"schedules"`
}

// HSDSServiceAtLocation links a service to a location.
type HSDSServiceAtLocation struct {
	ID         string         `json:"id"`
	ServiceID  string         `json:"service_id"`
	LocationID string         `json:"location_id"`
	Location   *HSDSLocation  `json:"location"`
	Schedules  []HSDSSchedule `json:"schedules"`
	Phones     []HSDSPhone    `json:"phones"`
}

// HSDSPhone is an HSDS phone.
type HSDSPhone struct {
	src            string // where a row of the tabular form came from
	ID             string `json:"id"`
	ServiceID      string `json:"service_id"`
	LocationID     string `json:"location_id"`
	OrganizationID string `json:"organization_id"`
	Number         string `json:"number"`
	Extension      string `json:"extension"`
	Type           string `json:"type"`
}

// HSDSAddress is an HSDS address.
type HSDSAddress struct {
	ID            string `json:"id"`
	LocationID    string `json:"location_id"`
	Address1      string `json:"address_1"`
	Address2      string `json:"address_2"`
	City          string `json:"city"`
	Region        string `json:"region"`
	StateProvince string `json:"state_province"`
	PostalCode    string `json:"postal_code"`
	Country       string `json:"country"`
	AddressType   string `json:"address_type"`
}

// HSDSSchedule is an HSDS schedule (an RFC 5545 recurrence in fields).
type HSDSSchedule struct {
	src                 string // where a row of the tabular form came from
	ID                  string `json:"id"`
	ServiceID           string `json:"service_id"`
	LocationID          string `json:"location_id"`
	ServiceAtLocationID string `json:"service_at_location_id"`
	Freq                string `json:"freq"`
	ByDay               string `json:"byday"`
	OpensAt             string `json:"opens_at"`
	ClosesAt            string `json:"closes_at"`
	Description         string `json:"description"`
}

// HSDSLanguage is an HSDS language (code: ISO 639 / BCP 47).
type HSDSLanguage struct {
	src        string // where a row of the tabular form came from
	ID         string `json:"id"`
	ServiceID  string `json:"service_id"`
	LocationID string `json:"location_id"`
	Name       string `json:"name"`
	Code       string `json:"code"`
}

// HSDSAttribute links an object to a taxonomy term.
type HSDSAttribute struct {
	ID             string            `json:"id"`
	LinkID         string            `json:"link_id"`
	LinkType       string            `json:"link_type"`
	LinkEntity     string            `json:"link_entity"`
	TaxonomyTermID string            `json:"taxonomy_term_id"`
	Value          string            `json:"value"`
	TaxonomyTerm   *HSDSTaxonomyTerm `json:"taxonomy_term"`
}

// HSDSTaxonomyTerm is a term of a taxonomy (211 LA/AIRS, Open Eligibility,
// socialrx's need-domain codes...).
type HSDSTaxonomyTerm struct {
	ID       string `json:"id"`
	Code     string `json:"code"`
	Name     string `json:"name"`
	Taxonomy string `json:"taxonomy"`
	TermURI  string `json:"term_uri"`
}

// HSDSCapacity is HSDS 3.1's service_capacity.
type HSDSCapacity struct {
	src         string     // where a row of the tabular form came from
	ID          string     `json:"id"`
	ServiceID   string     `json:"service_id"`
	UnitID      string     `json:"unit_id"`
	Available   HSDSNumber `json:"available"`
	Maximum     HSDSNumber `json:"maximum"`
	Description string     `json:"description"`
	Updated     string     `json:"updated"`
	Unit        *struct {
		Name string `json:"name"`
	} `json:"unit"`
}

// HSDSNumber is an HSDS number, read from a JSON number or a string (CSV
// cells, and publishers that quote numbers). Set is false for absent, null
// and ""; Bad is set for a value that is not a number.
type HSDSNumber struct {
	Value float64
	Set   bool
	Bad   string
}

// UnmarshalJSON reads a number, a numeric string, "" or null; anything else
// is kept as Bad (the record is then rejected by the mapping, not the
// whole file by the decoder).
func (n *HSDSNumber) UnmarshalJSON(b []byte) error {
	*n = HSDSNumber{}
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	s := string(b)
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			n.Bad = string(b)
			return nil
		}
		s = strings.TrimSpace(s)
		if s == "" {
			return nil
		}
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		n.Bad = s
		return nil
	}
	n.Value, n.Set = v, true
	return nil
}
