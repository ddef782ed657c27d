// node-redis (RESP3) against walkerd: one result line per check.
//
// Usage: node resp3.mjs HOST:PORT OTHER_HOST:PORT
//
// HOST:PORT is the node every check runs on; OTHER_HOST:PORT (the same
// node, or another node of its cluster) is where the second client of a
// check writes and publishes from. Each check prints "ok NAME" or
// "FAIL NAME: why"; walkerd/clients_e2e_test.go runs this program and
// asserts every line. The checks that need CLIENT TRACKING are named
// tracking_*.
import assert from 'node:assert/strict';
import { createClient, RESP_TYPES, VerbatimString } from 'redis';

const [here, there] = process.argv.slice(2);

function options(addr, extra = {}) {
  const i = addr.lastIndexOf(':');
  return {
    socket: { host: addr.slice(0, i), port: Number(addr.slice(i + 1)), connectTimeout: 5000, reconnectStrategy: false },
    RESP: 3,
    ...extra,
  };
}

async function connect(addr, extra) {
  const c = createClient(options(addr, extra));
  c.on('error', (err) => console.error(`client error (${addr}): ${err}`));
  await c.connect();
  opened.push(c);
  return c;
}

const opened = [];

async function waitUntil(cond, what, ms = 10000) {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const checks = [];
const check = (name, fn) => checks.push([name, fn]);

let c, other;

check('hello3', async () => {
  const hello = await c.sendCommand(['HELLO', '3']);
  assert.equal(hello.proto, 3, 'proto');
  assert.equal(hello.server, 'redis', 'server');
  assert.equal(typeof hello.id, 'number', 'id');
  assert.equal(typeof hello.version, 'string', 'version');
  assert.ok(Array.isArray(hello.modules), 'modules');
  // The handshake the client made on connect was HELLO 3 too.
  const info = await c.clientInfo();
  assert.equal(info.resp, 3, 'CLIENT INFO resp');
});

check('map', async () => {
  await c.del('m:h');
  assert.equal(await c.hSet('m:h', { a: '1', b: '2' }), 2);
  assert.deepEqual({ ...(await c.hGetAll('m:h')) }, { a: '1', b: '2' }, 'HGETALL as an object');
  const asMap = await c.withTypeMapping({ [RESP_TYPES.MAP]: Map }).hGetAll('m:h');
  assert.ok(asMap instanceof Map, 'HGETALL is a RESP3 map');
  assert.deepEqual([...asMap.entries()].sort(), [['a', '1'], ['b', '2']]);
  assert.deepEqual({ ...(await c.hGetAll('m:none')) }, {}, 'HGETALL of a missing key');
  const cfg = await c.sendCommand(['CONFIG', 'GET', 'databases'], { typeMapping: { [RESP_TYPES.MAP]: Map } });
  assert.ok(cfg instanceof Map && cfg.get('databases') === '16', 'CONFIG GET is a RESP3 map');
});

check('double', async () => {
  await c.del('d:z');
  await c.zAdd('d:z', [{ score: 1.5, value: 'm' }, { score: 3, value: 'n' }]);
  assert.equal(await c.zScore('d:z', 'm'), 1.5, 'ZSCORE');
  // A RESP3 double reaches the caller as a number; RESP2's bulk string
  // would stay a string here.
  assert.equal(await c.sendCommand(['ZSCORE', 'd:z', 'm']), 1.5, 'raw ZSCORE');
  await c.zAdd('d:z', { score: Infinity, value: 'big' });
  assert.equal(await c.sendCommand(['ZSCORE', 'd:z', 'big']), Infinity, 'ZSCORE +inf');
  assert.deepEqual(await c.zRangeWithScores('d:z', 0, 1), [{ value: 'm', score: 1.5 }, { value: 'n', score: 3 }]);
  assert.equal(await c.zIncrBy('d:z', 0.5, 'm'), 2, 'ZINCRBY');
  assert.deepEqual(await c.sendCommand(['ZMSCORE', 'd:z', 'm', 'nope']), [2, null], 'ZMSCORE');
});

check('set', async () => {
  await c.del('s:s');
  await c.sAdd('s:s', ['x', 'y', 'z']);
  assert.deepEqual((await c.sMembers('s:s')).sort(), ['x', 'y', 'z'], 'SMEMBERS');
  const asSet = await c.withTypeMapping({ [RESP_TYPES.SET]: Set }).sMembers('s:s');
  assert.ok(asSet instanceof Set, 'SMEMBERS is a RESP3 set');
  assert.deepEqual([...asSet].sort(), ['x', 'y', 'z']);
  assert.equal(await c.sIsMember('s:s', 'y'), 1, 'SISMEMBER');
});

check('null', async () => {
  assert.equal(await c.get('n:none'), null, 'GET');
  assert.equal(await c.hGet('m:h', 'none'), null, 'HGET');
  assert.equal(await c.sendCommand(['ZSCORE', 'd:z', 'none']), null, 'ZSCORE');
  assert.deepEqual(await c.mGet(['n:none', 'n:none2']), [null, null], 'MGET');
  assert.equal(await c.lPop('n:none'), null, 'LPOP');
});

check('verbatim', async () => {
  const info = await c.sendCommand(['INFO', 'server'], { typeMapping: { [RESP_TYPES.VERBATIM_STRING]: VerbatimString } });
  assert.ok(info instanceof VerbatimString, `INFO is a verbatim string: ${typeof info}`);
  assert.equal(info.format, 'txt');
  assert.match(String(info), /redis_version:/);
});

check('pubsub_push', async () => {
  const sub = await connect(here);
  const got = [];
  await sub.subscribe('ps:news', (msg, ch) => got.push(['message', ch, msg]));
  await sub.pSubscribe('ps:n*', (msg, ch) => got.push(['pmessage', ch, msg]));
  // RESP3 lets a subscribed connection run other commands.
  assert.equal(await sub.ping(), 'PONG', 'PING while subscribed');
  await sub.set('ps:k', 'v');
  assert.equal(await sub.get('ps:k'), 'v', 'GET while subscribed');
  for (let i = 0; i < 20; i++) await other.publish('ps:news', `m${i}`);
  await other.publish('ps:nothing', 'p');
  await other.publish('ps:other', 'nobody');
  await waitUntil(() => got.length >= 41, '41 messages');
  await new Promise((r) => setTimeout(r, 50));
  const direct = got.filter((m) => m[0] === 'message').map((m) => m[2]);
  assert.deepEqual(direct, Array.from({ length: 20 }, (_, i) => `m${i}`), 'channel messages in order');
  const byPattern = got.filter((m) => m[0] === 'pmessage');
  assert.equal(byPattern.length, 21, 'pattern messages');
  assert.deepEqual(byPattern[20], ['pmessage', 'ps:nothing', 'p']);
  assert.equal(got.length, 41, 'message count: 20 direct, 21 by pattern');
  await sub.unsubscribe('ps:news');
  await sub.pUnsubscribe('ps:n*');
  assert.equal(await sub.ping(), 'PONG', 'PING after unsubscribing');
});

// Client-side caching: node-redis's clientSideCache turns CLIENT TRACKING
// on in the handshake, caches GET and HGETALL replies and drops them on
// the server's invalidate pushes.
async function cachingClient() {
  const csc = await connect(here, { clientSideCache: { ttl: 0, maxEntries: 0 } });
  const cache = csc.clientSideCache;
  const invalidated = [];
  cache.on('invalidate', (key) => invalidated.push(key === null ? null : String(key)));
  const count = (key) => invalidated.filter((k) => k === key).length;
  // barrier returns once this node has applied, and sent the
  // invalidations of, every write made so far. A follower applies a write
  // after the leader answered it, and a read at the leader may already
  // see it: a key read meanwhile would get its invalidation late (an
  // extra one, which Redis never sends, harmless but not countable). The
  // barrier is the invalidation of a write to a key the client tracks,
  // which this node sends after those of the writes before it.
  let seq = 0;
  const barrier = async () => {
    const n = count('t:barrier');
    await csc.get('t:barrier');
    await other.set('t:barrier', String(++seq));
    await waitUntil(() => count('t:barrier') > n, 'the barrier invalidation');
  };
  return { csc, cache, invalidated, count, barrier };
}

check('tracking_client_side_cache', async () => {
  const { csc, cache, invalidated, count, barrier } = await cachingClient();
  await other.set('t:k', 'v1');
  await barrier();
  let st = cache.stats();
  assert.equal(await csc.get('t:k'), 'v1', 'first GET');
  assert.equal(await csc.get('t:k'), 'v1', 'second GET');
  assert.equal(cache.stats().missCount, st.missCount + 1, 'the first GET missed');
  assert.equal(cache.stats().hitCount, st.hitCount + 1, 'the second GET hit');
  // Another client's write invalidates the key: the next GET misses and
  // sees the new value.
  let n = count('t:k');
  await other.set('t:k', 'v2');
  await waitUntil(() => count('t:k') > n, 'the invalidation of t:k');
  st = cache.stats();
  assert.equal(await csc.get('t:k'), 'v2', 'GET after the other write');
  assert.equal(cache.stats().missCount, st.missCount + 1, 'the GET after the invalidation missed');
  // A hash.
  await other.hSet('t:h', 'f', '1');
  await barrier();
  assert.deepEqual({ ...(await csc.hGetAll('t:h')) }, { f: '1' });
  assert.deepEqual({ ...(await csc.hGetAll('t:h')) }, { f: '1' });
  n = count('t:h');
  await other.hSet('t:h', 'g', '2');
  await waitUntil(() => count('t:h') > n, 'the invalidation of t:h');
  assert.deepEqual({ ...(await csc.hGetAll('t:h')) }, { f: '1', g: '2' });
  // FLUSHALL invalidates everything: a null key.
  assert.equal(await csc.get('t:k'), 'v2');
  await other.flushAll();
  await waitUntil(() => invalidated.includes(null), 'the FLUSHALL invalidation');
  assert.equal(await csc.get('t:k'), null, 'GET after FLUSHALL');
});

// The client's own write invalidates its cached entry before the next
// reply: on Redis the invalidation follows the write's reply at once
// (tracking_pending_keys), so a GET right after a SET sees the new value.
check('tracking_own_write', async () => {
  const { csc, barrier } = await cachingClient();
  await csc.set('t:own', 'v1');
  await barrier();
  for (let i = 2; i <= 5; i++) {
    assert.equal(await csc.get('t:own'), `v${i - 1}`, 'GET');
    assert.equal(await csc.get('t:own'), `v${i - 1}`, 'GET from the cache');
    await csc.set('t:own', `v${i}`);
    assert.equal(await csc.get('t:own'), `v${i}`, `GET right after its own SET v${i}`);
  }
});

// CLIENT TRACKING ON through node-redis's emitInvalidate: the raw pushes.
check('tracking_invalidate_push', async () => {
  const tc = await connect(here, { emitInvalidate: true });
  const keys = [];
  // (A flush applied on this node after the handshake would add a null.)
  tc.on('invalidate', (key) => key !== null && keys.push(String(key)));
  await tc.get('t:a');
  await tc.mGet(['t:b', 't:c']);
  await other.set('t:a', '1');
  await other.mSet({ 't:b': '1', 't:untracked': '1' });
  await waitUntil(() => keys.length >= 2, 'two invalidations');
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(keys.sort(), ['t:a', 't:b'], 'invalidated keys');
  // A key is reported once until it is read again.
  await other.set('t:a', '2');
  await other.set('t:c', '2');
  await waitUntil(() => keys.includes('t:c'), 't:c invalidated');
  assert.deepEqual(keys.slice(2), ['t:c'], 'keys after the second writes');
  const info = await tc.sendCommand(['CLIENT', 'TRACKINGINFO']);
  assert.deepEqual(info.flags, ['on'], `CLIENT TRACKINGINFO flags: ${JSON.stringify(info)}`);
});

try {
  c = await connect(here);
  other = await connect(there);
  await c.flushAll();
} catch (err) {
  console.log(`FAIL connect: ${err}`);
  process.exit(1);
}
for (const [name, fn] of checks) {
  try {
    await fn();
    console.log(`ok ${name}`);
  } catch (err) {
    console.log(`FAIL ${name}: ${String(err && err.message ? err.message : err).replace(/\s+/g, ' ')}`);
  }
}
await Promise.allSettled(opened.map((x) => x.close()));
process.exit(0);
