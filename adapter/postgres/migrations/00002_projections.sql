-- Projection tables: the domain rows derived from FHIR writes in the same
-- transaction (see adapter/internal/sqlstore/project.go). Each row is keyed
-- by its source resource, replaced on every new version of it and removed
-- when it is deleted. Text keys use COLLATE "C" (byte order, as in 00001). Times are unix microseconds, 0 when absent; lists
-- are JSON arrays of strings.

-- +goose Up
CREATE TABLE findings (
    res_type     text COLLATE "C" NOT NULL, -- Observation | QuestionnaireResponse
    res_id       text COLLATE "C" NOT NULL,
    ord          integer NOT NULL, -- position in the mapping's output
    source       text COLLATE "C" NOT NULL, -- Finding.Source
    patient_id   text COLLATE "C" NOT NULL,
    domain       text COLLATE "C" NOT NULL,
    instrument   text COLLATE "C" NOT NULL,
    item_code    text COLLATE "C" NOT NULL,
    answer_code  text COLLATE "C" NOT NULL DEFAULT '',
    positive     boolean NOT NULL,
    effective_at bigint  NOT NULL DEFAULT 0,
    PRIMARY KEY (res_type, res_id, ord)
);
CREATE INDEX findings_patient ON findings (patient_id);

CREATE TABLE needs (
    condition_id text COLLATE "C" NOT NULL PRIMARY KEY,
    patient_id   text COLLATE "C" NOT NULL,
    domain       text COLLATE "C" NOT NULL,
    system       text COLLATE "C" NOT NULL DEFAULT '',
    code         text COLLATE "C" NOT NULL DEFAULT '',
    display      text COLLATE "C" NOT NULL DEFAULT '',
    status       text COLLATE "C" NOT NULL DEFAULT '',
    recorded_at  bigint  NOT NULL DEFAULT 0
);
CREATE INDEX needs_patient ON needs (patient_id);

CREATE TABLE prescriptions (
    service_request_id text COLLATE "C" NOT NULL PRIMARY KEY,
    patient_id         text COLLATE "C" NOT NULL,
    form               text COLLATE "C" NOT NULL,
    form_derived       boolean NOT NULL,
    needs              text COLLATE "C" NOT NULL DEFAULT '[]',
    need_refs          text COLLATE "C" NOT NULL DEFAULT '[]',
    code_system        text COLLATE "C" NOT NULL DEFAULT '',
    code               text COLLATE "C" NOT NULL DEFAULT '',
    code_display       text COLLATE "C" NOT NULL DEFAULT '',
    target             text COLLATE "C" NOT NULL DEFAULT '',
    channel            text COLLATE "C" NOT NULL DEFAULT '',
    status             text COLLATE "C" NOT NULL DEFAULT '',
    requester          text COLLATE "C" NOT NULL DEFAULT '',
    authored_on        bigint  NOT NULL DEFAULT 0
);
CREATE INDEX prescriptions_patient ON prescriptions (patient_id);

CREATE TABLE referrals (
    task_id         text COLLATE "C" NOT NULL PRIMARY KEY,
    prescription_id text COLLATE "C" NOT NULL,
    patient_id      text COLLATE "C" NOT NULL,
    requester       text COLLATE "C" NOT NULL DEFAULT '',
    performer       text COLLATE "C" NOT NULL DEFAULT '',
    status          text COLLATE "C" NOT NULL,
    business_status text COLLATE "C" NOT NULL DEFAULT '',
    status_reason   text COLLATE "C" NOT NULL DEFAULT '',
    last_changed    bigint  NOT NULL DEFAULT 0,
    delivery_state  text COLLATE "C" NOT NULL DEFAULT '',
    delivery_error  text COLLATE "C" NOT NULL DEFAULT ''
);
CREATE INDEX referrals_patient ON referrals (patient_id);
CREATE INDEX referrals_prescription ON referrals (prescription_id);

CREATE TABLE follow_ups (
    task_id         text COLLATE "C" NOT NULL PRIMARY KEY,
    prescription_id text COLLATE "C" NOT NULL,
    patient_id      text COLLATE "C" NOT NULL,
    due             bigint  NOT NULL DEFAULT 0,
    channel         text COLLATE "C" NOT NULL DEFAULT '',
    owner           text COLLATE "C" NOT NULL DEFAULT '',
    status          text COLLATE "C" NOT NULL DEFAULT ''
);
CREATE INDEX follow_ups_patient ON follow_ups (patient_id);
CREATE INDEX follow_ups_prescription ON follow_ups (prescription_id);

-- +goose Down
DROP TABLE follow_ups;
DROP TABLE referrals;
DROP TABLE prescriptions;
DROP TABLE needs;
DROP TABLE findings;
