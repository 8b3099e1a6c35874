-- After an exception ended: findings it suppressed either move to the exception that covers them now or
-- reopen (returned, to be routed as new). 'ending' names the end (its job): the same end again (a retried
-- job, whose first attempt already moved the findings) answers with what the first attempt reopened.
-- KEYS     as in finding-prelude.lua (run after it)
-- ARGV     now (ISO), cause, history limit, ended exception id, ending ('' none), seconds the answer is
--          kept, then per finding: fingerprint, the exception covering it now ('' none)
-- Reply    the fingerprints reopened
local now, cause, limit, ended, ending, ttl = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5], tonumber(ARGV[6])
local lastKey = KEYS[7] .. ended
if ending ~= '' and redis.call('HGET', lastKey, 'ending') == ending then
  return cjson.decode(redis.call('HGET', lastKey, 'reopened'))
end
local reopened = {}
for i = 7, #ARGV, 2 do
  local fp, exc = ARGV[i], ARGV[i + 1]
  local key = fkey(fp)
  local cur = redis.call('HMGET', key, 'state', 'exception')
  if cur[1] == 'suppressed' and cur[2] == ended then
    redis.call('SREM', idx('exception:' .. ended), fp)
    if exc ~= '' then
      redis.call('HSET', key, 'exception', exc)
      redis.call('SADD', idx('exception:' .. exc), fp)
      history(fp, now, 'suppressed', cause .. '; now covered by exception ' .. exc, limit)
    else
      redis.call('HSET', key, 'state', 'open')
      redis.call('HDEL', key, 'exception')
      setState(fp, 'suppressed', 'open')
      history(fp, now, 'open', cause, limit)
      reopened[#reopened + 1] = fp
    end
  end
end
if ending ~= '' then
  -- Kept as long as a job of this end can still be retried, or replayed from the dead letters soon after.
  redis.call('HSET', lastKey, 'ending', ending, 'reopened', #reopened == 0 and '[]' or cjson.encode(reopened))
  redis.call('EXPIRE', lastKey, ttl)
end
return reopened
