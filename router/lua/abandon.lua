-- The citizen left. Queued: removed at once. Offered: the offer is withdrawn
-- and the agent's slot freed. Assigned: the agent moves to wrap-up.
-- KEYS[1] conv hash  KEYS[2] queue zset  KEYS[3] offers zset  KEYS[4] agent hash (the one the caller
-- read from the conv hash; any tenant key when none)  KEYS[5] skip set  KEYS[6] wrap-ups zset
-- ARGV[1] conversation id  ARGV[2] the agent id the caller read ('' for none)  ARGV[3] now ms
-- ARGV[4] wrap-up deadline ms
-- Returns {previous state, agent id}; {'retry', agent} when the agent changed since the caller read it.
local c = redis.call('HMGET', KEYS[1], 'state', 'agent', 'channel')
if not c[1] then
  return {'gone', ''}
end
local agent = c[2] or ''
if agent ~= ARGV[2] then
  return {'retry', agent}
end
if c[1] == 'queued' then
  queue_remove(redis.call('HGET', KEYS[1], 'queue'), c[3], ARGV[1])
  redis.call('DEL', KEYS[1], KEYS[5])
  mark_closed(ARGV[1])
elseif c[1] == 'offered' then
  redis.call('ZREM', KEYS[3], ARGV[1])
  redis.call('DEL', KEYS[1], KEYS[5])
  mark_closed(ARGV[1])
  unload(agent, c[3])
elseif c[1] == 'assigned' then
  redis.call('HSET', KEYS[1], 'state', 'wrapup', 'ended_ms', ARGV[3])
  redis.call('ZADD', KEYS[6], ARGV[4], ARGV[1])
end
return {c[1], agent}
