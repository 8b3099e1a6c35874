-- record-detections: records runtime detections of one workload and reads back every one it keeps, in
-- one call where three commands a workload were sent before (a batch of runtime alerts names about as
-- many workloads as alerts). The hash lives for the runtime window after its last detection.
-- KEYS[1]  the workload's detections hash (graph:detections:<workload>)
-- ARGV[1]  the runtime window (ms): the hash's time to live from now
-- ARGV[2…] field, value pairs: a detection's fingerprint, its stored JSON
-- Reply    the hash after the write, as HGETALL answers it (field, value, …)
local CHUNK = 2000 -- arguments a call to unpack hands on, well under Lua's stack limit
for i = 2, #ARGV, CHUNK do
  redis.call('HSET', KEYS[1], unpack(ARGV, i, math.min(i + CHUNK - 1, #ARGV)))
end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return redis.call('HGETALL', KEYS[1])
