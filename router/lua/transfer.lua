-- The agent hands an assigned conversation to a queue (and maybe a named agent): their slot is
-- freed and the conversation waits in the queue with its original arrival time, reserved for
-- the named agent until the reservation ends.
-- The agent who handed it on is not offered it back for a while (they chose to pass it on).
-- KEYS[1] conv hash  KEYS[2] agent hash  KEYS[3] new queue zset  KEYS[4] skip set
-- ARGV[1] conversation id  ARGV[2] agent id  ARGV[3] new queue name  ARGV[4] new score
-- ARGV[5] agent id it is reserved for ('' for none)  ARGV[6] reservation end ms  ARGV[7] skip time-to-live ms
-- Returns 'OK' or 'not_yours'.
local c = redis.call('HMGET', KEYS[1], 'state', 'agent', 'channel')
if c[2] ~= ARGV[2] or c[1] ~= 'assigned' then
  return 'not_yours'
end
redis.call('HSET', KEYS[1], 'state', 'queued', 'agent', '', 'queue', ARGV[3], 'score', ARGV[4],
  'reserved_for', ARGV[5], 'reserved_until', ARGV[6], 'reserved_rule', 'named agent')
queue_add(ARGV[3], c[3], ARGV[4], ARGV[1])
if ARGV[5] ~= '' then
  redis.call('ZADD', key('held', ARGV[5]), ARGV[4], ARGV[1])
end
redis.call('SADD', KEYS[4], ARGV[2])
redis.call('PEXPIRE', KEYS[4], ARGV[7])
unload(ARGV[2], c[3])
return 'OK'
