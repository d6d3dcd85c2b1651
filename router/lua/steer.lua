-- A supervisor steers a waiting contact: to another queue, to a new priority, or both. It keeps its
-- arrival time, starts its escalation again from the new queue's first step, and waits for anyone
-- serving that queue (a reservation for one adviser ends).
-- KEYS[1] conv hash
-- ARGV[1] conversation id  ARGV[2] queue it goes to  ARGV[3] priority  ARGV[4] score
-- Returns 'OK', or 'not_waiting' when it is no longer waiting (offered, answered or gone).
local c = redis.call('HMGET', KEYS[1], 'state', 'queue', 'channel', 'reserved_for')
if c[1] ~= 'queued' then
  return 'not_waiting'
end
if c[4] and c[4] ~= '' then
  redis.call('ZREM', key('held', c[4]), ARGV[1])
end
queue_remove(c[2], c[3], ARGV[1])
redis.call('HSET', KEYS[1], 'queue', ARGV[2], 'priority', ARGV[3], 'base_priority', ARGV[3], 'score', ARGV[4],
  'step', 0, 'overflow', '', 'relax', 0, 'reserved_for', '', 'reserved_until', 0)
queue_add(ARGV[2], c[3], ARGV[4], ARGV[1])
return 'OK'
