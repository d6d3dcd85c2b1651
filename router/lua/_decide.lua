-- Routing decisions inside Redis, for the scripts that make them (route_contact, route_agent).
-- Put after _lib.lua and before the script by router/store.py.
--
-- These functions carry out router/policy.py (the pure core, the specification) on the live
-- state, so that a decision and the offer it makes are one atomic step: no decision is made on a
-- stale snapshot and refused. tests/router/test_state_machine.py checks them against policy.py.

-- A waiting contact as routing sees it (nil when it is not waiting).
local function contact_state(cid)
  local v = redis.call('HMGET', key('conv', cid), 'state', 'queue', 'channel', 'priority', 'enqueued_ms',
    'reserved_for', 'reserved_until', 'step', 'overflow', 'relax', 'score', 'reserved_rule')
  if v[1] ~= 'queued' then
    return nil
  end
  return {id = cid, queue = v[2], channel = v[3], priority = num(v[4]), enqueued_ms = num(v[5]),
    reserved_for = v[6] or '', reserved_until = num(v[7]), step = num(v[8]), overflow = split(v[9]),
    relax = num(v[10]), score = num(v[11]), rule = v[12] or 'named agent'}
end

local function reserved(c, now)
  return c.reserved_for ~= '' and now < c.reserved_until
end

-- Agent ids in round-robin order: numbers as numbers, then other ids as text (policy._id_key).
local function id_before(x, y)
  local nx, ny = string.match(x, '^%d+$') and tonumber(x), string.match(y, '^%d+$') and tonumber(y)
  if nx and ny then
    return nx < ny or (nx == ny and x < y)
  end
  if nx or ny then
    return nx ~= nil
  end
  return x < y
end

-- Order candidates {id, idle} by a queue's strategy (policy.rank_agents); longest idle, then the id,
-- break every tie.
local function rank(list, strategy, queue, last)
  local function idle_first(x, y)
    return x.idle < y.idle or (x.idle == y.idle and x.id < y.id)
  end
  if strategy == 'fewest-active' then
    for _, x in ipairs(list) do
      x.active = agent_state(x.id).active
    end
    table.sort(list, function(x, y)
      return x.active < y.active or (x.active == y.active and idle_first(x, y))
    end)
  elseif strategy == 'most-skilled' then
    for _, x in ipairs(list) do
      local ok, levels = pcall(cjson.decode, redis.call('HGET', key('agent', x.id), 'levels') or '{}')
      x.level = ok and type(levels) == 'table' and tonumber(levels[queue]) or 0
    end
    table.sort(list, function(x, y)
      return x.level > y.level or (x.level == y.level and idle_first(x, y))
    end)
  elseif strategy == 'round-robin' then
    table.sort(list, function(x, y)
      local ax, ay = last ~= '' and id_before(last, x.id), last ~= '' and id_before(last, y.id)
      if ax ~= ay then
        return ax
      end
      return id_before(x.id, y.id)
    end)
  else
    table.sort(list, idle_first)
  end
  return list
end

-- Agents serving the contact's queue who are not free, with the reason: the first LISTED_MAX by id,
-- and how many more there are.
local function list_not_free(d, c, eligible, passed)
  local ids = redis.call('SMEMBERS', key('serving', c.queue))
  table.sort(ids)
  local more = 0
  for _, id in ipairs(ids) do
    if not eligible[id] and not passed[id] then
      if #d.skipped < LISTED_MAX then
        local why = not_free(agent_state(id), c.channel)
        d.skipped[#d.skipped + 1] = {id, why or 'not free'}
      else
        more = more + 1
      end
    end
  end
  d.unlisted = more
end

-- The decision for a waiting contact (policy.choose_agent): the eligible agents best first, who was
-- passed over and why, and the rule. It offers nothing; d.ranked[1] is the agent to offer it to.
local function decide(c, now, strategies, skip_list)
  local skip = set_of(skip_list)
  local d = {contact = c.id, queue = c.queue, channel = c.channel, priority = c.priority,
    enqueued_ms = c.enqueued_ms, step = c.step, ranked = {}, skipped = {}, eligible = 0, unlisted = 0}
  if reserved(c, now) then
    d.rule = c.rule
    local a = agent_state(c.reserved_for)
    local why = (a.status ~= 'available' and 'status ' .. a.status)
      or (skip[a.id] and 'declined or missed this contact') or not_free(a, c.channel)
    if why then
      d.skipped[1] = {a.id, why}
    else
      d.ranked[1], d.eligible = a.id, 1
    end
    d.unlisted = math.max(0, redis.call('SCARD', key('serving', c.queue)) - 1)
    return d
  end
  local strategy = strategies[c.queue] or 'longest-idle'
  d.rule = strategy
  local ch, cand, passed = c.channel, {}, {}
  local function add(id, idle)
    if skip[id] then
      if not passed[id] then
        passed[id] = true
        d.skipped[#d.skipped + 1] = {id, 'declined or missed this contact'}
      end
    elseif not cand[id] then
      cand[id] = {id = id, idle = idle}
    end
  end
  local fast = strategy == 'longest-idle' and #c.overflow == 0 and c.relax == 0
  local ready = key('ready', c.queue, ch)
  local found = redis.call('ZRANGE', ready, 0, fast and (RANKED_MAX + #skip_list - 1) or -1, 'WITHSCORES')
  for i = 1, #found, 2 do
    add(found[i], tonumber(found[i + 1]))
  end
  for _, q in ipairs(c.overflow) do
    found = redis.call('ZRANGE', key('ready', q, ch), 0, -1, 'WITHSCORES')
    for i = 1, #found, 2 do
      add(found[i], tonumber(found[i + 1]))
    end
  end
  if c.relax > 0 then
    for _, id in ipairs(redis.call('ZRANGEBYSCORE', key('near', c.queue), 1, c.relax)) do
      local a = agent_state(id)
      if not not_free(a, ch) then
        add(id, a.idle)
      end
    end
  end
  local list = {}
  for _, x in pairs(cand) do
    list[#list + 1] = x
  end
  local last = strategy == 'round-robin' and (redis.call('HGET', key('round-robin'), c.queue) or '') or ''
  rank(list, strategy, c.queue, last)
  for i = 1, math.min(#list, RANKED_MAX) do
    d.ranked[i] = list[i].id
  end
  if fast then
    -- Passed over in the ready set, wherever they stand in it, and the eligible counted without reading them all.
    for _, id in ipairs(skip_list) do
      if not passed[id] and redis.call('ZSCORE', ready, id) then
        passed[id] = true
        d.skipped[#d.skipped + 1] = {id, 'declined or missed this contact'}
      end
    end
    d.eligible = redis.call('ZCARD', ready) - #d.skipped
  else
    d.eligible = #list
  end
  if #list == 0 then
    -- The contact waits: say who serves its queue and why none of them could take it.
    list_not_free(d, c, cand, passed)
  else
    d.unlisted = math.max(0, redis.call('SCARD', key('serving', c.queue)) - d.eligible - #d.skipped)
  end
  return d
end

-- Offer a waiting contact to an agent: reserve their slot, note the deadline, refresh their ready sets.
local function make_offer(c, agent_id, deadline, rule)
  queue_remove(c.queue, c.channel, c.id)
  redis.call('HSET', key('conv', c.id), 'state', 'offered', 'agent', agent_id, 'deadline', deadline)
  redis.call('HINCRBY', key('agent', agent_id), 'load:' .. c.channel, 1)
  redis.call('ZADD', key('offers'), deadline, c.id)
  if rule == 'round-robin' then
    redis.call('HSET', key('round-robin'), c.queue, agent_id)
  end
  refresh(agent_id, c.channel)
end

-- Decide for a waiting contact and, when someone may take it, offer it to them; the decision.
local function route(c, now, deadline, strategies)
  local d = decide(c, now, strategies, redis.call('SMEMBERS', key('skip', c.id)))
  if d.ranked[1] then
    d.agent = d.ranked[1]
    make_offer(c, d.agent, deadline, d.rule)
  end
  return d
end

-- May the agent take the contact now (policy.skip_reason from the agent's side, for a contact in one
-- of their queues or reserved for them)?
local function may_take(a, c, now)
  if not_free(a, c.channel) or (reserved(c, now) and c.reserved_for ~= a.id) then
    return false
  end
  return redis.call('SISMEMBER', key('skip', c.id), a.id) == 0
end

local function earlier(x, y)
  return not y or x.score < y.score or (x.score == y.score and x.id < y.id)
end

-- The contact a free agent should be offered next (policy.choose_contact): one reserved for them
-- first; then their queues in their profile's order, in each the first contact they may take,
-- looking at most `depth` deep (a queue with nothing waiting on a channel they have room on is
-- passed over without reading it).
local function contact_for(a, now, depth)
  local best
  for _, cid in ipairs(redis.call('ZRANGE', key('held', a.id), 0, -1)) do
    local c = contact_state(cid)
    if c and reserved(c, now) and c.reserved_for == a.id then
      if may_take(a, c, now) and earlier(c, best) then
        best = c
      end
    else
      redis.call('ZREM', key('held', a.id), cid) -- offered, gone, or the reservation ended
    end
  end
  if best then
    return best
  end
  for _, q in ipairs(a.queues) do
    local counts = redis.call('HMGET', key('waiting', q), unpack(CHANNELS))
    local worth = false
    for i, ch in ipairs(CHANNELS) do
      worth = worth or (num(counts[i]) > 0 and not not_free(a, ch))
    end
    local start = 0
    while worth and start < depth do
      local ids = redis.call('ZRANGE', key('queue', q), start, start + 19)
      for _, cid in ipairs(ids) do
        local c = contact_state(cid)
        if c and may_take(a, c, now) then
          return c
        end
      end
      worth = #ids == 20
      start = start + 20
    end
  end
  return nil
end
