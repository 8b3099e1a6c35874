-- Records which digest each running slot runs (from workload assets) and resolves findings of digests
-- that stopped being current.
-- KEYS     as in finding-prelude.lua (run after it)
-- ARGV     now (ISO), now (ms), cause, history limit, then per slot: image repository, slot
--          (`cluster/namespace/kind/name/container`), digest ('' the slot is gone)
-- Reply    the fingerprints resolved (a retried cause answers what the first attempt resolved)
local now, nowMs, cause, limit = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local touched = {}
for i = 5, #ARGV, 3 do
  local running = imageKey(ARGV[i]) .. ':running'
  if ARGV[i + 2] == '' then redis.call('HDEL', running, ARGV[i + 1]) else redis.call('HSET', running, ARGV[i + 1], ARGV[i + 2]) end
  touched[ARGV[i]] = true
end
local resolved = {}
for repository in pairs(touched) do
  -- The same input again (a retried job): its slots are already recorded, so reconciling finds nothing
  -- dropped; answer with what the first attempt resolved, or routing never hears of it.
  local lastKey = imageKey(repository) .. ':running-last'
  if redis.call('HGET', lastKey, 'cause') == cause then
    for _, fp in ipairs(cjson.decode(redis.call('HGET', lastKey, 'resolved'))) do resolved[#resolved + 1] = fp end
  else
    local live, gone = reconcile(repository, '')
    local candidates = {}
    for _, key in ipairs(gone) do
      for _, fp in ipairs(scopeMembers(key)) do candidates[fp] = true end
    end
    local mine = {}
    resolveUnless(candidates, live, now, 'no current digest of ' .. repository .. ' has it (' .. cause .. ')', limit, mine)
    for _, fp in ipairs(mine) do resolved[#resolved + 1] = fp end
    redis.call('HSET', lastKey, 'cause', cause, 'resolved', #mine == 0 and '[]' or cjson.encode(mine))
  end
end
return resolved
