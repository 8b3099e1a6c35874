-- Adds changes to groups and (re)arms their timers. A timer is due no sooner than groupWait after the
-- change and groupInterval after the group's last flush; a group waiting only for its repeat is
-- brought forward (a new window: a new seq, the old timer then finds nothing to do).
-- KEYS[2g-1]  group g's hash (`group:<id>`: route, labels, seq, flushAt, lastFlush), g = 1..n
-- KEYS[2g]    group g's pending changes (`group:<id>:pending`, fingerprint → payload)
-- ARGV[1]     now (ms)
-- ARGV[2..]   per group, in KEYS order: groupId, route, labels JSON, wait (ms), interval (ms), n,
--             then n × (fingerprint, payload)
-- Reply       per group {groupId, route, seq, flushAt}
local now = tonumber(ARGV[1])
local out = {}
local i, k = 2, 1
while i <= #ARGV do
  local id, route, labels, wait, interval, n = ARGV[i], ARGV[i + 1], ARGV[i + 2], tonumber(ARGV[i + 3]), tonumber(ARGV[i + 4]), tonumber(ARGV[i + 5])
  local g, pending = KEYS[k], KEYS[k + 1]
  k = k + 2
  i = i + 6
  for j = i, i + 2 * n - 1, 2 do redis.call('HSET', pending, ARGV[j], ARGV[j + 1]) end
  i = i + 2 * n
  redis.call('HSET', g, 'route', route, 'labels', labels)
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
