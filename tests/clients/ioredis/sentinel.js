// ioredis's Sentinel support against a bucketd cluster (tests/cluster_test.go):
// argv: cluster-id host:port…. Finds the leader through the nodes' SENTINEL
// commands, writes through it and prints the reply and the node's role.
const Redis = require("ioredis");
const [name, ...addrs] = process.argv.slice(2);
const sentinels = addrs.map((a) => ({ host: a.split(":")[0], port: Number(a.split(":")[1]) }));
(async () => {
  const r = new Redis({ sentinels, name, sentinelRetryStrategy: null });
  console.log(await r.call("B.INSERT", "kv", '{"id":"io","v":1}'));
  console.log((await r.call("ROLE"))[0]);
  r.disconnect();
})().catch((e) => {
  console.error(e.message);
  process.exit(1);
});
