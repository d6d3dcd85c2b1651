-- contactd schema, version 7: calling a caller back instead of keeping them on hold.

-- The number the caller dialled (the department's, from Twilio's "To"): a call back comes from it.
ALTER TABLE conversations ADD COLUMN called_number text;
-- A caller who chose to be called back: the number to call, kept with their place in the queue,
-- and, once an adviser took it and the call was placed, that outbound call's CallSid.
ALTER TABLE conversations ADD COLUMN callback_number text;
ALTER TABLE conversations ADD COLUMN callback_sid text;
CREATE UNIQUE INDEX conversations_callback_sid ON conversations (tenant_id, callback_sid) WHERE callback_sid IS NOT NULL;
