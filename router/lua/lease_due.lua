-- Lease the members of a deadline set (offers, wrap-ups) whose deadline has passed to the calling node.
-- The lease moves the deadline forward instead of removing the member, so one
-- leased by a node that dies is leased again by another one later.
-- KEYS[1] zset of ids scored by deadline ms
-- ARGV[1] now ms  ARGV[2] lease ms  ARGV[3] most to return
-- Returns the leased ids.
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
local until_ms = tonumber(ARGV[1]) + tonumber(ARGV[2])
for _, id in ipairs(due) do
  redis.call('ZADD', KEYS[1], 'XX', until_ms, id)
end
return due
