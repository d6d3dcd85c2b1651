-- Shared by every routing script: router/store.py puts this file in front of each one when it
-- registers them, so a script's own KEYS/ARGV header follows these functions.
--
-- Keys are built here from the tenant prefix of KEYS[1], in the shapes router/keys.py documents
-- (tests/router/test_store.py checks that both agree). Every key of a tenant shares its hash tag,
-- so a script may touch keys it was not passed and still stay on one Redis Cluster slot.
local PREFIX = string.match(KEYS[1], '^(cc:{[^}]*})')
local CHANNELS = {'voice', 'chat', 'sms', 'email'}
local RANKED_MAX = 10 -- eligible agents a receipt names, best first (it counts them all)
local LISTED_MAX = 10 -- agents not free that a receipt names, with the reason (it counts the rest)

local function key(...)
  return table.concat({PREFIX, ...}, ':')
end

-- A conversation that leaves routing is marked for 10 minutes, longer than any rebuild's read of
-- PostgreSQL takes, so that a rebuild never brings it back (restore.lua checks the mark).
local function mark_closed(cid)
  redis.call('SET', key('closed', cid), '1', 'PX', 600000)
end

local function num(v)
  return tonumber(v or '0') or 0
end

local function split(s)
  local out = {}
  for part in string.gmatch(s or '', '[^,]+') do
    out[#out + 1] = part
  end
  return out
end

local function set_of(list)
  local out = {}
  for _, v in ipairs(list) do
    out[v] = true
  end
  return out
end

-- An agent as routing sees them: status, queues in their profile's order, idle since, load and capacity.
local AGENT_FIELDS = {'status', 'queues', 'idle_since', 'voice_exclusive',
  'load:voice', 'load:chat', 'load:sms', 'load:email', 'cap:voice', 'cap:chat', 'cap:sms', 'cap:email'}
local function agent_state(id)
  local v = redis.call('HMGET', key('agent', id), unpack(AGENT_FIELDS))
  local a = {id = id, status = v[1] or 'offline', queues = split(v[2]), idle = num(v[3]), exclusive = v[4] ~= '0',
    load = {}, cap = {}, active = 0}
  for i, ch in ipairs(CHANNELS) do
    a.load[ch] = num(v[4 + i])
    a.cap[ch] = num(v[8 + i])
    a.active = a.active + a.load[ch]
  end
  return a
end

-- Why the agent cannot take new work on channel ch (nil when they can); the words of policy.skip_reason.
local function not_free(a, ch)
  if a.status ~= 'available' then
    return 'status ' .. a.status
  end
  if a.exclusive and a.load['voice'] > 0 and ch ~= 'voice' then
    return 'on a call'
  end
  if a.cap[ch] - a.load[ch] <= 0 then
    return 'no free ' .. ch .. ' slot'
  end
  return nil
end

-- Keep the agent's membership of the ready sets of their queues (one per channel: available, a free
-- slot, not on a call; scored by idle since) in step with their hash. Every script that changes an
-- agent's status, queues, idle time or load calls this in the same atomic step: with `only`, a channel
-- whose load alone changed (a call changes them all, and so does idle time).
local function refresh(id, only)
  local a = agent_state(id)
  local channels = CHANNELS
  if only and only ~= 'voice' then
    channels = {only}
  end
  for _, q in ipairs(a.queues) do
    for _, ch in ipairs(channels) do
      if not_free(a, ch) then
        redis.call('ZREM', key('ready', q, ch), id)
      else
        redis.call('ZADD', key('ready', q, ch), a.idle, id)
      end
    end
  end
end

-- Take one from an agent's load on a channel (never below 0) and refresh their ready sets.
local function unload(id, ch)
  if redis.call('HINCRBY', key('agent', id), 'load:' .. ch, -1) < 0 then
    redis.call('HSET', key('agent', id), 'load:' .. ch, 0)
  end
  refresh(id, ch)
end

-- Put a contact in its queue, or take it out, keeping the count of contacts waiting per channel.
local function queue_add(q, ch, score, cid)
  if redis.call('ZADD', key('queue', q), score, cid) == 1 then
    redis.call('HINCRBY', key('waiting', q), ch, 1)
  end
end

local function queue_remove(q, ch, cid)
  if redis.call('ZREM', key('queue', q), cid) == 1 and redis.call('HINCRBY', key('waiting', q), ch, -1) < 0 then
    redis.call('HSET', key('waiting', q), ch, 0)
  end
end
