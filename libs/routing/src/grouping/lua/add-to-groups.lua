-- Adds changes to groups and (re)arms their timers. A timer is due no sooner than groupWait after the
-- change and groupInterval after the group's last flush; a group waiting only for its repeat is
-- brought forward (a new window: a new seq, the old timer then finds nothing to do).
-- KEYS[3g-2]  group g's hash (`group:<id>`: route, labels, seq, flushAt, lastFlush), g = 1..n
-- KEYS[3g-1]  group g's pending changes (`group:<id>:pending`, fingerprint → 'change|event|cause|severity')
-- KEYS[3g]    their finding records (`group:<id>:pending:records`, fingerprint → finding JSON): apart, so
--             the flush reads the small change lines and moves the records whole, never copying them
-- KEYS[last]  the groups by last activity (`{groups}:index`), for retention
-- ARGV[1]     now (ms)
-- ARGV[2..]   per group, in KEYS order: groupId, route, labels JSON, wait (ms), interval (ms), n,
--             then n × (fingerprint, change line, finding JSON)
-- Reply       per group {groupId, route, seq, flushAt}
local now = tonumber(ARGV[1])
local out = {}
local index = KEYS[#KEYS]
local i, k = 2, 1
while i <= #ARGV do
  local id, route, labels, wait, interval, n = ARGV[i], ARGV[i + 1], ARGV[i + 2], tonumber(ARGV[i + 3]), tonumber(ARGV[i + 4]), tonumber(ARGV[i + 5])
  local g, pending, records = KEYS[k], KEYS[k + 1], KEYS[k + 2]
  k = k + 3
  i = i + 6
  for j = i, i + 3 * n - 1, 3 do
    redis.call('HSET', pending, ARGV[j], ARGV[j + 1])
    redis.call('HSET', records, ARGV[j], ARGV[j + 2])
  end
  i = i + 3 * n
  -- Its birth goes into notification ids: a group created again after retention never repeats one.
  if redis.call('EXISTS', g) == 0 then redis.call('HSET', g, 'born', now) end
  redis.call('HSET', g, 'route', route, 'labels', labels)
  redis.call('ZADD', index, now, id)
  local f = redis.call('HMGET', g, 'seq', 'flushAt', 'lastFlush')
  local seq, flushAt = tonumber(f[1] or '0'), tonumber(f[2] or '')
  local due = now + wait
  if f[3] then due = math.max(due, tonumber(f[3]) + interval) end
  if not flushAt or flushAt > due then
    seq, flushAt = seq + 1, due
    redis.call('HSET', g, 'seq', seq, 'flushAt', flushAt)
  end
  out[#out + 1] = {id, route, seq, flushAt}
end
return out
