-- Releases a delivery lock only if this holder still holds it: after a TTL expiry the lock may already
-- be someone else's.
-- KEYS[1]  the lock (`<prefix>:ledger-lock:<destination>:<notification key>`)
-- ARGV[1]  the holder's token, as written by SET NX
-- Reply    1 when the lock was deleted, 0 when another holder (or nobody) has it
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end
