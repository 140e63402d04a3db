package mapping

// HSDSDirectory gathers the objects of one HSDS dataset, whatever form they
// came in (nested JSON, list pages, NDJSON, tabular rows), so that
// HSDSDirectory.Resources can map them together: a service needs its
// organization's name, its locations, and the phones, schedules,
// languages, attributes and capacities that point at it.
//
// Objects are kept in the order they were added; an id seen again replaces
// the earlier object (the last one wins, as a re-import would). Each object
// carries the place it came from (Source: "file:line" or "file#index") for
// the reject report.
type HSDSDirectory struct {
	orgs     keyed[HSDSOrganization]
	services keyed[HSDSService]
	locs     keyed[HSDSLocation]
	sals     keyed[HSDSServiceAtLocation]

	// loose children of the tabular form, attached by parent id
	phones     []sourced[HSDSPhone]
	addresses  []sourced[HSDSAddress]
	schedules  []sourced[HSDSSchedule]
	languages  []sourced[HSDSLanguage]
	attributes []sourced[HSDSAttribute]
	capacities []sourced[HSDSCapacity]
	terms      map[string]HSDSTaxonomyTerm
	units      map[string]string // unit id -> name

	rejects []HSDSReject

	// endpoints are the Endpoints Resources made so far, by resource id.
	endpoints map[string]madeEndpoint

	// Stored, when set, reports whether a resource ("Location/hsds-x") is
	// stored, by an earlier import: a service or location whose location
	// or organization this dataset leaves out or rejects keeps its
	// reference to the stored one (bad input loses nothing). nil: nothing
	// is stored (the references are dropped, as there is nothing to keep).
	Stored func(ref string) bool
	stored map[string]bool // Stored's answers
}

// isStored reports Stored(ref), asked once per ref.
func (d *HSDSDirectory) isStored(ref string) bool {
	if d.Stored == nil {
		return false
	}
	if v, ok := d.stored[ref]; ok {
		return v
	}
	if d.stored == nil {
		d.stored = map[string]bool{}
	}
	v := d.Stored(ref)
	d.stored[ref] = v
	return v
}

// madeEndpoint is what decides whether another service's endpoint
// attribute of the same id is the same Endpoint: its address and
// connection type, and the service that made it (named in a reject).
type madeEndpoint struct {
	address, code, service string
}

// HSDSReject is a record the import leaves out, and why. Reason names
// fields and ids, never other values: the report goes to operators.
type HSDSReject struct {
	Source string // file:line or file#index or URL#index
	Object string // organization, service, location, phone, ...
	ID     string // the HSDS id, when it has one
	Reason string
}

type sourced[T any] struct {
	v   T
	src string
}

type keyed[T any] struct {
	order []string
	byID  map[string]sourced[T]
}

func (k *keyed[T]) put(id, src string, v T) {
	if k.byID == nil {
		k.byID = map[string]sourced[T]{}
	}
	if _, ok := k.byID[id]; !ok {
		k.order = append(k.order, id)
	}
	k.byID[id] = sourced[T]{v, src}
}

func (k *keyed[T]) get(id string) (T, bool) {
	s, ok := k.byID[id]
	return s.v, ok
}

// or returns src, or the place a tabular row came from when it has one.
func or(rowSrc, src string) string {
	if rowSrc != "" {
		return rowSrc
	}
	return src
}

// Reject records a record the reader could not read at all (bad JSON, an
// object of unknown kind).
func (d *HSDSDirectory) Reject(src, object, id, reason string) {
	d.rejects = append(d.rejects, HSDSReject{Source: src, Object: object, ID: id, Reason: reason})
}

// AddOrganization adds o, and the services and locations nested in it.
func (d *HSDSDirectory) AddOrganization(src string, o HSDSOrganization) {
	if o.ID == "" {
		d.Reject(src, "organization", "", "id is missing")
		return
	}
	for _, s := range o.Services {
		if s.OrganizationID == "" {
			s.OrganizationID = o.ID
		}
		d.AddService(src, s)
	}
	for _, l := range o.Locations {
		if l.OrganizationID == "" {
			l.OrganizationID = o.ID
		}
		d.AddLocation(src, l)
	}
	o.Services, o.Locations = nil, nil
	d.orgs.put(o.ID, src, o)
}

// AddService adds s, and its nested organization, service-at-locations and
// their locations.
func (d *HSDSDirectory) AddService(src string, s HSDSService) {
	if s.ID == "" {
		d.Reject(src, "service", "", "id is missing")
		return
	}
	if s.Organization != nil {
		if s.OrganizationID == "" {
			s.OrganizationID = s.Organization.ID
		}
		if _, ok := d.orgs.get(s.Organization.ID); !ok || s.Organization.Name != "" {
			d.AddOrganization(src, *s.Organization)
		}
		s.Organization = nil
	}
	for _, sal := range s.ServiceAtLocations {
		if sal.ServiceID == "" {
			sal.ServiceID = s.ID
		}
		d.AddServiceAtLocation(src, sal)
	}
	s.ServiceAtLocations = nil
	d.services.put(s.ID, src, s)
}

// AddLocation adds l.
func (d *HSDSDirectory) AddLocation(src string, l HSDSLocation) {
	if l.ID == "" {
		d.Reject(src, "location", "", "id is missing")
		return
	}
	d.locs.put(l.ID, src, l)
}

// AddServiceAtLocation adds the link and its nested location.
func (d *HSDSDirectory) AddServiceAtLocation(src string, sal HSDSServiceAtLocation) {
	if sal.Location != nil {
		if sal.LocationID == "" {
			sal.LocationID = sal.Location.ID
		}
		d.AddLocation(src, *sal.Location)
		sal.Location = nil
	}
	if sal.ID == "" {
		sal.ID = sal.ServiceID + "@" + sal.LocationID
	}
	d.sals.put(sal.ID, src, sal)
}

// AddPhone, AddAddress, AddSchedule, AddLanguage, AddAttribute,
// AddCapacity, AddTaxonomyTerm and AddUnit add a row of the tabular form;
// it is attached to its parent by the parent's id when the directory is
// mapped.
func (d *HSDSDirectory) AddPhone(src string, p HSDSPhone) {
	p.src = src
	d.phones = append(d.phones, sourced[HSDSPhone]{p, src})
}

func (d *HSDSDirectory) AddAddress(src string, a HSDSAddress) {
	d.addresses = append(d.addresses, sourced[HSDSAddress]{a, src})
}

func (d *HSDSDirectory) AddSchedule(src string, s HSDSSchedule) {
	s.src = src
	d.schedules = append(d.schedules, sourced[HSDSSchedule]{s, src})
}

func (d *HSDSDirectory) AddLanguage(src string, l HSDSLanguage) {
	l.src = src
	d.languages = append(d.languages, sourced[HSDSLanguage]{l, src})
}

func (d *HSDSDirectory) AddAttribute(src string, a HSDSAttribute) {
	d.attributes = append(d.attributes, sourced[HSDSAttribute]{a, src})
}

func (d *HSDSDirectory) AddCapacity(src string, c HSDSCapacity) {
	c.src = src
	d.capacities = append(d.capacities, sourced[HSDSCapacity]{c, src})
}

func (d *HSDSDirectory) AddTaxonomyTerm(t HSDSTaxonomyTerm) {
	if d.terms == nil {
		d.terms = map[string]HSDSTaxonomyTerm{}
	}
	d.terms[t.ID] = t
}

func (d *HSDSDirectory) AddUnit(id, name string) {
	if d.units == nil {
		d.units = map[string]string{}
	}
	d.units[id] = name
}

// Counts returns how many organizations, services and locations were added.
func (d *HSDSDirectory) Counts() (orgs, services, locations int) {
	return len(d.orgs.order), len(d.services.order), len(d.locs.order)
}

// attach moves the loose rows of the tabular form to their parents.
func (d *HSDSDirectory) attach() {
	for _, p := range d.phones {
		switch {
		case p.v.ServiceID != "":
			if s, ok := d.services.byID[p.v.ServiceID]; ok {
				s.v.Phones = append(s.v.Phones, p.v)
				d.services.byID[p.v.ServiceID] = s
				continue
			}
		case p.v.LocationID != "":
			if l, ok := d.locs.byID[p.v.LocationID]; ok {
				l.v.Phones = append(l.v.Phones, p.v)
				d.locs.byID[p.v.LocationID] = l
				continue
			}
		case p.v.OrganizationID != "":
			if o, ok := d.orgs.byID[p.v.OrganizationID]; ok {
				o.v.Phones = append(o.v.Phones, p.v)
				d.orgs.byID[p.v.OrganizationID] = o
				continue
			}
		}
		d.Reject(p.src, "phone", p.v.ID, "its service, location or organization is not in the dataset")
	}
	for _, a := range d.addresses {
		if l, ok := d.locs.byID[a.v.LocationID]; ok {
			l.v.Addresses = append(l.v.Addresses, a.v)
			d.locs.byID[a.v.LocationID] = l
			continue
		}
		d.Reject(a.src, "address", a.v.ID, "its location is not in the dataset")
	}
	for _, sc := range d.schedules {
		if s, ok := d.services.byID[sc.v.ServiceID]; ok {
			s.v.Schedules = append(s.v.Schedules, sc.v)
			d.services.byID[sc.v.ServiceID] = s
			continue
		}
		if sal, ok := d.sals.byID[sc.v.ServiceAtLocationID]; ok {
			sal.v.Schedules = append(sal.v.Schedules, sc.v)
			d.sals.byID[sc.v.ServiceAtLocationID] = sal
			continue
		}
		if l, ok := d.locs.byID[sc.v.LocationID]; ok {
			l.v.Schedules = append(l.v.Schedules, sc.v)
			d.locs.byID[sc.v.LocationID] = l
			continue
		}
		d.Reject(sc.src, "schedule", sc.v.ID, "its service, location or service_at_location is not in the dataset")
	}
	for _, l := range d.languages {
		if s, ok := d.services.byID[l.v.ServiceID]; ok {
			s.v.Languages = append(s.v.Languages, l.v)
			d.services.byID[l.v.ServiceID] = s
			continue
		}
		if loc, ok := d.locs.byID[l.v.LocationID]; ok {
			loc.v.Languages = append(loc.v.Languages, l.v)
			d.locs.byID[l.v.LocationID] = loc
			continue
		}
		d.Reject(l.src, "language", l.v.ID, "its service or location is not in the dataset")
	}
	for _, a := range d.attributes {
		if a.v.TaxonomyTerm == nil {
			if t, ok := d.terms[a.v.TaxonomyTermID]; ok {
				a.v.TaxonomyTerm = &t
			}
		}
		if s, ok := d.services.byID[a.v.LinkID]; ok && (a.v.LinkType == "" || a.v.LinkType == "service") {
			s.v.Attributes = append(s.v.Attributes, a.v)
			d.services.byID[a.v.LinkID] = s
		}
		// Attributes of other objects (organizations, locations) do not
		// map to anything socialrx searches: ignored, not rejected.
	}
	for _, c := range d.capacities {
		if c.v.Unit == nil && c.v.UnitID != "" {
			if n, ok := d.units[c.v.UnitID]; ok {
				c.v.Unit = &struct {
					Name string `json:"name"`
				}{n}
			}
		}
		if s, ok := d.services.byID[c.v.ServiceID]; ok {
			s.v.Capacities = append(s.v.Capacities, c.v)
			d.services.byID[c.v.ServiceID] = s
			continue
		}
		d.Reject(c.src, "service_capacity", c.v.ID, "its service is not in the dataset")
	}
	d.phones, d.addresses, d.schedules, d.languages, d.attributes, d.capacities = nil, nil, nil, nil, nil, nil
}
