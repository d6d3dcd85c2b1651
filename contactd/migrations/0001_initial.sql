-- contactd schema, version 1: the system of record.
-- Every contact, message, offer, state change and audit event is committed
-- here before a channel is told "accepted". Redis holds only routing state
-- and is rebuilt from these tables.

CREATE TABLE tenants (
    id          text PRIMARY KEY,
    name        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE queues (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id       text NOT NULL REFERENCES tenants (id),
    name            text NOT NULL CHECK (name ~ '^[a-z0-9][a-z0-9-]{0,39}$'),
    display_name    text NOT NULL,
    display_name_cy text,
    priority        integer NOT NULL DEFAULT 0,
    active          boolean NOT NULL DEFAULT true,
    UNIQUE (tenant_id, name)
);

CREATE TABLE users (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id     text NOT NULL REFERENCES tenants (id),
    username      text NOT NULL,
    display_name  text NOT NULL,
    role          text NOT NULL CHECK (role IN ('agent', 'supervisor', 'admin')),
    password_hash text NOT NULL,            -- argon2id, argon2-cffi's encoded form
    active        boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, username)
);

CREATE TABLE skills (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id text NOT NULL REFERENCES tenants (id),
    name      text NOT NULL,
    UNIQUE (tenant_id, name)
);

-- A queue serves contacts that need these skills, each at least min_level.
CREATE TABLE queue_skills (
    queue_id  bigint NOT NULL REFERENCES queues (id) ON DELETE CASCADE,
    skill_id  bigint NOT NULL REFERENCES skills (id) ON DELETE CASCADE,
    min_level smallint NOT NULL DEFAULT 1 CHECK (min_level BETWEEN 1 AND 5),
    PRIMARY KEY (queue_id, skill_id)
);

CREATE TABLE agent_skills (
    user_id  bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    skill_id bigint NOT NULL REFERENCES skills (id) ON DELETE CASCADE,
    level    smallint NOT NULL CHECK (level BETWEEN 1 AND 5),
    PRIMARY KEY (user_id, skill_id)
);

-- Concurrent contacts per channel; a missing row means the deployment default.
CREATE TABLE agent_capacity (
    user_id  bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    channel  text NOT NULL CHECK (channel IN ('voice', 'chat', 'sms', 'email')),
    capacity smallint NOT NULL CHECK (capacity BETWEEN 0 AND 50),
    PRIMARY KEY (user_id, channel)
);

CREATE TABLE sessions (
    token_hash  bytea PRIMARY KEY,          -- sha256 of the cookie value; the value itself is never stored
    user_id     bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL
);
CREATE INDEX sessions_expiry ON sessions (expires_at);

CREATE TABLE citizens (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id    text NOT NULL REFERENCES tenants (id),
    display_name text NOT NULL,
    language     text NOT NULL DEFAULT 'en' CHECK (language IN ('en', 'cy')),
    phone        text,
    email        text,
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE conversations (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id        text NOT NULL REFERENCES tenants (id),
    channel          text NOT NULL CHECK (channel IN ('voice', 'chat', 'sms', 'email')),
    queue_id         bigint NOT NULL REFERENCES queues (id),
    citizen_id       uuid NOT NULL REFERENCES citizens (id),
    state            text NOT NULL CHECK (state IN ('queued', 'offered', 'assigned', 'wrapup', 'closed', 'abandoned')),
    priority         integer NOT NULL DEFAULT 0 CHECK (priority BETWEEN 0 AND 999),
    language         text NOT NULL DEFAULT 'en',
    external_id      text,                  -- Twilio CallSid/MessageSid, email Message-ID
    resume_token_hash bytea,
    agent_id         bigint REFERENCES users (id),
    created_at       timestamptz NOT NULL DEFAULT now(),
    queued_at        timestamptz NOT NULL DEFAULT now(),
    assigned_at      timestamptz,
    ended_at         timestamptz,
    ended_by         text CHECK (ended_by IN ('agent', 'citizen', 'system')),
    closed_at        timestamptz,
    disposition      text,
    notes            text,
    UNIQUE (tenant_id, channel, external_id)
);
CREATE INDEX conversations_live ON conversations (tenant_id, state) WHERE state IN ('queued', 'offered', 'assigned', 'wrapup');
CREATE UNIQUE INDEX conversations_resume ON conversations (resume_token_hash) WHERE resume_token_hash IS NOT NULL;

CREATE TABLE messages (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    conversation_id uuid NOT NULL REFERENCES conversations (id),
    sender          text NOT NULL CHECK (sender IN ('citizen', 'agent', 'system')),
    client_id       text NOT NULL,          -- the sender's own id: a re-sent id is stored once
    agent_id        bigint REFERENCES users (id),
    body            text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (conversation_id, sender, client_id)
);

CREATE TABLE offers (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    conversation_id uuid NOT NULL REFERENCES conversations (id),
    agent_id        bigint NOT NULL REFERENCES users (id),
    offered_at      timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL,
    outcome         text CHECK (outcome IN ('accepted', 'rejected', 'timeout', 'withdrawn')),
    decided_at      timestamptz
);
CREATE INDEX offers_open ON offers (conversation_id) WHERE outcome IS NULL;

-- Append-only audit log: every state change and routing decision.
CREATE TABLE events (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id       text NOT NULL,
    at              timestamptz NOT NULL DEFAULT now(),
    type            text NOT NULL,
    conversation_id uuid,
    agent_id        bigint,
    data            jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX events_conversation ON events (conversation_id, id) WHERE conversation_id IS NOT NULL;
CREATE INDEX events_tenant_time ON events (tenant_id, at);

CREATE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'events is append-only';
END $$;
CREATE TRIGGER events_no_update BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_append_only();
