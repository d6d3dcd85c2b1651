-- A waiting contact reaches a further escalation step: record the step, raise its
-- priority (moving it up its queue) and widen who may take it (overflow queues).
-- KEYS[1] conv hash  KEYS[2] queue zset
-- ARGV[1] conversation id  ARGV[2] step reached  ARGV[3] new priority  ARGV[4] new score
-- ARGV[5] overflow queues, comma separated  ARGV[6] minimum skill levels relaxed by
-- Returns 1 if escalated, 0 if the contact is no longer waiting or already at that step.
local c = redis.call('HMGET', KEYS[1], 'state', 'step', 'priority', 'base_priority')
if c[1] ~= 'queued' or tonumber(c[2] or '0') >= tonumber(ARGV[2]) then
  return 0
end
if not c[4] then
  redis.call('HSET', KEYS[1], 'base_priority', c[3] or '0')
end
redis.call('HSET', KEYS[1], 'step', ARGV[2], 'priority', ARGV[3], 'score', ARGV[4], 'overflow', ARGV[5],
  'relax', ARGV[6])
redis.call('ZADD', KEYS[2], 'XX', ARGV[4], ARGV[1])
return 1
