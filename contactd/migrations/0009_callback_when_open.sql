-- contactd schema, version 9: a caller who rang while the line was closed may ask to be called back
-- when it opens; the call waits (state 'arriving') until then, and joins its queue at that time.
ALTER TABLE conversations ADD COLUMN callback_at timestamptz;
CREATE INDEX conversations_callback_due ON conversations (tenant_id, callback_at)
    WHERE state = 'arriving' AND callback_at IS NOT NULL;
