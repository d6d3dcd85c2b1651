-- A waiting contact changes channel, keeping its place in its queue (a web-chat citizen who asks to
-- be called back instead: the chat becomes a call).
-- KEYS[1] conv hash
-- ARGV[1] conversation id  ARGV[2] the new channel
-- Returns 'OK', or the state it is in when it is not waiting ('gone' when unknown).
local c = redis.call('HMGET', KEYS[1], 'state', 'queue', 'channel', 'score')
if c[1] ~= 'queued' then
  return c[1] or 'gone'
end
if c[3] ~= ARGV[2] then
  queue_remove(c[2], c[3], ARGV[1])
  redis.call('HSET', KEYS[1], 'channel', ARGV[2])
  queue_add(c[2], ARGV[2], c[4], ARGV[1])
end
return 'OK'
