package export

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"slices"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/mapping"
)

// Line is one resource written by Stream.
type Line struct {
	Resource *socialrx.Resource
	// Facts is true when the resource's derived facts were written to the
	// facts writer too.
	Facts bool
}

// Stream writes the resources req selects to w, one per line (NDJSON), in
// id order from req.AfterID, and calls each after each line. A body stored
// with line breaks (a client may send pretty-printed JSON) is written
// compacted onto one line: whitespace between tokens is all that changes.
// With facts non-nil, each social prescription among ServiceRequests also
// gets its derived facts written to facts.W (Line.Facts).
//
// w should be buffered: Stream makes two small writes per resource.
func Stream(ctx context.Context, store socialrx.Store, req socialrx.StreamRequest, w io.Writer, facts *Facts, each func(Line) error) error {
	var compact bytes.Buffer
	nl := []byte{'\n'}
	return store.StreamResources(ctx, req, func(r *socialrx.Resource) error {
		body := r.Body
		if bytes.ContainsAny(body, "\r\n") {
			compact.Reset()
			if err := json.Compact(&compact, body); err != nil {
				return socialrx.Errorf(socialrx.EINTERNAL, "%s/%s: stored body is not JSON", r.Type, r.ID)
			}
			body = compact.Bytes()
		}
		if _, err := w.Write(body); err != nil {
			return err
		}
		if _, err := w.Write(nl); err != nil {
			return err
		}
		line := Line{Resource: r}
		if facts != nil && r.Type == "ServiceRequest" {
			p, ok, err := PrescriptionFacts(ctx, store, r, facts.From)
			if err != nil {
				return err
			}
			if ok {
				if _, err := facts.W.Write(p); err != nil {
					return err
				}
				if _, err := facts.W.Write(nl); err != nil {
					return err
				}
				line.Facts = true
			}
		}
		if each != nil {
			return each(line)
		}
		return nil
	})
}

// Facts is where Stream writes the derived facts of social prescriptions,
// and which.
type Facts struct {
	W io.Writer
	// From are those of socialrx.FactSources whose facts are written
	// (socialrx.PrescriptionRecord.Readable); the others are left out.
	From []string
}

// PrescriptionFacts returns the derived facts of a social prescription as
// ServiceRequest/[id]/$prescription answers them (a Parameters resource,
// mapping.PrescriptionParameters: prescription reference, form, channel,
// need domains, status, target, follow-up, referrals, outcome), on one
// line, without those derived from a type of socialrx.FactSources not in
// from; ok is false when sr is not a social prescription.
func PrescriptionFacts(ctx context.Context, store socialrx.Projections, sr *socialrx.Resource, from []string) (params []byte, ok bool, err error) {
	var head struct {
		Subject struct {
			Reference string `json:"reference"`
		} `json:"subject"`
	}
	_ = json.Unmarshal(sr.Body, &head)
	refType, patientID, ok := mapping.RefTypeID(head.Subject.Reference)
	if !ok || refType != "Patient" {
		return nil, false, nil
	}
	pp, err := store.Projection(ctx, patientID)
	if err != nil {
		return nil, false, err
	}
	rec, ok := pp.Record(sr.ID)
	if !ok {
		return nil, false, nil
	}
	rec = rec.Readable(func(t string) bool { return slices.Contains(from, t) })
	return mapping.PrescriptionParameters(rec), true, nil
}
