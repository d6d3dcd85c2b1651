-- An agent accepts the offer they hold.
-- KEYS[1] conv hash  KEYS[2] offers zset  KEYS[3] agent hash (its count of missed offers starts again)
-- ARGV[1] conversation id  ARGV[2] agent id  ARGV[3] now ms
-- Returns 'OK' or 'no_offer' (withdrawn, timed out, or never theirs).
local c = redis.call('HMGET', KEYS[1], 'state', 'agent')
if c[1] ~= 'offered' or c[2] ~= ARGV[2] then
  return 'no_offer'
end
redis.call('HSET', KEYS[1], 'state', 'assigned', 'assigned_ms', ARGV[3])
redis.call('HDEL', KEYS[1], 'deadline')
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HSET', KEYS[3], 'missed', 0)
return 'OK'
