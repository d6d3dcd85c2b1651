-- Set an agent's status and profile; keep the serving sets and the agents set in step.
-- KEYS[1] agent hash  KEYS[2] agents zset
-- KEYS[3 .. 2+ARGV[8]] serving sets of the queues the agent serves now
-- KEYS[3+ARGV[8] ..] serving sets of queues they served before and no longer do (the caller read them)
-- ARGV[1] agent id  ARGV[2] status (offline|available|away)  ARGV[3] now ms  ARGV[4] display name
-- ARGV[5] queues, comma separated  ARGV[6] capacity as JSON {"chat":3,...}  ARGV[7] reason ('' for none)
-- ARGV[8] how many of the serving sets are current  ARGV[9] skill level per queue as JSON
-- ARGV[10] '1' if a voice call blocks other work, '0' if not
-- ARGV[11] JSON {queue: levels short of its minimum} for queues an escalation may relax
-- Returns the previous status ('offline' when unknown).
local old = redis.call('HGET', KEYS[1], 'status') or 'offline'
local new = ARGV[2]
redis.call('HSET', KEYS[1], 'id', ARGV[1], 'status', new, 'name', ARGV[4], 'queues', ARGV[5], 'reason', ARGV[7],
  'levels', ARGV[9], 'voice_exclusive', ARGV[10], 'short_of', ARGV[11])
for ch, cap in pairs(cjson.decode(ARGV[6])) do
  redis.call('HSET', KEYS[1], 'cap:' .. ch, cap)
end
if old ~= new then
  redis.call('HSET', KEYS[1], 'since', ARGV[3])
end
if new == 'available' and old ~= 'available' then
  redis.call('HSET', KEYS[1], 'idle_since', ARGV[3], 'missed', 0)
end
local current = tonumber(ARGV[8])
for i = 3, #KEYS do
  if new == 'offline' or i > 2 + current then
    redis.call('SREM', KEYS[i], ARGV[1])
  else
    redis.call('SADD', KEYS[i], ARGV[1])
  end
end
if new == 'offline' then
  redis.call('ZREM', KEYS[2], ARGV[1])
elseif old ~= new then
  redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
end
return old
