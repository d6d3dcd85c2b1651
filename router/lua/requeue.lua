-- An offer was declined or timed out: free the agent's slot and put the conversation
-- back at its old place in its queue; the agent is not offered it again until the skip set expires.
-- A missed offer (timeout) adds to the agent's count of offers missed in a row.
-- KEYS[1] conv hash  KEYS[2] agent hash  KEYS[3] queue zset  KEYS[4] offers zset  KEYS[5] skip set
-- ARGV[1] conversation id  ARGV[2] agent id  ARGV[3] skip time-to-live ms  ARGV[4] '1' if missed, '0' if declined
-- ARGV[5] now ms, for a miss: an offer whose deadline is still ahead (a fresh re-offer) is not missed
-- Returns {'OK', offers missed in a row} or {'no_offer', 0}.
local c = redis.call('HMGET', KEYS[1], 'state', 'agent', 'channel', 'score', 'deadline')
if c[1] ~= 'offered' or c[2] ~= ARGV[2] then
  return {'no_offer', 0}
end
if ARGV[4] == '1' and tonumber(c[5] or '0') > tonumber(ARGV[5]) then
  return {'no_offer', 0}
end
redis.call('HSET', KEYS[1], 'state', 'queued', 'agent', '')
redis.call('HDEL', KEYS[1], 'deadline')
queue_add(redis.call('HGET', KEYS[1], 'queue'), c[3], c[4], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[1])
redis.call('SADD', KEYS[5], ARGV[2])
redis.call('PEXPIRE', KEYS[5], ARGV[3])
local missed = 0
if ARGV[4] == '1' then
  missed = redis.call('HINCRBY', KEYS[2], 'missed', 1)
end
unload(ARGV[2], c[3])
return {'OK', missed}
