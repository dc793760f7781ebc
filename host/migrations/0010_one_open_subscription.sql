-- One open subscription per patient (store/plans.rs subscribe): the check in
-- the write transaction gives the friendly 409, this index makes the rule hold
-- when two sign-ups race (on PostgreSQL both can pass the check; the second
-- insert then fails here and is answered with the same 409).
CREATE UNIQUE INDEX subscriptions_one_open_per_patient ON subscriptions (organisation_id, patient_id) WHERE status IN ('applied', 'active', 'suspended');
