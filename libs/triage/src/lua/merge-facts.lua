-- merge-facts: merges fact records of the asset graph (a digest's image, a commit's build) in place.
-- The twin of mergeFacts in libs/triage/src/assets/facts.ts, which is the reference: sets are unions
-- (kept sorted), each field keeps the register with the newest source time (ties: the greater value),
-- a missing field never erases one, lastSeen is the latest. Order-independent and idempotent.
-- KEYS: n record keys, then index sets that each get one member.
-- ARGV: n, then n record JSONs ({sets, fields, lastSeen}), then one member per index set.
-- Reply: per record, 1 when the merge changed its sets or fields, else 0.
local n = tonumber(ARGV[1])

local function newer(a, b)
  if not a then return b end
  if not b then return a end
  if a.at ~= b.at then
    if a.at > b.at then return a end
    return b
  end
  if a.value >= b.value then return a end
  return b
end

local out = {}
for i = 1, n do
  local incoming = cjson.decode(ARGV[i + 1])
  local raw = redis.call('GET', KEYS[i])
  local changed = 0
  if not raw then
    redis.call('SET', KEYS[i], ARGV[i + 1])
    changed = 1
  else
    local cur = cjson.decode(raw)
    if type(cur.sets) ~= 'table' then cur.sets = {} end
    if type(cur.fields) ~= 'table' then cur.fields = {} end
    for name, values in pairs(incoming.sets) do
      local list = cur.sets[name]
      if type(list) ~= 'table' then list = {} end
      local have = {}
      for _, v in ipairs(list) do have[v] = true end
      for _, v in ipairs(values) do
        if not have[v] then
          have[v] = true
          list[#list + 1] = v
          changed = 1
        end
      end
      table.sort(list)
      cur.sets[name] = list
    end
    for name, register in pairs(incoming.fields) do
      local before = cur.fields[name]
      local kept = newer(before, register)
      if kept ~= before then
        cur.fields[name] = kept
        changed = 1
      end
    end
    if not cur.lastSeen or incoming.lastSeen > cur.lastSeen then cur.lastSeen = incoming.lastSeen end
    redis.call('SET', KEYS[i], cjson.encode(cur))
  end
  out[i] = changed
end
for j = n + 1, #KEYS do
  redis.call('SADD', KEYS[j], ARGV[j + 1])
end
return out
