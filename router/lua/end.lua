-- A conversation ends (either side): the agent moves to wrap-up and keeps the slot until wrap-up is done.
-- Wrap-up has a time limit, after which the slot frees by itself.
-- KEYS[1] conv hash  KEYS[2] wrap-ups zset
-- ARGV[1] agent id, or '' when the citizen ends it  ARGV[2] now ms  ARGV[3] wrap-up deadline ms
-- Returns 'OK', 'not_yours', or the state it was in when that was not 'assigned'.
local c = redis.call('HMGET', KEYS[1], 'state', 'agent')
if ARGV[1] ~= '' and c[2] ~= ARGV[1] then
  return 'not_yours'
end
if c[1] ~= 'assigned' then
  return c[1] or 'gone'
end
redis.call('HSET', KEYS[1], 'state', 'wrapup', 'ended_ms', ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], redis.call('HGET', KEYS[1], 'id'))
return 'OK'
