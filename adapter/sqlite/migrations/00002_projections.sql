-- Projection tables: the domain rows derived from FHIR writes in the same
-- transaction (see adapter/internal/sqlstore/project.go). Each row is keyed
-- by its source resource, replaced on every new version of it and removed
-- when it is deleted. Times are unix microseconds, 0 when absent; lists
-- are JSON arrays of strings.

-- +goose Up
CREATE TABLE findings (
    res_type     TEXT    NOT NULL, -- Observation | QuestionnaireResponse
    res_id       TEXT    NOT NULL,
    ord          INTEGER NOT NULL, -- position in the mapping's output
    source       TEXT    NOT NULL, -- Finding.Source
    patient_id   TEXT    NOT NULL,
    domain       TEXT    NOT NULL,
    instrument   TEXT    NOT NULL,
    item_code    TEXT    NOT NULL,
    answer_code  TEXT    NOT NULL DEFAULT '',
    positive     INTEGER NOT NULL,
    effective_at INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (res_type, res_id, ord)
);
CREATE INDEX findings_patient ON findings (patient_id);

CREATE TABLE needs (
    condition_id TEXT    NOT NULL PRIMARY KEY,
    patient_id   TEXT    NOT NULL,
    domain       TEXT    NOT NULL,
    system       TEXT    NOT NULL DEFAULT '',
    code         TEXT    NOT NULL DEFAULT '',
    display      TEXT    NOT NULL DEFAULT '',
    status       TEXT    NOT NULL DEFAULT '',
    recorded_at  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX needs_patient ON needs (patient_id);

CREATE TABLE prescriptions (
    service_request_id TEXT    NOT NULL PRIMARY KEY,
    patient_id         TEXT    NOT NULL,
    form               TEXT    NOT NULL,
    form_derived       INTEGER NOT NULL,
    needs              TEXT    NOT NULL DEFAULT '[]',
    need_refs          TEXT    NOT NULL DEFAULT '[]',
    code_system        TEXT    NOT NULL DEFAULT '',
    code               TEXT    NOT NULL DEFAULT '',
    code_display       TEXT    NOT NULL DEFAULT '',
    target             TEXT    NOT NULL DEFAULT '',
    channel            TEXT    NOT NULL DEFAULT '',
    status             TEXT    NOT NULL DEFAULT '',
    requester          TEXT    NOT NULL DEFAULT '',
    authored_on        INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX prescriptions_patient ON prescriptions (patient_id);

CREATE TABLE referrals (
    task_id         TEXT    NOT NULL PRIMARY KEY,
    prescription_id TEXT    NOT NULL,
    patient_id      TEXT    NOT NULL,
    requester       TEXT    NOT NULL DEFAULT '',
    performer       TEXT    NOT NULL DEFAULT '',
    status          TEXT    NOT NULL,
    business_status TEXT    NOT NULL DEFAULT '',
    status_reason   TEXT    NOT NULL DEFAULT '',
    last_changed    INTEGER NOT NULL DEFAULT 0,
    delivery_state  TEXT    NOT NULL DEFAULT '',
    delivery_error  TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX referrals_patient ON referrals (patient_id);
CREATE INDEX referrals_prescription ON referrals (prescription_id);

CREATE TABLE follow_ups (
    task_id         TEXT    NOT NULL PRIMARY KEY,
    prescription_id TEXT    NOT NULL,
    patient_id      TEXT    NOT NULL,
    due             INTEGER NOT NULL DEFAULT 0,
    channel         TEXT    NOT NULL DEFAULT '',
    owner           TEXT    NOT NULL DEFAULT '',
    status          TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX follow_ups_patient ON follow_ups (patient_id);
CREATE INDEX follow_ups_prescription ON follow_ups (prescription_id);

-- +goose Down
DROP TABLE follow_ups;
DROP TABLE referrals;
DROP TABLE prescriptions;
DROP TABLE needs;
DROP TABLE findings;
