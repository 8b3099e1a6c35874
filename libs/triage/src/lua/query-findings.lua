-- Finding fingerprints matching every filter (each filter an OR of index sets) and a minimum risk, most
-- recently seen first. Every key is under `<prefix>:{findings}`.
-- KEYS[1]      the last-seen order (`findings:seen`, sorted set)
-- KEYS[2]      the risk index (`findings:risk`, sorted set)
-- KEYS[3]      scratch: the result (`query:result`), deleted before the reply
-- KEYS[4]      scratch: findings at or above the minimum risk (`query:risk`), deleted
-- KEYS[4+f]    scratch: the union of filter f's index sets (`query:union:<f>`), deleted, f = 1..m
-- KEYS[5+m..]  the index sets (`idx:<name>:<value>`) of filter 1, then of filter 2, …
-- ARGV         offset, limit, minimum risk ('' none), then per filter how many index sets it ORs
-- Reply        {total, page of fingerprints}
local offset, limit, minRisk = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local seen = KEYS[1]
local filters = #ARGV - 3
if filters == 0 and minRisk == '' then
  return {redis.call('ZCARD', seen), redis.call('ZREVRANGE', seen, offset, offset + limit - 1)}
end
local keys, weights = {seen}, {1}
if minRisk ~= '' then
  local t = KEYS[4]
  redis.call('ZRANGESTORE', t, KEYS[2], minRisk, '+inf', 'BYSCORE')
  keys[#keys + 1] = t
  weights[#weights + 1] = 0
end
local k = 5 + filters
for f = 1, filters do
  local n = tonumber(ARGV[3 + f])
  if n == 1 then
    keys[#keys + 1] = KEYS[k]
  else
    local t = KEYS[4 + f]
    redis.call('SUNIONSTORE', t, unpack(KEYS, k, k + n - 1))
    keys[#keys + 1] = t
  end
  k = k + n
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
redis.call('DEL', unpack(KEYS, 3, 4 + filters))
return {total, page}
