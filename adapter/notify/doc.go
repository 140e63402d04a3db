// Package notify holds socialrx's Notifier adapters (socialrx.Notifier,
// notify.go in the root): Email, over SMTP with github.com/wneessen/go-mail,
// and SMS, a small resty client of a configurable SMS HTTP gateway. Each
// Send is one attempt; a failure is a *socialrx.SendError classified by the
// retry policy (retry.go), retried and dead-lettered by the job queue
// (adapter/jobs), never here.
//
// The messages (message.go) name the clinic and carry the signed link and
// its expiry date, nothing else: no patient name, no program, no need.
// Errors and reasons name SMTP reply codes and HTTP statuses, never an
// address or the message text.
package notify
