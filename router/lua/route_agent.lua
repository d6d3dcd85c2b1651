-- Fill a free agent's slots: for each slot, the contact they should be offered next (their profile's
-- order, see contact_for in _decide.lua), offered to whoever ranks first for it (this agent, or one
-- idle longer), in one atomic step.
-- KEYS[1] agent hash (the other keys are built from its tenant prefix)
-- ARGV[1] agent id  ARGV[2] now ms  ARGV[3] offer deadline ms
-- ARGV[4] JSON {queue: strategy} for queues not on longest idle ('' for none)
-- ARGV[5] most offers to make  ARGV[6] how deep to look in each queue
-- Returns a JSON list of the decisions that made offers.
local now = tonumber(ARGV[2])
local strategies = ARGV[4] ~= '' and cjson.decode(ARGV[4]) or {}
local made = {}
for _ = 1, tonumber(ARGV[5]) do
  local a = agent_state(ARGV[1])
  local c = a.status == 'available' and contact_for(a, now, tonumber(ARGV[6]))
  if not c then
    break
  end
  local d = route(c, now, ARGV[3], strategies)
  if not d.agent then
    break
  end
  made[#made + 1] = d
end
if #made == 0 then
  return '[]'
end
return cjson.encode(made)
