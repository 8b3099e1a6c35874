-- Finding fingerprints matching every filter (each filter an OR of index sets) and a minimum risk, most
-- recently seen first. Every key is under `<prefix>:{findings}`.
-- KEYS[1]      the last-seen order (`findings:seen`, sorted set)
-- KEYS[2]      the risk index (`findings:risk`, sorted set)
-- KEYS[3]      scratch: the result (`query:result`), deleted before the reply
-- KEYS[4]      scratch: findings at or above the minimum risk (`query:risk`), deleted
-- KEYS[5]      the prefix of finding keys (`finding:`): the findings of candidate sets are read under it
--              (`workloads`, or the `:workloads` set of a finding an earlier version stored)
-- KEYS[5+f]    scratch: the union of filter f's index sets (`query:union:<f>`), deleted, f = 1..m
-- KEYS[6+m..]  the indexes (`idx:<name>:<value>`: sets, a workload's a hash of fingerprints) of
--              filter 1, then of filter 2, …: for each filter its plain indexes, then its candidates
-- ARGV         offset, limit, minimum risk ('' none), then per filter: how many plain sets (every
--              member matches), how many candidate sets (a member matches when its finding's workloads
--              hold one of the exact values), how many exact values, and those values
-- Reply        {total, page of fingerprints}
local offset, limit, minRisk = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local seen, findingPrefix = KEYS[1], KEYS[5]
local specs, a = {}, 4
while a <= #ARGV do
  local plain, candidates, exact = tonumber(ARGV[a]), tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
  local want = {}
  for i = a + 3, a + 2 + exact do want[ARGV[i]] = true end
  specs[#specs + 1] = {plain = plain, candidates = candidates, want = want}
  a = a + 3 + exact
end
local filters = #specs
if filters == 0 and minRisk == '' then
  return {redis.call('ZCARD', seen), redis.call('ZREVRANGE', seen, offset, offset + limit - 1)}
end

local function workloadsOf(fp)
  local key = findingPrefix .. fp
  local list = redis.call('HGET', key, 'workloads')
  if list then return cjson.decode(list) end
  return redis.call('SMEMBERS', key .. ':workloads')
end

-- An index is a set, or a workload's hash of fingerprints (finding-prelude.lua).
local function isHash(key) return redis.call('TYPE', key).ok == 'hash' end
local function members(key)
  if isHash(key) then return redis.call('HKEYS', key) end
  return redis.call('SMEMBERS', key)
end
local function addAll(t, list)
  for i = 1, #list, 1000 do redis.call('SADD', t, unpack(list, i, math.min(i + 999, #list))) end
end

local keys, weights = {seen}, {1}
if minRisk ~= '' then
  local t = KEYS[4]
  redis.call('ZRANGESTORE', t, KEYS[2], minRisk, '+inf', 'BYSCORE')
  keys[#keys + 1] = t
  weights[#weights + 1] = 0
end
local k = 6 + filters
for f, spec in ipairs(specs) do
  local n, m = spec.plain, spec.candidates
  if n == 1 and m == 0 and not isHash(KEYS[k]) then
    keys[#keys + 1] = KEYS[k]
  else
    local t = KEYS[5 + f]
    local sets, hashes = {}, {}
    for i = k, k + n - 1 do
      if isHash(KEYS[i]) then hashes[#hashes + 1] = KEYS[i] else sets[#sets + 1] = KEYS[i] end
    end
    -- SUNIONSTORE first: it replaces its destination.
    if #sets > 0 then redis.call('SUNIONSTORE', t, unpack(sets)) end
    for _, key in ipairs(hashes) do addAll(t, redis.call('HKEYS', key)) end
    if m > 0 then
      local keep, checked = {}, {}
      for i = k + n, k + n + m - 1 do
        for _, fp in ipairs(members(KEYS[i])) do
          if not checked[fp] then
            checked[fp] = true
            for _, w in ipairs(workloadsOf(fp)) do
              if spec.want[w] then
                keep[#keep + 1] = fp
                break
              end
            end
          end
        end
      end
      addAll(t, keep)
    end
    keys[#keys + 1] = t
  end
  k = k + n + m
  weights[#weights + 1] = 0
end
local result = KEYS[3]
-- Weight 0 for the index sets: the score left is the last-seen time, so the order is most recent first.
local args = {#keys}
for _, key in ipairs(keys) do args[#args + 1] = key end
args[#args + 1] = 'WEIGHTS'
for _, w in ipairs(weights) do args[#args + 1] = w end
redis.call('ZINTERSTORE', result, unpack(args))
local total = redis.call('ZCARD', result)
local page = redis.call('ZREVRANGE', result, offset, offset + limit - 1)
redis.call('DEL', KEYS[3], KEYS[4], unpack(KEYS, 6, 5 + filters))
return {total, page}
