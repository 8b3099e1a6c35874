-- Counts one intake request of a source in its fixed window (`server.intakeRateLimit`): the first
-- request of a window starts it, and the count goes when the window ends.
-- KEYS[1]  `<prefix>:rate-limit:<source>`: the source's requests in the current window
-- ARGV[1]  the window (ms)
-- Reply    {requests in this window with this one, ms left of the window}
local count = redis.call('INCR', KEYS[1])
local left = redis.call('PTTL', KEYS[1])
-- A count without an expiry is its window's first request (or one whose window never started): it starts one.
if left < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  left = tonumber(ARGV[1])
end
return {count, left}
