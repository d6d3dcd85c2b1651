-- contactd schema, version 10: SMS.

-- A citizen who texted STOP gets no more texts from us until they text START (recorded as events too).
ALTER TABLE citizens ADD COLUMN sms_opted_out boolean NOT NULL DEFAULT false;
-- An agent's text as Twilio knows it (MessageSid), and how far it got: queued, sent, delivered,
-- undelivered or failed (status callbacks may come out of order: the furthest is kept).
ALTER TABLE messages ADD COLUMN external_id text;
ALTER TABLE messages ADD COLUMN delivery text;
CREATE INDEX messages_external ON messages (external_id) WHERE external_id IS NOT NULL;
