-- Takes a delivery lock, or takes it back: the holder is the notification id, so the same notification
-- retried after its process died gets its own lock again at once instead of waiting out the TTL.
-- KEYS[1]  the lock (`<prefix>:ledger-lock:<destination>:<notification key>`)
-- ARGV[1]  the holder (notification id)
-- ARGV[2]  TTL in ms
-- Reply    1 when this holder has the lock now, 0 when another holds it
if redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX') or redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
