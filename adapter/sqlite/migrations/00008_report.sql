-- The program report (socialrx.ProgramReport, ../../../report.go; queries in
-- adapter/internal/sqlstore/report.go): projection rows written in the same
-- transaction as their source resource, so that the report is SQL
-- aggregates over narrow rows, never a scan of resource JSON.
--
-- follow_up_results: one row per answered follow-up QuestionnaireResponse
-- (the Outcome's answers; the report takes a prescription's latest).
-- billed_visits: one row per ChargeItem with an OHIP fee code.
-- referrals.first_contact: when the referral first reached a status the
-- program sets (accepted, rejected, on-hold, in-progress, completed); kept
-- once set. Rows older than this migration get their last change when
-- their status is already one of those (the best the table knows).
-- Times are unix microseconds.

-- +goose Up
CREATE TABLE follow_up_results (
    response_id     TEXT    NOT NULL PRIMARY KEY, -- QuestionnaireResponse id
    prescription_id TEXT    NOT NULL,
    patient_id      TEXT    NOT NULL,
    pursued         TEXT    NOT NULL DEFAULT '',
    satisfaction    INTEGER NOT NULL DEFAULT 0,  -- 1..5, 0 unanswered
    wellbeing       TEXT    NOT NULL DEFAULT '',
    next_step       TEXT    NOT NULL DEFAULT '',
    answered_at     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX follow_up_results_prescription ON follow_up_results (prescription_id, answered_at);

CREATE TABLE billed_visits (
    charge_item_id TEXT    NOT NULL PRIMARY KEY,
    patient_id     TEXT    NOT NULL DEFAULT '',
    encounter_id   TEXT    NOT NULL DEFAULT '',
    code           TEXT    NOT NULL,
    status         TEXT    NOT NULL,
    occurred_at    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX billed_visits_occurred ON billed_visits (occurred_at);

ALTER TABLE referrals ADD COLUMN first_contact INTEGER NOT NULL DEFAULT 0;
UPDATE referrals SET first_contact = last_changed
WHERE status IN ('accepted', 'rejected', 'on-hold', 'in-progress', 'completed');

CREATE INDEX prescriptions_authored ON prescriptions (authored_on);

-- +goose Down
DROP INDEX prescriptions_authored;
ALTER TABLE referrals DROP COLUMN first_contact;
DROP TABLE billed_visits;
DROP TABLE follow_up_results;
