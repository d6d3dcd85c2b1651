-- Set an agent's status and profile, and keep the sets routing reads in step: the serving set and the
-- ready sets of each queue they serve, the near sets of the queues an escalation may relax them into,
-- and the set of agents signed in.
-- KEYS[1] agent hash  KEYS[2] agents zset
-- ARGV[1] agent id  ARGV[2] status (offline|available|away)  ARGV[3] now ms  ARGV[4] display name
-- ARGV[5] queues in the order their profile serves them, comma separated
-- ARGV[6] capacity as JSON {"chat":3,...}  ARGV[7] reason ('' for none)  ARGV[8] skill level per queue as JSON
-- ARGV[9] '1' if a voice call blocks other work, '0' if not
-- ARGV[10] JSON {queue: levels short of its minimum} for queues an escalation may relax
-- Returns the previous status ('offline' when unknown).
local id, new = ARGV[1], ARGV[2]
local before = redis.call('HMGET', KEYS[1], 'status', 'queues', 'short_of')
local old = before[1] or 'offline'
local queues = split(ARGV[5])
local now_serving = set_of(queues)
if new == 'offline' then
  now_serving = {}
end
for _, q in ipairs(split(before[2])) do
  if not now_serving[q] then
    redis.call('SREM', key('serving', q), id)
    for _, ch in ipairs(CHANNELS) do
      redis.call('ZREM', key('ready', q, ch), id)
    end
  end
end
local ok, short = pcall(cjson.decode, before[3] or '{}')
for q, _ in pairs(ok and type(short) == 'table' and short or {}) do
  redis.call('ZREM', key('near', q), id)
end
redis.call('HSET', KEYS[1], 'id', id, 'status', new, 'name', ARGV[4], 'queues', ARGV[5], 'reason', ARGV[7],
  'levels', ARGV[8], 'voice_exclusive', ARGV[9], 'short_of', ARGV[10])
for ch, cap in pairs(cjson.decode(ARGV[6])) do
  redis.call('HSET', KEYS[1], 'cap:' .. ch, cap)
end
if old ~= new then
  redis.call('HSET', KEYS[1], 'since', ARGV[3])
end
if new == 'available' and old ~= 'available' then
  redis.call('HSET', KEYS[1], 'idle_since', ARGV[3], 'missed', 0)
end
if new == 'offline' then
  redis.call('ZREM', KEYS[2], id)
else
  for _, q in ipairs(queues) do
    redis.call('SADD', key('serving', q), id)
  end
  for q, levels in pairs(cjson.decode(ARGV[10])) do
    redis.call('ZADD', key('near', q), levels, id)
  end
  if old ~= new then
    redis.call('ZADD', KEYS[2], ARGV[3], id)
  end
end
refresh(id)
return old
