-- The program report counts a referral for the program it was sent to
-- (referrals.performer: the referral Task's owner), not for the
-- prescription's current performer, and leaves entered-in-error referral
-- Tasks out (docs/mapping.md, "The program report"; queries in
-- adapter/internal/sqlstore/report.go, kept up to date by sqlstore
-- refreshReferralReport).
--
-- referral_report: per prescription and program, its referrals' counts
-- and earliest first contact (as prescription_report had them per
-- prescription). prescription_report's referral columns are rebuilt from
-- it, without the entered-in-error Tasks. A row outlives its
-- prescription's (a dropped prescription is not joined). Times are unix
-- microseconds.

-- +goose Up
CREATE TABLE referral_report (
    prescription_id TEXT    NOT NULL,
    program         TEXT    NOT NULL, -- referrals.performer, '' none
    referrals       INTEGER NOT NULL DEFAULT 0,
    accepted        INTEGER NOT NULL DEFAULT 0, -- as prescription_report.accepted
    rejected        INTEGER NOT NULL DEFAULT 0,
    completed       INTEGER NOT NULL DEFAULT 0,
    first_contact   INTEGER NOT NULL DEFAULT 0, -- the earliest referrals.first_contact, 0 none
    PRIMARY KEY (prescription_id, program)
);

INSERT INTO referral_report (prescription_id, program, referrals, accepted, rejected, completed, first_contact)
SELECT prescription_id, performer, count(*),
  sum(CASE WHEN status IN ('accepted', 'on-hold', 'in-progress', 'completed') AND (delivery_state <> 'held' OR first_contact > 0) THEN 1 ELSE 0 END),
  sum(CASE WHEN status = 'rejected' THEN 1 ELSE 0 END),
  sum(CASE WHEN status = 'completed' THEN 1 ELSE 0 END),
  coalesce(min(CASE WHEN first_contact > 0 THEN first_contact END), 0)
FROM referrals WHERE status <> 'entered-in-error' GROUP BY prescription_id, performer;

UPDATE prescription_report SET
  referrals = coalesce((SELECT sum(r.referrals) FROM referral_report r WHERE r.prescription_id = prescription_report.prescription_id), 0),
  accepted = coalesce((SELECT sum(r.accepted) FROM referral_report r WHERE r.prescription_id = prescription_report.prescription_id), 0),
  rejected = coalesce((SELECT sum(r.rejected) FROM referral_report r WHERE r.prescription_id = prescription_report.prescription_id), 0),
  completed = coalesce((SELECT sum(r.completed) FROM referral_report r WHERE r.prescription_id = prescription_report.prescription_id), 0),
  first_contact = coalesce((SELECT min(r.first_contact) FROM referral_report r WHERE r.prescription_id = prescription_report.prescription_id AND r.first_contact > 0), 0);

-- +goose Down
DROP TABLE referral_report;
