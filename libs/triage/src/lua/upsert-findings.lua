-- Upserts a chunk of findings: the latest report as opaque JSON (`data`), lifecycle fields in the same
-- hash, sets of sources, digests and workloads, and the secondary indexes queries read. A new report
-- carries the risk correlation just gave it: it replaces a rescore's `derived`.
-- KEYS     as in finding-prelude.lua (run after it)
-- ARGV     now (ISO), now (ms), cause, history limit, then per finding 9 values: fingerprint, data
--          JSON, source key, digest, workload, exception ('' none), attribute indexes ('\n'-joined,
--          replaced), accumulating indexes ('\n'-joined, kept), risk score
-- Reply    per finding its change: new, regressed, unchanged, suppressed or unsuppressed (a retried
--          cause answers what it did the first time)
local now, nowMs, cause, limit = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local out = {}
local function split(s)
  local t = {}
  for part in string.gmatch(s, '[^\n]+') do t[part] = true end
  return t
end
for i = 5, #ARGV, 9 do
  local fp, data, source, digest, workload, exc, ix, acc, score = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4], ARGV[i + 5], ARGV[i + 6], ARGV[i + 7], ARGV[i + 8]
  local key = fkey(fp)
  local cur = redis.call('HMGET', key, 'state', 'lastCause', 'lastChange', 'exception', 'ix', 'occurrences', 'score')
  local state, lastCause, change, prevExc, prevIx = cur[1], cur[2], 'unchanged', cur[4] or '', cur[5] or ''
  if lastCause == cause then
    -- The same input again (a retried job): report what it did the first time, change nothing.
    change = cur[3]
  else
    local target = exc ~= '' and 'suppressed' or 'open'
    local why
    if not state then
      change = target == 'open' and 'new' or 'suppressed'
      why = 'first seen in ' .. cause .. (exc ~= '' and (', covered by exception ' .. exc) or '')
      redis.call('HSET', key, 'data', data, 'state', target, 'firstSeen', now, 'lastSeen', now, 'occurrences', 1,
        'lastCause', cause, 'lastChange', change, 'exception', exc, 'ix', ix, 'score', score)
      redis.call('SADD', KEYS[3], fp)
    else
      if state == target then
        change = 'unchanged'
      elseif target == 'suppressed' then
        change, why = 'suppressed', 'covered by exception ' .. exc .. ' when seen in ' .. cause
      elseif state == 'resolved' then
        change, why = 'regressed', 'regressed: seen again in ' .. cause
      else
        change, why = 'unsuppressed', 'exception ' .. prevExc .. ' no longer covers it, seen in ' .. cause
      end
      redis.call('HSET', key, 'data', data, 'lastSeen', now, 'lastCause', cause, 'lastChange', change, 'state', target,
        'exception', exc, 'ix', ix, 'occurrences', tonumber(cur[6] or '0') + 1, 'score', score, 'derived', '')
    end
    if why then history(fp, now, target, why, limit) end
    if state ~= target then setState(fp, state, target) end
    if prevExc ~= exc then
      if prevExc ~= '' then redis.call('SREM', idx('exception:' .. prevExc), fp) end
      if exc ~= '' then redis.call('SADD', idx('exception:' .. exc), fp) end
    end
    if prevIx ~= ix then
      local old, new = split(prevIx), split(ix)
      for name in pairs(old) do if not new[name] then redis.call('SREM', idx(name), fp) end end
      for name in pairs(new) do if not old[name] then redis.call('SADD', idx(name), fp) end end
    end
    for name in pairs(split(acc)) do redis.call('SADD', idx(name), fp) end
    redis.call('SADD', key .. ':sources', source)
    if digest ~= '' then redis.call('SADD', key .. ':digests', digest) end
    if workload ~= '' then redis.call('SADD', key .. ':workloads', workload) end
    redis.call('ZADD', KEYS[4], nowMs, fp)
    -- The hash keeps the indexed score: a repost at the same risk costs no index write.
    if cur[7] ~= score then redis.call('ZADD', riskIdx, score, fp) end
  end
  out[#out + 1] = change
end
return out
