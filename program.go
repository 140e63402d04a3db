package socialrx

import (
	"fmt"
	"time"
)

// A program is a HealthcareService of the directory (imported from HSDS
// or written over FHIR). Before a prescription sends someone there, the
// practice should know the program is still offered (the guide: "check
// that a program is still offered before prescribing it").

// DefaultProgramStaleAfter is how long after its last verification a
// program's details count as stale (serve --stale-after).
const DefaultProgramStaleAfter = 180 * 24 * time.Hour

// AlternativesWithinKm is how far from a program socialrx looks for
// alternatives for the same need.
const AlternativesWithinKm = 25.0

// MaxAlternatives is how many alternatives a warning names.
const MaxAlternatives = 3

// Capacity statuses a program reports (the capacity extension, HSDS 3.1
// service_capacity).
const (
	CapacityAvailable = "has-capacity"
	CapacityWaitList  = "wait-list"
	CapacityNone      = "no-capacity"
)

// ProgramStatus is what socialrx knows of a program's availability.
type ProgramStatus struct {
	Active       bool
	LastVerified time.Time // zero: never verified (or not known)
	Capacity     string    // CapacityAvailable, CapacityWaitList, CapacityNone or ""
}

// Stale reports whether the program was last verified more than
// staleAfter before now. A program with no verification date is not
// called stale: socialrx cannot tell (a program written over FHIR without
// the last-verified extension).
func (s ProgramStatus) Stale(now time.Time, staleAfter time.Duration) bool {
	return !s.LastVerified.IsZero() && now.Sub(s.LastVerified) > staleAfter
}

// Concerns are the reasons not to send someone to the program, in words
// for a warning: inactive, not verified for longer than staleAfter, no
// capacity. None for a program that is fine.
func (s ProgramStatus) Concerns(now time.Time, staleAfter time.Duration) []string {
	var out []string
	if !s.Active {
		out = append(out, "is inactive")
	}
	if s.Stale(now, staleAfter) {
		out = append(out, fmt.Sprintf("was last verified on %s, more than %d days ago", s.LastVerified.Format(time.DateOnly), int(staleAfter.Hours()/24)))
	}
	if s.Capacity == CapacityNone {
		out = append(out, "reports no capacity")
	}
	return out
}

// Suitable reports whether a program can be offered as an alternative:
// active, not stale, not without capacity.
func (s ProgramStatus) Suitable(now time.Time, staleAfter time.Duration) bool {
	return len(s.Concerns(now, staleAfter)) == 0
}
