-- Retention: forgets digests of an image repository that stopped being current and were first scanned
-- before the cutoff: their scope memberships and last answers, and their place among the repository's
-- scans (their findings resolved when the digest stopped being current).
-- KEYS     as in finding-prelude.lua (run after it)
-- ARGV     repository, cutoff (ms)
-- Reply    the digests forgotten
local repository, cutoff = ARGV[1], ARGV[2]
local image = imageKey(repository)
local current = {}
for _, d in ipairs(redis.call('SMEMBERS', image .. ':current')) do current[d] = true end
local gone = {}
for _, d in ipairs(redis.call('ZRANGEBYSCORE', image .. ':scans', '-inf', '(' .. cutoff)) do
  if not current[d] then gone[d] = true end
end
for _, scope in ipairs(redis.call('SMEMBERS', image .. ':scopes')) do
  if gone[digestOf(scope)] then
    redis.call('DEL', scopeKey(scope), scopeLastKey(scope))
    redis.call('SREM', image .. ':scopes', scope)
  end
end
local forgotten = {}
for d in pairs(gone) do
  redis.call('ZREM', image .. ':scans', d)
  forgotten[#forgotten + 1] = d
end
return forgotten
