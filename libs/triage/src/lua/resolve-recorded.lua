-- resolve-recorded: marks findings just recorded from an older report than the newest applied to their
-- scope as resolved (that newer report no longer had them), with the reason in their history.
-- KEYS[1]: the open-state index, KEYS[2]: the resolved-state index, then per finding its hash and its history list.
-- ARGV: now, reason, history limit, then the fingerprints (in the order of their keys).
-- Reply: the fingerprints resolved (those still open).
local now, reason, limit = ARGV[1], ARGV[2], tonumber(ARGV[3])
local out = {}
for i = 4, #ARGV do
  local n = i - 3
  local hash, history = KEYS[1 + 2 * n], KEYS[2 + 2 * n]
  if redis.call('HGET', hash, 'state') == 'open' then
    redis.call('HSET', hash, 'state', 'resolved')
    redis.call('SREM', KEYS[1], ARGV[i])
    redis.call('SADD', KEYS[2], ARGV[i])
    if redis.call('RPUSH', history, cjson.encode({at = now, state = 'resolved', cause = reason})) > limit then
      redis.call('LTRIM', history, -limit, -1)
    end
    out[#out + 1] = ARGV[i]
  end
end
return out
