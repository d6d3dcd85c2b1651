-- contactd schema, version 6: phone calls.

-- A call is recorded when it rings in (idempotent by CallSid: conversations.external_id), while the
-- caller is still in the phone menu: state 'arriving'. It joins its queue once its media stream
-- starts. Routing state is rebuilt only from queued, offered, assigned and wrapup conversations.
ALTER TABLE conversations DROP CONSTRAINT conversations_state_check;
ALTER TABLE conversations ADD CONSTRAINT conversations_state_check
    CHECK (state IN ('arriving', 'queued', 'offered', 'assigned', 'wrapup', 'closed', 'abandoned'));
