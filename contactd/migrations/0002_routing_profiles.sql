-- contactd schema, version 2: routing profiles and queue strategies.

-- How a queue picks among the advisers who could take a contact.
ALTER TABLE queues ADD COLUMN strategy text NOT NULL DEFAULT 'longest-idle'
    CHECK (strategy IN ('longest-idle', 'fewest-active', 'most-skilled', 'round-robin'));

-- An adviser's routing profile: the order in which they serve their queues
-- (rank 1 first). Queues without a row follow, by queue priority.
CREATE TABLE agent_queue_rank (
    user_id  bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    queue_id bigint NOT NULL REFERENCES queues (id) ON DELETE CASCADE,
    rank     smallint NOT NULL CHECK (rank BETWEEN 1 AND 100),
    PRIMARY KEY (user_id, queue_id)
);

-- Cross-channel rule: while on a voice call, no new work of any kind (the default).
ALTER TABLE users ADD COLUMN voice_exclusive boolean NOT NULL DEFAULT true;
