-- The program report (socialrx.ProgramReport, ../../../report.go; queries in
-- adapter/internal/sqlstore/report.go): projection rows written in the same
-- transaction as their source resource, so that the report is SQL
-- aggregates over narrow rows, never a scan of resource JSON.
--
-- follow_up_results: one row per answered follow-up QuestionnaireResponse
-- (the Outcome's answers; the report takes a prescription's latest).
-- billed_visits: one row per ChargeItem with an OHIP fee code.
-- prescription_report: per prescription, what the report needs of its
-- referrals and latest follow-up result, kept up to date by the writes of
-- those rows (sqlstore refreshReport), so that the report reads one narrow
-- row per prescription. A row outlives its prescription's (a dropped
-- prescription is not joined).
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

CREATE TABLE prescription_report (
    prescription_id TEXT    NOT NULL PRIMARY KEY,
    referrals       INTEGER NOT NULL DEFAULT 0,
    accepted        INTEGER NOT NULL DEFAULT 0, -- accepted, on-hold, in-progress or completed now
    rejected        INTEGER NOT NULL DEFAULT 0,
    completed       INTEGER NOT NULL DEFAULT 0,
    first_contact   INTEGER NOT NULL DEFAULT 0, -- the earliest referrals.first_contact, 0 none
    followed_up     INTEGER NOT NULL DEFAULT 0, -- 1 when it has an answered follow-up
    pursued         TEXT    NOT NULL DEFAULT '', -- of the latest one
    satisfaction    INTEGER NOT NULL DEFAULT 0,
    wellbeing       TEXT    NOT NULL DEFAULT ''
);

ALTER TABLE referrals ADD COLUMN first_contact INTEGER NOT NULL DEFAULT 0;
UPDATE referrals SET first_contact = last_changed
WHERE status IN ('accepted', 'rejected', 'on-hold', 'in-progress', 'completed');

CREATE INDEX prescriptions_authored ON prescriptions (authored_on);

INSERT INTO prescription_report (prescription_id, referrals, accepted, rejected, completed, first_contact)
SELECT prescription_id, count(*),
  sum(CASE WHEN status IN ('accepted', 'on-hold', 'in-progress', 'completed') THEN 1 ELSE 0 END),
  sum(CASE WHEN status = 'rejected' THEN 1 ELSE 0 END),
  sum(CASE WHEN status = 'completed' THEN 1 ELSE 0 END),
  coalesce(min(CASE WHEN first_contact > 0 THEN first_contact END), 0)
FROM referrals GROUP BY prescription_id;

-- +goose Down
DROP INDEX prescriptions_authored;
ALTER TABLE referrals DROP COLUMN first_contact;
DROP TABLE prescription_report;
DROP TABLE billed_visits;
DROP TABLE follow_up_results;
