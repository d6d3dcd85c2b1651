-- contactd schema, version 12: mail out, case references, attachments.

-- The case reference a citizen quotes (in a subject too, to keep a reply with its case), the address they
-- wrote to (our replies come from it), and the subject the conversation goes by.
ALTER TABLE conversations ADD COLUMN reference text;
CREATE UNIQUE INDEX conversations_reference ON conversations (tenant_id, reference) WHERE reference IS NOT NULL;
ALTER TABLE conversations ADD COLUMN mailbox text;
ALTER TABLE messages ADD COLUMN subject text;

-- Each address's acknowledgement: NULL keeps the built-in bilingual text, '' sends none.
ALTER TABLE mailboxes ADD COLUMN acknowledgement_en text;
ALTER TABLE mailboxes ADD COLUMN acknowledgement_cy text;

-- Mail waiting to go out through the relay, kept until the relay took it: a relay outage delays a reply,
-- never loses it. Tried again with backoff; 'failed' only when the relay refused it for good.
CREATE TABLE mail_outbox (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id       text NOT NULL REFERENCES tenants (id),
    conversation_id uuid NOT NULL REFERENCES conversations (id),
    message_id      bigint REFERENCES messages (id),   -- the adviser's message; NULL for an acknowledgement
    header_id       text NOT NULL UNIQUE,              -- our Message-ID
    sender          text NOT NULL,
    recipient       text NOT NULL,
    mail            bytea NOT NULL,                     -- the message exactly as it is sent
    state           text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'sent', 'failed')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz
);
CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt_at) WHERE state = 'queued';

-- Files that came with a citizen's mail, within the size and type limits.
CREATE TABLE attachments (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    conversation_id uuid NOT NULL REFERENCES conversations (id),
    message_id      bigint NOT NULL REFERENCES messages (id),
    filename        text NOT NULL,
    content_type    text NOT NULL,
    size            integer NOT NULL,
    data            bytea NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX attachments_message ON attachments (message_id);

-- Mail recorded before this version: its Message-ID is in client_id only (replies find it by external_id),
-- and its conversations get a reference, so that replies to old cases still join them.
UPDATE messages m SET external_id = m.client_id FROM conversations c
WHERE c.id = m.conversation_id AND c.channel = 'email' AND m.sender = 'citizen' AND m.external_id IS NULL;
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT id FROM conversations WHERE channel = 'email' AND reference IS NULL LOOP
        LOOP
            BEGIN
                UPDATE conversations SET reference = 'CD-' || (
                    SELECT string_agg(substr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', 1 + floor(random() * 32)::int, 1), '')
                    FROM generate_series(1, 6)
                ) WHERE id = r.id;
                EXIT;
            EXCEPTION WHEN unique_violation THEN
                -- taken: draw again
            END;
        END LOOP;
    END LOOP;
END $$;
