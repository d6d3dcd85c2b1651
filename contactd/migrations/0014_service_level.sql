-- contactd schema, version 14: a queue's own service level thresholds, by channel (seconds), where it
-- differs from the defaults (voice 20 s, chat 60 s, sms 15 min, email 8 h; docs/metrics.md).
ALTER TABLE queues ADD COLUMN service_level_s jsonb NOT NULL DEFAULT '{}'
    CHECK (jsonb_typeof(service_level_s) = 'object');
