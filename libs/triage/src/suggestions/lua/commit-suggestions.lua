-- Writes one event's evidence for several suggestions at once, if nobody wrote them since they were
-- read (versions), and only once per event (the marker holds the outcome for a retried job).
-- KEYS[1]          the event's marker (`feedback:event:<event id>`), string
-- KEYS[2]          the suggestions by last seen (`suggestions`), sorted set
-- KEYS[2i+1]       suggestion i's hash (`suggestion:<id>`), i = 1..n
-- KEYS[2i+2]       suggestion i's repo set (`suggestions:repo:<repo>`; not touched when its repo is '')
-- ARGV[1], ARGV[2] the marker's TTL in seconds, the outcome JSON the marker keeps
-- ARGV[5i-2..5i+2] suggestion i: id, expected version, JSON, last seen (ms), repo ('' none)
-- Reply            {'ok', ''}; {'conflict', ''} when a version moved (nothing written);
--                  {'done', outcome} when the event was already committed
local marker, ttl, outcome = KEYS[1], tonumber(ARGV[1]), ARGV[2]
local done = redis.call('GET', marker)
if done then return {'done', done} end
local n = (#KEYS - 2) / 2
for s = 1, n do
  local version = redis.call('HGET', KEYS[2 * s + 1], 'version') or '0'
  if version ~= ARGV[5 * s - 1] then return {'conflict', ''} end
end
for s = 1, n do
  local i = 5 * s - 2
  local id, json, last, repo = ARGV[i], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4]
  local key, repoSet = KEYS[2 * s + 1], KEYS[2 * s + 2]
  redis.call('HSET', key, 'data', json, 'version', tonumber(ARGV[i + 1]) + 1)
  redis.call('ZADD', KEYS[2], last, id)
  if repo ~= '' then redis.call('SADD', repoSet, id) end
end
redis.call('SET', marker, outcome, 'EX', ttl)
return {'ok', ''}
