-- Wrap-up done: forget the conversation and free the agent's slot; an agent
-- left with no work becomes idle now (longest idle is measured from here).
-- KEYS[1] conv hash  KEYS[2] agent hash  KEYS[3] wrap-ups zset
-- ARGV[1] agent id  ARGV[2] now ms
-- Returns 'OK' or 'not_yours'.
local c = redis.call('HMGET', KEYS[1], 'state', 'agent', 'channel')
if c[2] ~= ARGV[1] or (c[1] ~= 'wrapup' and c[1] ~= 'assigned') then
  return 'not_yours'
end
local id = redis.call('HGET', KEYS[1], 'id')
redis.call('ZREM', KEYS[3], id)
redis.call('DEL', KEYS[1])
mark_closed(id)
if redis.call('HINCRBY', KEYS[2], 'load:' .. c[3], -1) < 0 then
  redis.call('HSET', KEYS[2], 'load:' .. c[3], 0)
end
local l = redis.call('HMGET', KEYS[2], 'load:voice', 'load:chat', 'load:sms', 'load:email')
local total = 0
for _, v in ipairs(l) do
  total = total + tonumber(v or '0')
end
if total == 0 then
  redis.call('HSET', KEYS[2], 'idle_since', ARGV[2])
  refresh(ARGV[1])
else
  refresh(ARGV[1], c[3])
end
return 'OK'
