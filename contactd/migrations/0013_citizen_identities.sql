-- contactd schema, version 13: one citizen, one timeline. A citizen record may be known by several phone
-- numbers and mail addresses (each verified: a caller's or texter's number, a mail's sender, or a number a
-- chat citizen proved with a code); each number or address belongs to one record. Supervisors merge
-- and split records (audited); a merged record points at the one it went into.
CREATE TABLE citizen_identities (
    tenant_id  text NOT NULL REFERENCES tenants (id),
    kind       text NOT NULL CHECK (kind IN ('phone', 'email')),
    value      text NOT NULL,
    citizen_id uuid NOT NULL REFERENCES citizens (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, kind, value)
);
CREATE INDEX citizen_identities_citizen ON citizen_identities (citizen_id);
INSERT INTO citizen_identities (tenant_id, kind, value, citizen_id)
SELECT DISTINCT ON (tenant_id, phone) tenant_id, 'phone', phone, id FROM citizens
WHERE phone IS NOT NULL ORDER BY tenant_id, phone, created_at DESC;
INSERT INTO citizen_identities (tenant_id, kind, value, citizen_id)
SELECT DISTINCT ON (tenant_id, email) tenant_id, 'email', email, id FROM citizens
WHERE email IS NOT NULL ORDER BY tenant_id, email, created_at DESC;

ALTER TABLE citizens ADD COLUMN merged_into uuid REFERENCES citizens (id);

-- The number or address this conversation is with: our replies and call backs go there, whichever
-- record the citizen is merged into later.
ALTER TABLE conversations ADD COLUMN contact text;
UPDATE conversations c SET contact = CASE WHEN c.channel = 'email' THEN z.email ELSE z.phone END
FROM citizens z WHERE z.id = c.citizen_id AND c.channel IN ('email', 'sms', 'voice');
