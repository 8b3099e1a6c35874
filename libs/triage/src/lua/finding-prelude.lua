-- Shared by the finding scripts that change lifecycle state (upsert, resolve-scope, record-running,
-- release-suppressed, resolve-recorded): a finding's one hash (history and member lists as fields, and
-- the folding of the keys earlier versions kept beside it), the state index, and resolution against the
-- current digests of an image repository. A finding seen in several digests resolves only when no
-- current digest (the newest scanned, plus those running in the cluster) still has it.
--
-- Those scripts take the same KEYS, every one under the store's hash tag `<prefix>:{findings}`:
-- KEYS[1]  `…:finding:`  prefix of a finding's hash `…:finding:<fp>` (one key per finding: its history
--          and member lists are fields of it; see fold below for the keys of findings stored before)
-- KEYS[2]  `…:idx:`      prefix of the index sets `…:idx:<name>:<value>` (state, kind, severity, image,
--          repo, digest, workload, exception)
-- KEYS[3]  `…:findings:seen`  sorted set, fingerprint by last seen (ms): every finding stored
-- KEYS[4]  `…:findings:risk`  sorted set, fingerprint by risk score
-- KEYS[5]  `…:scope:`    prefix of scope memberships `…:scope:<scope key>` (set); a scope's last answer
--          is apart (KEYS[8]), so a scope key ending in ':last' is just a scope
-- KEYS[6]  `…:image:`    prefix of an image repository's `…:image:<repository>:scans|running|current|
--          scopes|running-last`
-- KEYS[7]  `…:release:`  prefix of the answer of an exception's last end `…:release:<exception id>`
-- KEYS[8]  `…:scope-last:`  prefix of a scope's last answer `…:scope-last:<scope key>` (hash)
-- Prefixes, not whole keys, because these scripts reach keys whose names they only learn inside
-- Redis: the findings a scope no longer has, the indexes a stored record is in, the scopes of an
-- image's current digests. The shared hash tag keeps every such key in the slot of KEYS[1], so a
-- Redis Cluster runs the script on the node that holds them all (as BullMQ does with its queue prefix).
local function fkey(fp) return KEYS[1] .. fp end
local function idx(name) return KEYS[2] .. name end
local function isHash(key) return redis.call('TYPE', key).ok == 'hash' end
-- A workload's index (`idx:workload:<namespace>/<name>`) is a hash, fingerprint → '': Redis 7.0 keeps a
-- set of strings as a hash table however small (256 bytes for the one finding of a runtime alert's
-- workload), a hash of up to 128 fields as one listpack (about 36 bytes a finding). A workload index an
-- earlier version wrote is a set, and stays one. The other indexes are sets: they are large.
local function workloadIndex(name) return string.sub(name, 1, 9) == 'workload:' end
local function indexAdd(name, fp)
  local key = idx(name)
  if workloadIndex(name) and redis.call('TYPE', key).ok ~= 'set' then
    redis.call('HSET', key, fp, '')
  else
    redis.call('SADD', key, fp)
  end
end
local function indexRemove(name, fp)
  local key = idx(name)
  if workloadIndex(name) and isHash(key) then
    redis.call('HDEL', key, fp)
  else
    redis.call('SREM', key, fp)
  end
end
local riskIdx = KEYS[4]
-- A finding's member lists (`sources`, `digests`, `workloads`) are JSON arrays of unique members in
-- the order first seen: their values come from reports, so no separator character is safe. cjson writes
-- an empty table as {}, hence the literal.
local function encodeList(list)
  if #list == 0 then return '[]' end
  return cjson.encode(list)
end
local function decodeList(stored)
  if stored then return cjson.decode(stored) end
  return {}
end
-- `history` is a JSON array of entries {at, state, cause}, the last `limit`. Returns it with one more.
local function appended(hist, at, state, cause, limit)
  local list = decodeList(hist)
  list[#list + 1] = {at = at, state = state, cause = cause}
  if #list > limit then
    local kept = {}
    for i = #list - limit + 1, #list do kept[#kept + 1] = list[i] end
    list = kept
  end
  return cjson.encode(list)
end
-- Earlier versions kept a finding's history and sets in keys of their own beside its hash (`:history`
-- list; `:sources`, `:digests`, `:workloads`, `:indexes` sets), ~1.5 KB of key overhead per finding.
-- A script about to change one of those on such a finding folds them into the hash first and deletes
-- them, so stored data needs no migration. `sources` in the hash (every report writes it) marks a
-- finding already folded. Only for a finding whose hash exists.
local function fold(key)
  local fields = {}
  local hist = redis.call('LRANGE', key .. ':history', 0, -1)
  -- The entries are JSON already: joined, they are the array.
  if #hist > 0 then
    fields[#fields + 1] = 'history'
    fields[#fields + 1] = '[' .. table.concat(hist, ',') .. ']'
  end
  for _, name in ipairs({'sources', 'digests', 'workloads'}) do
    local members = redis.call('SMEMBERS', key .. ':' .. name)
    table.sort(members)
    if #members > 0 or name == 'sources' then
      fields[#fields + 1] = name
      fields[#fields + 1] = encodeList(members)
    end
  end
  -- Index names have no newline (indexValue encodes control characters), so they join like `ix`.
  local names = redis.call('SMEMBERS', key .. ':indexes')
  if #names > 0 then
    table.sort(names)
    fields[#fields + 1] = 'indexes'
    fields[#fields + 1] = table.concat(names, '\n')
  end
  redis.call('HSET', key, unpack(fields))
  redis.call('DEL', key .. ':history', key .. ':sources', key .. ':digests', key .. ':workloads', key .. ':indexes')
end
-- A finding first seen open keeps no `history` until its state first changes: its one entry is implied
-- by `firstSeen` and `firstCause` (the event that first reported it), ~70 bytes less per finding.
-- Returns the history with one more entry, the implied one written out (`firstCause` goes).
local function nextHistory(key, at, state, cause, limit)
  local h = redis.call('HMGET', key, 'history', 'firstSeen', 'firstCause')
  local hist = h[1]
  if h[3] then
    if not hist then hist = cjson.encode({{at = h[2], state = 'open', cause = 'first seen in ' .. h[3]}}) end
    redis.call('HDEL', key, 'firstCause')
  end
  return appended(hist, at, state, cause, limit)
end
-- Writes the history of a stored finding with one more entry.
local function history(fp, at, state, cause, limit)
  local key = fkey(fp)
  if redis.call('HEXISTS', key, 'sources') == 0 then fold(key) end
  redis.call('HSET', key, 'history', nextHistory(key, at, state, cause, limit))
end
local function setState(fp, from, to)
  if from then redis.call('SREM', idx('state:' .. from), fp) end
  redis.call('SADD', idx('state:' .. to), fp)
end
local function resolve(fp, now, why, limit)
  local key = fkey(fp)
  local cur = redis.call('HMGET', key, 'state', 'exception')
  if cur[1] ~= 'open' and cur[1] ~= 'suppressed' then return false end
  redis.call('HSET', key, 'state', 'resolved', 'resolvedAt', now)
  -- No exception is kept as no field (earlier versions wrote an empty one).
  if cur[2] then redis.call('HDEL', key, 'exception') end
  setState(fp, cur[1], 'resolved')
  if cur[2] and cur[2] ~= '' then redis.call('SREM', idx('exception:' .. cur[2]), fp) end
  history(fp, now, 'resolved', why, limit)
  return true
end
local function scopeKey(key) return KEYS[5] .. key end
-- A scope's membership (`scope:<key>`) is a hash, fingerprint → '', while it has up to SMALL_SCOPE
-- findings: Redis keeps such a hash as one listpack (about 36 bytes a finding) and a set of strings as a
-- hash table however small (about 90). A larger one is a set, as every scope of earlier versions is.
local SMALL_SCOPE = 128 -- Redis's default hash-max-listpack-entries
local function scopeMembers(key)
  if isHash(key) then return redis.call('HKEYS', key) end
  return redis.call('SMEMBERS', key)
end
-- Replaces a scope's membership with ARGV[from..].
local function writeScope(key, from)
  redis.call('DEL', key)
  if #ARGV - from + 1 <= SMALL_SCOPE then
    local fields = {}
    for i = from, #ARGV do
      fields[#fields + 1] = ARGV[i]
      fields[#fields + 1] = ''
    end
    if #fields > 0 then redis.call('HSET', key, unpack(fields)) end
  else
    for i = from, #ARGV, 5000 do redis.call('SADD', key, unpack(ARGV, i, math.min(i + 4999, #ARGV))) end
  end
end
local function scopeLastKey(key) return KEYS[8] .. key end
local function imageKey(repository) return KEYS[6] .. repository end
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
  local member = {}
  for _, key in ipairs(live) do member[key] = isHash(key) and 'HEXISTS' or 'SISMEMBER' end
  for fp in pairs(candidates) do
    local still = false
    for _, key in ipairs(live) do
      if redis.call(member[key], key, fp) == 1 then still = true break end
    end
    if not still and resolve(fp, now, why, limit) then resolved[#resolved + 1] = fp end
  end
end
