-- Retention: removes findings resolved before the cutoff (resolvedAt, or lastSeen for findings resolved
-- before it was recorded) with their history, sets and every index entry. A finding that reopened since
-- it was listed is kept.
-- KEYS     as in finding-prelude.lua (run after it)
-- ARGV     cutoff (ISO time), then fingerprints
-- Reply    the fingerprints removed
local cutoff, removed = ARGV[1], {}
for i = 2, #ARGV do
  local fp = ARGV[i]
  local key = fkey(fp)
  local h = redis.call('HMGET', key, 'state', 'resolvedAt', 'lastSeen', 'ix')
  local at = h[2] or h[3]
  if h[1] == 'resolved' and at and at < cutoff then
    for name in string.gmatch(h[4] or '', '[^\n]+') do redis.call('SREM', idx(name), fp) end
    for _, name in ipairs(redis.call('SMEMBERS', key .. ':indexes')) do redis.call('SREM', idx(name), fp) end
    -- Findings stored before ':indexes' existed: the indexes their digests and workloads put them in.
    for _, d in ipairs(redis.call('SMEMBERS', key .. ':digests')) do redis.call('SREM', idx('digest:' .. d), fp) end
    for _, w in ipairs(redis.call('SMEMBERS', key .. ':workloads')) do redis.call('SREM', idx('workload:' .. w), fp) end
    redis.call('SREM', idx('state:resolved'), fp)
    redis.call('SREM', KEYS[3], fp)
    redis.call('ZREM', KEYS[4], fp)
    redis.call('ZREM', riskIdx, fp)
    redis.call('DEL', key, key .. ':history', key .. ':sources', key .. ':digests', key .. ':workloads', key .. ':indexes')
    removed[#removed + 1] = fp
  end
end
return removed
