-- contactd schema, version 4: escalation steps per queue (like bullseye rings).
-- A JSON list, each step reached after "after_s" seconds of waiting, each doing any of:
--   {"after_s": 60,  "raise_priority": 50}        add to the contact's priority (capped at 999)
--   {"after_s": 120, "overflow": ["general"]}     advisers of these queues may take it too
--   {"after_s": 180, "relax_level": 1}            advisers one level short of the minimum may take it
ALTER TABLE queues ADD COLUMN escalation jsonb NOT NULL DEFAULT '[]';
ALTER TABLE conversations ADD COLUMN escalation_step smallint NOT NULL DEFAULT 0;
