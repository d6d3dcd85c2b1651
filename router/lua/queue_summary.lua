-- A queue as the board shows it, read in one step inside Redis (the board asks every quarter second,
-- and a queue may hold thousands): how many wait, the oldest arrival, how many reached each step.
-- KEYS[1] queue zset
-- Returns {waiting, oldest arrival in ms (-1 if nobody waits), step, count, step, count, ...} (step 0 left out).
local oldest, waiting, steps = -1, 0, {}
for _, cid in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local c = redis.call('HMGET', key('conv', cid), 'enqueued_ms', 'step')
  if c[1] then
    waiting = waiting + 1
    local at = tonumber(c[1])
    if oldest < 0 or at < oldest then
      oldest = at
    end
    local step = tonumber(c[2] or '0')
    if step > 0 then
      steps[step] = (steps[step] or 0) + 1
    end
  end
end
local out = {waiting, oldest}
for step, n in pairs(steps) do
  table.insert(out, step)
  table.insert(out, n)
end
return out
