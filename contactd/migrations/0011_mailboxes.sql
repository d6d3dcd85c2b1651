-- contactd schema, version 11: mail in. Each address the department takes mail for leads to a queue.
CREATE TABLE mailboxes (
    tenant_id text NOT NULL REFERENCES tenants (id),
    address   text NOT NULL CHECK (address = lower(address)),
    queue_id  bigint NOT NULL REFERENCES queues (id) ON DELETE CASCADE,
    PRIMARY KEY (tenant_id, address)
);
