-- claim-report-time: decides, per complete-report scope, whether a report is the newest heard of it.
-- KEYS[1]: the hash of scope key -> newest report time applied (ms since the epoch).
-- ARGV: pairs (scope key, report time ms).
-- Reply: per pair, 1 when the report is as new as or newer than any applied for its scope (it is then
-- recorded as the newest), 0 when an newer one was applied already (the report is older: stale).
local out = {}
for i = 1, #ARGV, 2 do
  local current = tonumber(redis.call('HGET', KEYS[1], ARGV[i]) or '')
  local at = tonumber(ARGV[i + 1])
  if current and at < current then
    out[#out + 1] = 0
  else
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
    out[#out + 1] = 1
  end
end
return out
