-- The day's close of a department (issue 16). A close takes in every settled
-- payment of the department not taken in by an earlier close, up to the
-- moment it runs, and keeps its report: a closed day never changes, and a
-- payment that settles late (after its day was closed) goes into the next
-- close, marked with the day it belongs to. Portable SQL; times are Unix ms.
CREATE TABLE day_closes (
    id TEXT PRIMARY KEY,
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    department_id TEXT NOT NULL REFERENCES departments (id),
    -- The department's local date, YYYY-MM-DD.
    business_date TEXT NOT NULL,
    closed_at BIGINT NOT NULL,
    -- The report as JSON, as the close answered it.
    report TEXT NOT NULL
);

-- Closing a day twice answers the first close.
CREATE UNIQUE INDEX day_closes_one_per_day ON day_closes (department_id, business_date);

-- Which close took in which payment: each payment at most once.
CREATE TABLE day_close_payments (
    close_id TEXT NOT NULL REFERENCES day_closes (id),
    payment_id TEXT NOT NULL REFERENCES payments (id),
    PRIMARY KEY (payment_id)
);
