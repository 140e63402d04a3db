package ereferral

import (
	"bytes"
	"encoding/json"
	"time"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/adapter/internal/oauthcc"
)

// responseMessage is the part of a $process-messages answer that says how
// the message went: a Bundle of type "message" whose first entry is the
// response MessageHeader (MessageHeader.response.code, R4
// http://hl7.org/fhir/response-code).
type responseMessage struct {
	ResourceType string `json:"resourceType"`
	Type         string `json:"type"`
	Entry        []struct {
		Resource json.RawMessage `json:"resource"`
	} `json:"entry"`
}

type messageHeader struct {
	ResourceType string `json:"resourceType"`
	Response     *struct {
		Code string `json:"code"`
	} `json:"response"`
}

// classifyResponse reads the body of a 2xx answer to $process-messages. It
// returns nil when the platform accepted the message: an empty body, a
// response message with response.code "ok" or no response element, or any
// other JSON resource. A response message with "fatal-error" is permanent,
// one with "transient-error" retryable, and a body that is not JSON, or
// longer than the bound, is retryable as "unreadable response"
// (socialrx.UnreadableAnswer: a resend with the same MessageHeader.id is
// recognised by the platform).
func classifyResponse(resp *oauthcc.Response, now time.Time) *socialrx.SendError {
	if resp.Truncated {
		return socialrx.UnreadableAnswer(resp.StatusCode, "too large")
	}
	body := bytes.TrimSpace(resp.Body)
	if len(body) == 0 {
		return nil
	}
	var msg responseMessage
	if err := json.Unmarshal(body, &msg); err != nil {
		return socialrx.UnreadableAnswer(resp.StatusCode, "")
	}
	if msg.ResourceType != "Bundle" || msg.Type != "message" || len(msg.Entry) == 0 {
		return nil
	}
	var hdr messageHeader
	if err := json.Unmarshal(msg.Entry[0].Resource, &hdr); err != nil {
		return socialrx.UnreadableAnswer(resp.StatusCode, "")
	}
	if hdr.ResourceType != "MessageHeader" || hdr.Response == nil {
		return nil
	}
	switch hdr.Response.Code {
	case "ok":
		return nil
	case "transient-error":
		return &socialrx.SendError{
			Retryable:  true,
			StatusCode: resp.StatusCode,
			RetryAfter: socialrx.DefaultRetryPolicy().RetryAfter(resp.Header.Get("Retry-After"), now),
			Reason:     oauthcc.Reason("response message transient-error", oauthcc.OperationOutcomeText(body)),
		}
	case "fatal-error":
		return &socialrx.SendError{
			StatusCode: resp.StatusCode,
			Reason:     oauthcc.Reason("response message fatal-error", oauthcc.OperationOutcomeText(body)),
		}
	}
	return socialrx.UnreadableAnswer(resp.StatusCode, "unknown response code")
}
