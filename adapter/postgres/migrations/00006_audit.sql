-- The audit trail (socialrx.AuditRecord, ../../../audit.go; queries in
-- adapter/internal/sqlstore/audit.go). One row per AuditEvent, appended and
-- never changed: the columns searches use, and the FHIR AuditEvent as body.
-- Kept apart from resources so that an audited read costs one narrow row
-- (five B-tree entries), not a resource version with a dozen index rows.
-- Times are unix microseconds.

-- +goose Up
CREATE TABLE audit_events (
    seq      bigserial PRIMARY KEY,
    id       text COLLATE "C" NOT NULL UNIQUE,
    recorded bigint NOT NULL,
    agent    text COLLATE "C" NOT NULL,            -- Device/<id>
    entity   text COLLATE "C" NOT NULL DEFAULT '', -- Type/id
    patient  text COLLATE "C" NOT NULL DEFAULT '', -- Patient/id
    subtype  text COLLATE "C" NOT NULL DEFAULT '',
    action   text COLLATE "C" NOT NULL,
    outcome  text COLLATE "C" NOT NULL,
    body     json NOT NULL
);
CREATE INDEX audit_events_recorded ON audit_events (recorded);
CREATE INDEX audit_events_agent ON audit_events (agent, recorded);
CREATE INDEX audit_events_entity ON audit_events (entity, recorded) WHERE entity <> '';
CREATE INDEX audit_events_patient ON audit_events (patient, recorded) WHERE patient <> '';

-- +goose Down
DROP TABLE audit_events;
