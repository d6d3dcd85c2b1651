-- Put a new conversation at its place in its queue, once; reserved for the citizen's previous agent
-- (until ARGV[10]) when ARGV[9] names one.
-- KEYS[1] conv hash      KEYS[2] queue zset
-- ARGV[1] conversation id  ARGV[2] queue  ARGV[3] channel  ARGV[4] priority
-- ARGV[5] enqueued ms      ARGV[6] score  ARGV[7] citizen name  ARGV[8] language
-- ARGV[9] agent id it waits for first ('' for none)  ARGV[10] until when (ms)
-- Returns the 1-based position in the queue, or 0 if the conversation is already routed.
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
redis.call('DEL', key('closed', ARGV[1]))  -- a conversation opened again (a reply to a closed email)
redis.call('HSET', KEYS[1], 'id', ARGV[1], 'queue', ARGV[2], 'channel', ARGV[3], 'priority', ARGV[4],
  'enqueued_ms', ARGV[5], 'score', ARGV[6], 'name', ARGV[7], 'language', ARGV[8],
  'state', 'queued', 'agent', '')
if ARGV[9] ~= '' then
  redis.call('HSET', KEYS[1], 'reserved_for', ARGV[9], 'reserved_until', ARGV[10], 'reserved_rule', 'previous agent')
  redis.call('ZADD', key('held', ARGV[9]), ARGV[6], ARGV[1])
end
queue_add(ARGV[2], ARGV[3], ARGV[6], ARGV[1])
return redis.call('ZRANK', KEYS[2], ARGV[1]) + 1
