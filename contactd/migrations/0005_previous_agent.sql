-- contactd schema, version 5: a returning citizen is tried with the adviser they spoke to last.

-- Per queue: how many days back a citizen's previous adviser counts (0: never), and how long a
-- returning citizen waits for that adviser before anyone else may take the contact.
ALTER TABLE queues ADD COLUMN previous_agent_days smallint NOT NULL DEFAULT 7
    CHECK (previous_agent_days BETWEEN 0 AND 365);
ALTER TABLE queues ADD COLUMN previous_agent_wait_s smallint NOT NULL DEFAULT 30
    CHECK (previous_agent_wait_s BETWEEN 0 AND 600);

-- A web-chat citizen who asked to be remembered on their device: sha256 of the key their browser
-- keeps (the key itself is never stored). Phone and email citizens are known by number and address.
ALTER TABLE citizens ADD COLUMN key_hash bytea;
CREATE UNIQUE INDEX citizens_key ON citizens (tenant_id, key_hash) WHERE key_hash IS NOT NULL;

-- A citizen's conversations, latest first: where their previous adviser is found.
CREATE INDEX conversations_citizen ON conversations (citizen_id, assigned_at DESC) WHERE agent_id IS NOT NULL;
