-- Upserts a chunk of findings: the latest report as opaque JSON (`data`), lifecycle fields, history (or,
-- while a finding first seen open has not changed state, the `firstCause` that implies it) and
-- the member lists of sources, digests and workloads, all in the finding's one hash, and the secondary
-- indexes queries read. A new report carries the risk correlation just gave it: it replaces a rescore's
-- `derived`. An open finding reported again whose routing signature changed (the routes it matches, its
-- pull request) is `updated`.
-- KEYS     as in finding-prelude.lua (run after it)
-- ARGV     now (ISO), now (ms), cause, history limit, then per finding 10 values: fingerprint, data
--          JSON, source key, digest, workload, exception ('' none), attribute indexes ('\n'-joined,
--          replaced), accumulating indexes ('\n'-joined, kept), risk score, routing signature ('' none)
-- Reply    per finding its change: new, regressed, unchanged, updated, suppressed or unsuppressed (a retried
--          cause answers what it did the first time)
local now, nowMs, cause, limit = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local out = {}
local function split(s)
  local t = {}
  for part in string.gmatch(s, '[^\n]+') do t[part] = true end
  return t
end
local function put(fields, name, value)
  fields[#fields + 1] = name
  fields[#fields + 1] = value
end
-- Puts a member list with `member` added, if it is new: the usual repost of a finding rewrites no list.
local function add(fields, name, stored, member)
  local list = decodeList(stored)
  for _, m in ipairs(list) do
    if m == member then return end
  end
  list[#list + 1] = member
  put(fields, name, encodeList(list))
end
-- A routing signature as this version writes it: earlier ones kept the link's missing last parts as
-- nulls (`root|[null,null,null,null,null]`, now `root|[]`), the same signature.
local function trimmed(s)
  local n
  repeat s, n = string.gsub(s, ',null%]$', ']') until n == 0
  return (string.gsub(s, '%[null%]$', '[]'))
end
local FIELDS = {'state', 'lastCause', 'lastChange', 'exception', 'ix', 'occurrences', 'score', 'sig', 'sources', 'digests', 'workloads', 'indexes'}
for i = 5, #ARGV, 10 do
  local fp, data, source, digest, workload, exc, ix, acc, score, sig = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4], ARGV[i + 5], ARGV[i + 6], ARGV[i + 7], ARGV[i + 8], ARGV[i + 9]
  local key = fkey(fp)
  local cur = redis.call('HMGET', key, unpack(FIELDS))
  if cur[1] and not cur[9] then
    fold(key)
    cur = redis.call('HMGET', key, unpack(FIELDS))
  end
  local state, lastCause, change, prevExc, prevIx = cur[1], cur[2], 'unchanged', cur[4] or '', cur[5] or ''
  if lastCause == cause then
    -- The same input again (a retried job): report what it did the first time, change nothing.
    change = cur[3]
  else
    local target = exc ~= '' and 'suppressed' or 'open'
    local why
    local fields
    if not state then
      change = target == 'open' and 'new' or 'suppressed'
      why = 'first seen in ' .. cause .. (exc ~= '' and (', covered by exception ' .. exc) or '')
      fields = {'data', data, 'state', target, 'firstSeen', now, 'lastSeen', now, 'occurrences', 1,
        'lastCause', cause, 'lastChange', change, 'ix', ix, 'score', score}
    else
      if state == target then
        change = 'unchanged'
        if state == 'open' and sig ~= '' and cur[8] and cur[8] ~= sig and trimmed(cur[8]) ~= sig then change = 'updated' end
      elseif target == 'suppressed' then
        change, why = 'suppressed', 'covered by exception ' .. exc .. ' when seen in ' .. cause
      elseif state == 'resolved' then
        change, why = 'regressed', 'regressed: seen again in ' .. cause
      else
        change, why = 'unsuppressed', 'exception ' .. prevExc .. ' no longer covers it, seen in ' .. cause
      end
      fields = {'data', data, 'lastSeen', now, 'lastCause', cause, 'lastChange', change, 'state', target,
        'ix', ix, 'occurrences', tonumber(cur[6] or '0') + 1, 'score', score}
    end
    -- An exception is a field only while one covers the finding: none is no field, not an empty one
    -- (earlier versions wrote it; a report of such a finding drops it).
    if exc ~= '' then put(fields, 'exception', exc) elseif cur[4] then redis.call('HDEL', key, 'exception') end
    if sig ~= '' then put(fields, 'sig', sig) end
    if not state and target == 'open' then
      -- Its history is that one entry, implied by `firstSeen` and `firstCause` (finding-prelude.lua).
      put(fields, 'firstCause', cause)
    elseif why then
      put(fields, 'history', nextHistory(key, now, target, why, limit))
    end
    add(fields, 'sources', cur[9], source)
    if digest ~= '' then add(fields, 'digests', cur[10], digest) end
    if workload ~= '' then add(fields, 'workloads', cur[11], workload) end
    local accumulating, remembered, added = split(acc), split(cur[12] or ''), {}
    for name in string.gmatch(acc, '[^\n]+') do
      -- A remembered name is an index the finding is in already (only retention takes it out, with the
      -- finding); a new one is remembered (`indexes`) so retention can take the finding out of it.
      if not remembered[name] then
        remembered[name] = true
        indexAdd(name, fp)
        added[#added + 1] = name
      end
    end
    if #added > 0 then put(fields, 'indexes', (cur[12] and cur[12] ~= '' and (cur[12] .. '\n') or '') .. table.concat(added, '\n')) end
    redis.call('HSET', key, unpack(fields))
    -- A new report replaces what a rescore derived: the field goes (an empty one would stay in every hash).
    if state then redis.call('HDEL', key, 'derived') end
    if state ~= target then setState(fp, state, target) end
    if prevExc ~= exc then
      if prevExc ~= '' then redis.call('SREM', idx('exception:' .. prevExc), fp) end
      if exc ~= '' then redis.call('SADD', idx('exception:' .. exc), fp) end
    end
    if prevIx ~= ix then
      local old, new = split(prevIx), split(ix)
      -- An accumulated index is kept even if an older report had it among its attribute indexes.
      for name in pairs(old) do if not new[name] and not accumulating[name] then redis.call('SREM', idx(name), fp) end end
      for name in pairs(new) do if not old[name] then redis.call('SADD', idx(name), fp) end end
    end
    redis.call('ZADD', KEYS[3], nowMs, fp)
    -- The hash keeps the indexed score: a repost at the same risk costs no index write.
    if cur[7] ~= score then redis.call('ZADD', riskIdx, score, fp) end
  end
  out[#out + 1] = change
end
return out
