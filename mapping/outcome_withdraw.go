package mapping

import (
	"encoding/json"
	"slices"
	"time"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/fhir"
)

// Withdrawing an outcome (adapter/workflow, outcome_withdraw.go): when the
// answered follow-up is deleted or entered in error, what it became is
// marked so, not deleted (FHIR's convention: the chart keeps what was said
// and that it was withdrawn). These edit a stored resource and keep every
// other member's bytes and order.

// WithdrawnFollowUpReason is the statusReason text of a follow-up Task
// reopened because its answer was withdrawn.
const WithdrawnFollowUpReason = "The follow-up's answer was withdrawn (entered in error or deleted): the follow-up is open again."

// WithdrawnHelpReason is the statusReason text of a staff Task cancelled
// because the follow-up answer that asked for help was withdrawn.
const WithdrawnHelpReason = "The follow-up answer that asked for more help was withdrawn (entered in error or deleted)."

// WithStatus returns body (a FHIR resource with a status element:
// Observation, Communication, ServiceRequest) with status set; changed is
// false (body returned) when it had that status already.
func WithStatus(body []byte, status string) (out []byte, changed bool, err error) {
	doc, err := fhir.ParseObject(body)
	if err != nil {
		return nil, false, issueErr(socialrx.EINVALID, "structure", "", "invalid JSON")
	}
	if statusOf(body) == status {
		return body, false, nil
	}
	doc.Set("status", marshal(status))
	return doc.Bytes(), true, nil
}

func statusOf(body []byte) string {
	var head struct {
		Status string `json:"status"`
	}
	_ = json.Unmarshal(body, &head)
	return head.Status
}

// StatusOf returns the status element of a resource, "" when it has none
// or body is not JSON.
func StatusOf(body []byte) string { return statusOf(body) }

// FollowUpResponsesOf returns the ids of the QuestionnaireResponses a
// follow-up Task lists as its outputs (type socialrx task-output
// follow-up-response: CompleteFollowUpTask adds one per answered
// response), in order.
func FollowUpResponsesOf(task []byte) []string {
	var t struct {
		Output []struct {
			Type           codeableConcept `json:"type"`
			ValueReference *reference      `json:"valueReference"`
		} `json:"output"`
	}
	if json.Unmarshal(task, &t) != nil {
		return nil
	}
	var out []string
	for _, o := range t.Output {
		if !o.Type.has(taskOutputSystem, outputFollowUpResponse) || o.ValueReference == nil {
			continue
		}
		if typ, id, ok := refTypeID(o.ValueReference.Reference); ok && typ == "QuestionnaireResponse" {
			out = append(out, id)
		}
	}
	return out
}

// WithdrawFollowUpResponse returns the follow-up Task task without the
// output that names QuestionnaireResponse/qrID (CompleteFollowUpTask's),
// and, when reopen is set and the Task is completed, open again: status
// in-progress with statusReason text WithdrawnFollowUpReason, so the
// follow-up can be answered again. lastModified is now when anything
// changed; changed is false (task returned) when nothing would.
func WithdrawFollowUpResponse(task []byte, qrID string, reopen bool, now time.Time) (out []byte, changed bool, err error) {
	doc, err := fhir.ParseObject(task)
	if err != nil {
		return nil, false, issueErr(socialrx.EINVALID, "structure", "Task", "invalid JSON")
	}
	ref := "QuestionnaireResponse/" + qrID
	if raw, ok := doc.Get("output"); ok {
		elems, _ := arrayElements(raw)
		var kept [][]byte
		for _, e := range elems {
			var o struct {
				ValueReference *reference `json:"valueReference"`
			}
			if json.Unmarshal(e, &o) == nil && o.ValueReference != nil && o.ValueReference.Reference == ref {
				changed = true
				continue
			}
			kept = append(kept, e)
		}
		if changed && len(kept) == 0 {
			doc.Del("output")
		} else if changed {
			doc.Set("output", joinArray(kept))
		}
	}
	if reopen && statusOf(task) == "completed" {
		setTaskMember(doc, "status", marshal("in-progress"))
		setTaskMember(doc, "statusReason", marshal(conceptJSONOut{Text: WithdrawnFollowUpReason}))
		changed = true
	}
	if !changed {
		return task, false, nil
	}
	setTaskMember(doc, "lastModified", marshal(dateTime(now)))
	return doc.Bytes(), true, nil
}

// CancelHelpTask returns the more-help Task (FollowUpHelpTask) cancelled,
// with statusReason text WithdrawnHelpReason and lastModified now, while
// nobody has started on it (status requested or ready); changed is false
// (task returned) otherwise: staff who took it up decide what to do.
func CancelHelpTask(task []byte, now time.Time) (out []byte, changed bool, err error) {
	doc, err := fhir.ParseObject(task)
	if err != nil {
		return nil, false, issueErr(socialrx.EINVALID, "structure", "Task", "invalid JSON")
	}
	if s := statusOf(task); s != "requested" && s != "ready" {
		return task, false, nil
	}
	setTaskMember(doc, "status", marshal("cancelled"))
	setTaskMember(doc, "statusReason", marshal(conceptJSONOut{Text: WithdrawnHelpReason}))
	setTaskMember(doc, "lastModified", marshal(dateTime(now)))
	return doc.Bytes(), true, nil
}

// ReviveHelpTask returns the more-help Task that CancelHelpTask cancelled
// (status cancelled, statusReason text WithdrawnHelpReason) requested
// again, without that reason, lastModified now: the same answer, asking
// for help, was given again. changed is false (task returned) for any
// other Task: one staff cancelled stays so.
func ReviveHelpTask(task []byte, now time.Time) (out []byte, changed bool, err error) {
	return ReopenTask(task, now, WithdrawnHelpReason)
}

// ReopenTask returns task (an R4 Task) requested again, without its
// statusReason, lastModified now, when socialrx ended it (status cancelled
// or completed) for one of reasons: what ended it was withdrawn. changed
// is false (task returned) for any other Task, so one staff ended, or one
// ended since for another reason, stays so.
func ReopenTask(task []byte, now time.Time, reasons ...string) (out []byte, changed bool, err error) {
	doc, err := fhir.ParseObject(task)
	if err != nil {
		return nil, false, issueErr(socialrx.EINVALID, "structure", "Task", "invalid JSON")
	}
	var head struct {
		Status       string `json:"status"`
		StatusReason struct {
			Text string `json:"text"`
		} `json:"statusReason"`
	}
	_ = json.Unmarshal(task, &head)
	if (head.Status != "cancelled" && head.Status != "completed") || !slices.Contains(reasons, head.StatusReason.Text) {
		return task, false, nil
	}
	setTaskMember(doc, "status", marshal("requested"))
	doc.Del("statusReason")
	setTaskMember(doc, "lastModified", marshal(dateTime(now)))
	return doc.Bytes(), true, nil
}

// RevertGoal returns goal (an R4 Goal) without what the withdrawn outcome
// set, as far as it still shows and was not changed since:
//
//   - achievementStatus, when it still holds withdrawn.GoalAchievement:
//     standing's (the outcome of the latest answered follow-up of the
//     prescription that still stands) when it has one, else removed
//     (socialrx keeps no record of a value from before the outcome);
//   - lifecycleStatus completed, when the withdrawn outcome completed it
//     and standing does not: active.
//
// statusDate is today (now's date) when anything changed; changed is false
// (goal returned) otherwise. Every other member keeps its bytes and order.
func RevertGoal(goal []byte, withdrawn socialrx.Outcome, standing *socialrx.Outcome, now time.Time) (out []byte, changed bool, err error) {
	doc, err := fhir.ParseObject(goal)
	if err != nil {
		return nil, false, issueErr(socialrx.EINVALID, "structure", "Goal", "invalid JSON")
	}
	var head struct {
		LifecycleStatus   string          `json:"lifecycleStatus"`
		AchievementStatus codeableConcept `json:"achievementStatus"`
	}
	_ = json.Unmarshal(goal, &head)
	var want socialrx.GoalAchievement
	completed := false
	if standing != nil {
		want, completed = standing.GoalAchievement, standing.GoalCompleted
	}
	if withdrawn.GoalAchievement != "" && head.AchievementStatus.has(systemGoalAchievement, string(withdrawn.GoalAchievement)) &&
		want != withdrawn.GoalAchievement {
		if want != "" {
			setMember(doc, goalElements, "achievementStatus", marshal(achievement(want)))
		} else {
			doc.Del("achievementStatus")
		}
		changed = true
	}
	if withdrawn.GoalCompleted && !completed && head.LifecycleStatus == "completed" {
		setMember(doc, goalElements, "lifecycleStatus", marshal("active"))
		changed = true
	}
	if !changed {
		return goal, false, nil
	}
	setMember(doc, goalElements, "statusDate", marshal(now.UTC().Format(time.DateOnly)))
	return doc.Bytes(), true, nil
}
