-- The outbox of warm hand-offs and write-backs, and the inbox of platform
-- messages (see adapter/internal/sqlstore/outbox.go and ../../delivery.go).
-- outbox rows are written in the transaction of the change that causes the
-- message, with the River job that delivers it; the job updates state.
-- inbox rows record each platform message handled, in the transaction that
-- applies it, so a redelivered message changes nothing.

-- +goose Up
CREATE TABLE outbox (
    id          text COLLATE "C" NOT NULL PRIMARY KEY, -- MessageHeader.id (UUID), stable per change
    destination text COLLATE "C" NOT NULL,             -- platform | emr
    endpoint_id text COLLATE "C" NOT NULL,
    event       text COLLATE "C" NOT NULL,             -- message event, or task-update / resource-create
    res_type    text COLLATE "C" NOT NULL,
    res_id      text COLLATE "C" NOT NULL,
    version     bigint  NOT NULL,
    referral_id text COLLATE "C" NOT NULL DEFAULT '',
    seq         bigint  NOT NULL,             -- order within (referral_id, destination)
    state       text COLLATE "C" NOT NULL,             -- pending | delivered | failed
    attempts    bigint  NOT NULL DEFAULT 0,
    error       text COLLATE "C" NOT NULL DEFAULT '',
    created_at  bigint  NOT NULL,
    updated_at  bigint  NOT NULL
);
CREATE INDEX outbox_referral ON outbox (referral_id, destination, seq);
CREATE INDEX outbox_state ON outbox (state, created_at);

CREATE TABLE inbox (
    endpoint_id text COLLATE "C" NOT NULL,
    message_id  text COLLATE "C" NOT NULL,
    event       text COLLATE "C" NOT NULL,
    received_at bigint  NOT NULL,
    PRIMARY KEY (endpoint_id, message_id)
);

-- poll_marks: where the last poll of an hl7-fhir-rest platform ended (the
-- greatest Task meta.lastUpdated applied, as the platform wrote it).
CREATE TABLE poll_marks (
    endpoint_id text COLLATE "C" NOT NULL PRIMARY KEY,
    since       text COLLATE "C" NOT NULL
);

-- flag: an illegal status change a platform sent, kept and flagged for staff.
ALTER TABLE referrals ADD COLUMN flag text NOT NULL DEFAULT '';
-- endpoint_id: the platform Endpoint the referral is delivered to / came from.
ALTER TABLE referrals ADD COLUMN endpoint_id text COLLATE "C" NOT NULL DEFAULT '';
-- incoming: socialrx is the receiving side (the referral came from the
-- platform endpoint_id in an add-service-request); its status changes go
-- back there.
ALTER TABLE referrals ADD COLUMN incoming boolean NOT NULL DEFAULT false;

-- +goose Down
ALTER TABLE referrals DROP COLUMN incoming;
ALTER TABLE referrals DROP COLUMN endpoint_id;
ALTER TABLE referrals DROP COLUMN flag;
DROP TABLE poll_marks;
DROP TABLE inbox;
DROP TABLE outbox;
