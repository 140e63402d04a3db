-- The outbox of warm hand-offs and write-backs, and the inbox of platform
-- messages (see adapter/internal/sqlstore/outbox.go and ../../delivery.go).
-- outbox rows are written in the transaction of the change that causes the
-- message, with the River job that delivers it; the job updates state.
-- inbox rows record each platform message handled, in the transaction that
-- applies it, so a redelivered message changes nothing.

-- +goose Up
CREATE TABLE outbox (
    id          TEXT    NOT NULL PRIMARY KEY, -- MessageHeader.id (UUID), stable per change
    destination TEXT    NOT NULL,             -- platform | emr
    endpoint_id TEXT    NOT NULL,
    event       TEXT    NOT NULL,             -- message event, or task-update / resource-create
    res_type    TEXT    NOT NULL,
    res_id      TEXT    NOT NULL,
    version     INTEGER NOT NULL,
    referral_id TEXT    NOT NULL DEFAULT '',
    seq         INTEGER NOT NULL,             -- order within (referral_id, destination)
    state       TEXT    NOT NULL,             -- pending | delivered | failed
    attempts    INTEGER NOT NULL DEFAULT 0,
    error       TEXT    NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX outbox_referral ON outbox (referral_id, destination, seq);
CREATE INDEX outbox_state ON outbox (state, created_at);

CREATE TABLE inbox (
    endpoint_id TEXT    NOT NULL,
    message_id  TEXT    NOT NULL,
    event       TEXT    NOT NULL,
    received_at INTEGER NOT NULL,
    PRIMARY KEY (endpoint_id, message_id)
);

-- poll_marks: where the last poll of an hl7-fhir-rest platform ended (the
-- greatest Task meta.lastUpdated applied, as the platform wrote it).
CREATE TABLE poll_marks (
    endpoint_id TEXT    NOT NULL PRIMARY KEY,
    since       TEXT    NOT NULL
);

-- flag: an illegal status change a platform sent, kept and flagged for staff.
ALTER TABLE referrals ADD COLUMN flag TEXT NOT NULL DEFAULT '';
-- endpoint_id: the platform Endpoint the referral is delivered to / came from.
ALTER TABLE referrals ADD COLUMN endpoint_id TEXT NOT NULL DEFAULT '';
-- incoming: socialrx is the receiving side (the referral came from the
-- platform endpoint_id in an add-service-request); its status changes go
-- back there.
ALTER TABLE referrals ADD COLUMN incoming INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE referrals DROP COLUMN incoming;
ALTER TABLE referrals DROP COLUMN endpoint_id;
ALTER TABLE referrals DROP COLUMN flag;
DROP TABLE poll_marks;
DROP TABLE inbox;
DROP TABLE outbox;
