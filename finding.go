package socialrx

import "time"

// Instrument names a screening instrument whose answers socialrx reads.
type Instrument string

// The screening instruments.
const (
	InstrumentHungerVitalSign Instrument = "hunger-vital-sign" // LOINC 88121-9
	InstrumentAHCHRSN         Instrument = "ahc-hrsn"          // LOINC 96777-8 (AHC HRSN screening tool)
	InstrumentPRAPARE         Instrument = "prapare"           // LOINC 93025-5
	InstrumentOther           Instrument = "other"             // a single coded SDOH Observation
)

// Finding is one screening answer about a patient, positive or not, with
// where it came from. Findings come from Observations (single answers,
// panels with hasMember or components) and QuestionnaireResponse items.
type Finding struct {
	PatientID   string
	Domain      NeedDomain
	Instrument  Instrument
	ItemCode    string    // LOINC code of the question (e.g. 88122-7)
	AnswerCode  string    // LOINC answer code (LA...), or "" for a numeric/text answer
	Positive    bool      // by the instrument's own positive-screen rule
	Source      string    // "Observation/<id>" or "QuestionnaireResponse/<id>#<linkId>"
	EffectiveAt time.Time // Observation.effective / QuestionnaireResponse.authored; zero when absent
}

// AllInstruments returns the screening instruments, in the order above. The
// slice is new on every call.
func AllInstruments() []Instrument {
	return []Instrument{InstrumentHungerVitalSign, InstrumentAHCHRSN, InstrumentPRAPARE, InstrumentOther}
}

// Valid reports whether i is one of AllInstruments.
func (i Instrument) Valid() bool { return i.Display() != "" }

// Display returns the English name of i, or "" when i is not known.
func (i Instrument) Display() string {
	switch i {
	case InstrumentHungerVitalSign:
		return "Hunger Vital Sign"
	case InstrumentAHCHRSN:
		return "AHC HRSN screening tool"
	case InstrumentPRAPARE:
		return "PRAPARE"
	case InstrumentOther:
		return "Other SDOH observation"
	}
	return ""
}
