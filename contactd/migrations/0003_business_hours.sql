-- contactd schema, version 3: business hours and holidays per queue.

ALTER TABLE queues ADD COLUMN timezone text NOT NULL DEFAULT 'Europe/London';
ALTER TABLE queues ADD COLUMN observes_holidays boolean NOT NULL DEFAULT true;

-- Opening hours; a queue with no rows is open at all times.
CREATE TABLE queue_hours (
    queue_id bigint NOT NULL REFERENCES queues (id) ON DELETE CASCADE,
    weekday  smallint NOT NULL CHECK (weekday BETWEEN 0 AND 6),  -- 0 Monday ... 6 Sunday (ISO - 1)
    opens    time NOT NULL,
    closes   time NOT NULL CHECK (closes > opens),
    PRIMARY KEY (queue_id, weekday, opens)
);

-- Days the department is closed (bank holidays, closure days), for queues that observe them.
CREATE TABLE holidays (
    tenant_id text NOT NULL REFERENCES tenants (id),
    day       date NOT NULL,
    name      text NOT NULL,
    PRIMARY KEY (tenant_id, day)
);
