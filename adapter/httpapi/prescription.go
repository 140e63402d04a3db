package httpapi

import (
	"encoding/json"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/mapping"
)

// prescriptionDefinition is the canonical of the $prescription operation.
const prescriptionDefinition = "http://socialrx.dev/fhir/OperationDefinition/ServiceRequest-prescription"

// handlePrescription answers GET /fhir/ServiceRequest/:id/$prescription:
// what socialrx derived and tracks of a social prescription (form,
// channel, need domains, follow-up, referrals) as a Parameters resource
// (mapping.PrescriptionParameters). The ServiceRequest itself is stored
// and read back as the client wrote it; this is where the derived facts
// are read. 404 when the ServiceRequest does not exist or is not a social
// prescription. Facts derived from a type the principal may not read are
// left out (socialrx.PrescriptionRecord.Readable): follow-ups and
// referrals need r on Task, the outcome r on QuestionnaireResponse.
func (s *Server) handlePrescription(c echo.Context) error {
	typ, id := c.Param("type"), c.Param("id")
	if err := checkTypeID(typ, id); err != nil {
		return err
	}
	if typ != "ServiceRequest" {
		return issueError(socialrx.ENOTFOUND, "", "$prescription is an operation on ServiceRequest, not %s", typ)
	}
	ctx := c.Request().Context()
	n := noteOf(c)
	n.entity, n.operation = typ+"/"+id, "$prescription"
	sr, err := s.store.Read(ctx, typ, id)
	if err != nil {
		return err
	}
	n.version, n.read = sr.VersionID, sr.Body
	var head struct {
		Subject struct {
			Reference string `json:"reference"`
		} `json:"subject"`
	}
	_ = json.Unmarshal(sr.Body, &head)
	notSocial := issueError(socialrx.ENOTFOUND, "", "ServiceRequest/%s is not a social prescription", id)
	// The subject as ingest read it (relative or absolute).
	refType, patientID, ok := mapping.RefTypeID(head.Subject.Reference)
	if !ok || refType != "Patient" {
		return notSocial
	}
	pp, err := s.store.Projection(ctx, patientID)
	if err != nil {
		return err
	}
	if rec, ok := pp.Record(id); ok {
		principal := socialrx.PrincipalFrom(ctx)
		rec = rec.Readable(func(t string) bool { return principal.Permits(socialrx.InteractionRead, t) })
		return s.writeFHIR(c, http.StatusOK, mapping.PrescriptionParameters(rec))
	}
	return notSocial
}
