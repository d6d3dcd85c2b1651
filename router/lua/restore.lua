-- Rebuild one live conversation's routing state from PostgreSQL (after Redis was emptied).
-- KEYS[1] conv hash  KEYS[2] queue zset  KEYS[3] agent hash (any key of the tenant when no agent)
-- KEYS[4] wrap-ups zset
-- ARGV[1] id  ARGV[2] queue  ARGV[3] channel  ARGV[4] priority  ARGV[5] enqueued ms  ARGV[6] score
-- ARGV[7] name  ARGV[8] language  ARGV[9] state (queued|assigned|wrapup)  ARGV[10] agent id or ''
-- ARGV[11] wrap-up deadline ms (for a conversation restored in wrap-up)
-- Returns 1 if restored, 0 if Redis already knew it, or it left routing since PostgreSQL was read.
if redis.call('EXISTS', KEYS[1]) == 1 or redis.call('EXISTS', key('closed', ARGV[1])) == 1 then
  return 0
end
redis.call('HSET', KEYS[1], 'id', ARGV[1], 'queue', ARGV[2], 'channel', ARGV[3], 'priority', ARGV[4],
  'enqueued_ms', ARGV[5], 'score', ARGV[6], 'name', ARGV[7], 'language', ARGV[8],
  'state', ARGV[9], 'agent', ARGV[10])
if ARGV[9] == 'queued' then
  queue_add(ARGV[2], ARGV[3], ARGV[6], ARGV[1])
else
  redis.call('HINCRBY', KEYS[3], 'load:' .. ARGV[3], 1)
  refresh(ARGV[10])
end
if ARGV[9] == 'wrapup' then
  redis.call('ZADD', KEYS[4], ARGV[11], ARGV[1])
end
return 1
