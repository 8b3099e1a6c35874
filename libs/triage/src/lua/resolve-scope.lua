-- Replaces the membership of a complete-report scope and resolves the open (or suppressed) findings it
-- no longer has. For an image scope of a known repository, the digest is recorded as scanned, and a
-- missing finding resolves only when no other current digest of the repository still has it; findings
-- of digests that stopped being current resolve the same way.
-- KEYS     as in finding-prelude.lua (run after it)
-- ARGV     scope key, now (ISO), now (ms), cause, history limit, image repository ('' none), digest
--          ('' none), then the fingerprints the report has
-- Reply    the fingerprints resolved (a retried cause answers what the first attempt resolved)
local scope, now, nowMs, cause, limit, repository, digest = ARGV[1], ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5]), ARGV[6], ARGV[7]
local setKey = scopeKey(scope)
local lastKey = scopeLastKey(scope)
-- Before 'scope-last', a scope's last answer was '<scope key>:last' among the scopes, a hash with a
-- `cause`: not a scope (a scope's hash has fingerprints for fields).
if isHash(setKey) and redis.call('HEXISTS', setKey, 'cause') == 1 then redis.call('DEL', setKey) end
-- The same input again (a retried job): answer as the first time did.
if redis.call('HGET', lastKey, 'cause') == cause then
  return cjson.decode(redis.call('HGET', lastKey, 'resolved'))
end
local seen = {}
for i = 8, #ARGV do seen[ARGV[i]] = true end
local candidates = {}
for _, fp in ipairs(scopeMembers(setKey)) do
  if not seen[fp] then candidates[fp] = true end
end
writeScope(setKey, 8)
local live = {}
if repository ~= '' and digest ~= '' then
  -- First scan time orders digests: a nightly rescan of an old digest does not make it the newest.
  redis.call('ZADD', imageKey(repository) .. ':scans', 'NX', nowMs, digest)
  redis.call('SADD', imageKey(repository) .. ':scopes', scope)
  local gone
  live, gone = reconcile(repository, scope)
  for _, key in ipairs(gone) do
    for _, fp in ipairs(scopeMembers(key)) do
      if not seen[fp] then candidates[fp] = true end
    end
  end
end
local resolved = {}
resolveUnless(candidates, live, now, 'missing from ' .. cause, limit, resolved)
-- cjson writes an empty table as {}: keep the JSON array shape for the retry answer.
redis.call('HSET', lastKey, 'cause', cause, 'resolved', #resolved == 0 and '[]' or cjson.encode(resolved))
return resolved
