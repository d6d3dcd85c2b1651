-- Put a new conversation at its place in its queue, once.
-- KEYS[1] conv hash      KEYS[2] queue zset
-- ARGV[1] conversation id  ARGV[2] queue  ARGV[3] channel  ARGV[4] priority
-- ARGV[5] enqueued ms      ARGV[6] score  ARGV[7] citizen name  ARGV[8] language
-- Returns the 1-based position in the queue, or 0 if the conversation is already routed.
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
redis.call('HSET', KEYS[1], 'id', ARGV[1], 'queue', ARGV[2], 'channel', ARGV[3], 'priority', ARGV[4],
  'enqueued_ms', ARGV[5], 'score', ARGV[6], 'name', ARGV[7], 'language', ARGV[8],
  'state', 'queued', 'agent', '')
queue_add(ARGV[2], ARGV[3], ARGV[6], ARGV[1])
return redis.call('ZRANK', KEYS[2], ARGV[1]) + 1
