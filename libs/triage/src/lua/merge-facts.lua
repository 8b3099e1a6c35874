-- merge-facts: merges one fact record of the asset graph (a digest's image, a commit's build) in place.
-- The twin of mergeFacts in libs/triage/src/assets/facts.ts, which is the reference: sets are unions
-- (kept sorted), each field keeps the register with the newest source time (ties: the greater value),
-- a missing field never erases one, lastSeen is the latest. Order-independent and idempotent.
-- KEYS[1]  the record's key
-- ARGV[1]  the record JSON ({sets, fields, lastSeen}) to merge in
-- Reply    1 when the merge changed the stored sets or fields, else 0
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

local incoming = cjson.decode(ARGV[1])
local raw = redis.call('GET', KEYS[1])
if not raw then
  redis.call('SET', KEYS[1], ARGV[1])
  return 1
end
local changed = 0
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
redis.call('SET', KEYS[1], cjson.encode(cur))
return changed
