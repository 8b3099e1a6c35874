-- Retention: removes a group's state. With a cutoff, only a group that is idle: no timer armed, nothing
-- pending, nothing told open, no activity since the cutoff.
-- KEYS[1]  the group's hash (`group:<id>`)
-- KEYS[2]  its pending changes
-- KEYS[3]  the findings it has told open
-- KEYS[4]  the groups by last activity (`{groups}:index`)
-- KEYS[5]  the pending changes' records
-- ARGV     groupId, cutoff (ms, '' for none)
-- Reply    1 when removed, 0 when kept
local g, pending, open, index, records = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local id, cutoff = ARGV[1], tonumber(ARGV[2])
if cutoff then
  local last = tonumber(redis.call('ZSCORE', index, id) or '0')
  if redis.call('HEXISTS', g, 'flushAt') == 1 or redis.call('EXISTS', pending) == 1
    or redis.call('EXISTS', open) == 1 or last > cutoff then return 0 end
end
redis.call('DEL', g, pending, open, records)
redis.call('ZREM', index, id)
return 1
