-- contactd schema, version 8: call recording, per queue.

-- Days a queue's call recordings are kept (0: calls to it are not recorded).
ALTER TABLE queues ADD COLUMN recording_days smallint NOT NULL DEFAULT 0 CHECK (recording_days BETWEEN 0 AND 3650);
-- Where a call's recording is, under the data directory (while it is kept).
ALTER TABLE conversations ADD COLUMN recording text;
