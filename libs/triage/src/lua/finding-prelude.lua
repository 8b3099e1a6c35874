-- Shared by the finding scripts that change lifecycle state (upsert, resolve-scope, record-running,
-- release-suppressed): history, the state index, and resolution against the current digests of an image
-- repository. A finding seen in several digests resolves only when no current digest (the newest
-- scanned, plus those running in the cluster) still has it.
--
-- Those scripts take the same KEYS, every one under the store's hash tag `<prefix>:{findings}`:
-- KEYS[1]  `…:finding:`  prefix of a finding's hash `…:finding:<fp>` and its `:history` list, `:sources`,
--          `:digests`, `:workloads` sets
-- KEYS[2]  `…:idx:`      prefix of the index sets `…:idx:<name>:<value>` (state, kind, severity, image,
--          repo, digest, workload, exception)
-- KEYS[3]  `…:findings`  set of every fingerprint
-- KEYS[4]  `…:findings:seen`  sorted set, fingerprint by last seen (ms)
-- KEYS[5]  `…:findings:risk`  sorted set, fingerprint by risk score
-- KEYS[6]  `…:scope:`    prefix of scope memberships `…:scope:<scope key>` (set) and `:last` (hash)
-- KEYS[7]  `…:image:`    prefix of an image repository's `…:image:<repository>:scans|running|current|
--          scopes|running-last`
-- KEYS[8]  `…:release:`  prefix of the answer of an exception's last end `…:release:<exception id>`
-- Prefixes, not whole keys, because these scripts reach keys whose names they only learn inside
-- Redis: the findings a scope no longer has, the indexes a stored record is in, the scopes of an
-- image's current digests. The shared hash tag keeps every such key in the slot of KEYS[1], so a
-- Redis Cluster runs the script on the node that holds them all (as BullMQ does with its queue prefix).
local function fkey(fp) return KEYS[1] .. fp end
local function idx(name) return KEYS[2] .. name end
local riskIdx = KEYS[5]
local function history(fp, at, state, cause, limit)
  local key = fkey(fp) .. ':history'
  if redis.call('RPUSH', key, cjson.encode({at = at, state = state, cause = cause})) > limit then
    redis.call('LTRIM', key, -limit, -1)
  end
end
local function setState(fp, from, to)
  if from then redis.call('SREM', idx('state:' .. from), fp) end
  redis.call('SADD', idx('state:' .. to), fp)
end
local function resolve(fp, now, why, limit)
  local key = fkey(fp)
  local cur = redis.call('HMGET', key, 'state', 'exception')
  if cur[1] ~= 'open' and cur[1] ~= 'suppressed' then return false end
  redis.call('HSET', key, 'state', 'resolved', 'exception', '')
  setState(fp, cur[1], 'resolved')
  if cur[2] and cur[2] ~= '' then redis.call('SREM', idx('exception:' .. cur[2]), fp) end
  history(fp, now, 'resolved', why, limit)
  return true
end
local function scopeKey(key) return KEYS[6] .. key end
local function imageKey(repository) return KEYS[7] .. repository end
-- 'image:<digest>' or a tool's own 'image:<digest>/<tool>' (Grype keeps its own view of a digest).
local function digestOf(scope) return string.match(scope, '^image:([^/]+)') end
-- Recomputes the current digests of an image repository. Returns the Redis keys of the scopes of current
-- digests (but 'except'), and of the scopes of digests that just stopped being current.
local function reconcile(repository, except)
  local image = imageKey(repository)
  local current = {}
  local newest = redis.call('ZREVRANGE', image .. ':scans', 0, 0)
  if newest[1] then current[newest[1]] = true end
  for _, d in ipairs(redis.call('HVALS', image .. ':running')) do current[d] = true end
  local dropped = {}
  for _, d in ipairs(redis.call('SMEMBERS', image .. ':current')) do
    if not current[d] then dropped[d] = true end
  end
  redis.call('DEL', image .. ':current')
  for d in pairs(current) do redis.call('SADD', image .. ':current', d) end
  local live, gone = {}, {}
  for _, scope in ipairs(redis.call('SMEMBERS', image .. ':scopes')) do
    local d = digestOf(scope)
    if current[d] then
      if scope ~= except then live[#live + 1] = scopeKey(scope) end
    elseif dropped[d] then
      gone[#gone + 1] = scopeKey(scope)
    end
  end
  return live, gone
end
-- Resolves the candidates that no live scope still has.
local function resolveUnless(candidates, live, now, why, limit, resolved)
  for fp in pairs(candidates) do
    local still = false
    for _, key in ipairs(live) do
      if redis.call('SISMEMBER', key, fp) == 1 then still = true break end
    end
    if not still and resolve(fp, now, why, limit) then resolved[#resolved + 1] = fp end
  end
end
