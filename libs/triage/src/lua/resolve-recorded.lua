-- resolve-recorded: marks findings just recorded from an older report than the newest applied to their
-- scope as resolved (that newer report no longer had them), with the reason in their history.
-- KEYS     as in finding-prelude.lua (run after it)
-- ARGV     now (ISO), reason, history limit, then the fingerprints
-- Reply    the fingerprints resolved (those still open)
local now, reason, limit = ARGV[1], ARGV[2], tonumber(ARGV[3])
local out = {}
for i = 4, #ARGV do
  local fp = ARGV[i]
  if redis.call('HGET', fkey(fp), 'state') == 'open' then
    redis.call('HSET', fkey(fp), 'state', 'resolved')
    setState(fp, 'open', 'resolved')
    history(fp, now, 'resolved', reason, limit)
    out[#out + 1] = fp
  end
end
return out
