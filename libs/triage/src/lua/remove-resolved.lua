-- Retention: removes findings resolved before the cutoff (resolvedAt, or lastSeen for findings resolved
-- before it was recorded) with every index entry. A finding that reopened since it was listed is kept.
-- KEYS     as in finding-prelude.lua (run after it)
-- ARGV     cutoff (ISO time), then fingerprints
-- Reply    the fingerprints removed
local cutoff, removed = ARGV[1], {}
for i = 2, #ARGV do
  local fp = ARGV[i]
  local key = fkey(fp)
  local h = redis.call('HMGET', key, 'state', 'resolvedAt', 'lastSeen', 'ix', 'indexes', 'digests', 'workloads')
  local at = h[2] or h[3]
  if h[1] == 'resolved' and at and at < cutoff then
    for name in string.gmatch(h[4] or '', '[^\n]+') do redis.call('SREM', idx(name), fp) end
    for name in string.gmatch(h[5] or '', '[^\n]+') do indexRemove(name, fp) end
    -- A finding stored by an earlier version and not folded since keeps its index names in a set of its own.
    for _, name in ipairs(redis.call('SMEMBERS', key .. ':indexes')) do indexRemove(name, fp) end
    -- Findings stored before index names were remembered: the indexes their digests and workloads put them in.
    local digests, workloads = decodeList(h[6]), decodeList(h[7])
    for _, d in ipairs(redis.call('SMEMBERS', key .. ':digests')) do digests[#digests + 1] = d end
    for _, w in ipairs(redis.call('SMEMBERS', key .. ':workloads')) do workloads[#workloads + 1] = w end
    for _, d in ipairs(digests) do redis.call('SREM', idx('digest:' .. d), fp) end
    for _, w in ipairs(workloads) do indexRemove('workload:' .. w, fp) end
    redis.call('SREM', idx('state:resolved'), fp)
    redis.call('ZREM', KEYS[3], fp)
    redis.call('ZREM', riskIdx, fp)
    -- The keys beside the hash, of a finding not folded since an earlier version wrote them.
    redis.call('DEL', key, key .. ':history', key .. ':sources', key .. ':digests', key .. ':workloads', key .. ':indexes')
    removed[#removed + 1] = fp
  end
end
return removed
