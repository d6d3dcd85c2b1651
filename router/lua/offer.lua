-- Reserve an agent's slot and offer them a waiting conversation, if both still allow it.
-- KEYS[1] conv hash  KEYS[2] agent hash  KEYS[3] queue zset  KEYS[4] offers zset
-- ARGV[1] conversation id  ARGV[2] agent id  ARGV[3] deadline ms
-- Returns 'OK' or why not: contact_gone | agent_unavailable | agent_full | agent_on_call
local c = redis.call('HMGET', KEYS[1], 'state', 'channel')
if c[1] ~= 'queued' or not redis.call('ZSCORE', KEYS[3], ARGV[1]) then
  return 'contact_gone'
end
local ch = c[2]
local a = redis.call('HMGET', KEYS[2], 'status', 'load:' .. ch, 'cap:' .. ch, 'load:voice', 'voice_exclusive')
if a[1] ~= 'available' then
  return 'agent_unavailable'
end
if tonumber(a[2] or '0') >= tonumber(a[3] or '0') then
  return 'agent_full'
end
if ch ~= 'voice' and tonumber(a[4] or '0') > 0 and a[5] ~= '0' then
  return 'agent_on_call'
end
queue_remove(redis.call('HGET', KEYS[1], 'queue'), ch, ARGV[1])
redis.call('HSET', KEYS[1], 'state', 'offered', 'agent', ARGV[2], 'deadline', ARGV[3])
redis.call('HINCRBY', KEYS[2], 'load:' .. ch, 1)
redis.call('ZADD', KEYS[4], ARGV[3], ARGV[1])
refresh(ARGV[2], ch)
return 'OK'
