-- Route one waiting contact: decide who should take it (router/policy.py's rules, see _decide.lua)
-- and offer it to them, in one atomic step.
-- KEYS[1] conv hash (the other keys are built from its tenant prefix)
-- ARGV[1] conversation id  ARGV[2] now ms  ARGV[3] offer deadline ms
-- ARGV[4] JSON {queue: strategy} for queues not on longest idle ('' for none)
-- Returns the decision as JSON (agent set when it was offered), or '' when the contact is not waiting.
local c = contact_state(ARGV[1])
if not c then
  return ''
end
local strategies = ARGV[4] ~= '' and cjson.decode(ARGV[4]) or {}
return cjson.encode(route(c, tonumber(ARGV[2]), ARGV[3], strategies))
