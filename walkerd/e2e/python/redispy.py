"""redis-py (RESP2) against walkerd: one result line per check.

Usage: python3 redispy.py HOST:PORT OTHER_HOST:PORT

HOST:PORT is the node every check runs on; OTHER_HOST:PORT (the same node,
or another node of its cluster) is where the second client of a check
writes and publishes from. Each check prints "ok NAME" or "FAIL NAME: why";
walkerd/clients_e2e_test.go runs this program and asserts every line.
"""

import sys
import threading
import time
import traceback

import redis
from redis.exceptions import LockNotOwnedError, NoScriptError, WatchError


def client(addr):
    host, port = addr.rsplit(":", 1)
    return redis.Redis(host=host, port=int(port), socket_timeout=10, decode_responses=True)


r = client(sys.argv[1])
other = client(sys.argv[2])
CHECKS = []


def check(fn):
    CHECKS.append(fn)
    return fn


def wait_until(cond, what, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.01)


def eq(got, want, what=""):
    assert got == want, "%s: got %r, want %r" % (what, got, want)


@check
def pipeline_plain():
    p = r.pipeline(transaction=False)
    p.delete("pp:n", "pp:l")
    p.set("pp:n", 5)
    p.incrby("pp:n", 10)
    p.get("pp:n")
    p.rpush("pp:l", "a", "b")
    p.lrange("pp:l", 0, -1)
    p.get("pp:missing")
    p.hget("pp:l", "f")  # WRONGTYPE: returned in place, not raised
    res = p.execute(raise_on_error=False)
    eq(res[1:7], [True, 15, "15", 2, ["a", "b"], None], "replies")
    assert isinstance(res[7], redis.ResponseError) and str(res[7]).startswith("WRONGTYPE"), res[7]
    # 500 commands in one round trip come back in order.
    p = r.pipeline(transaction=False)
    for i in range(500):
        p.set("pp:k%d" % i, i)
        p.incr("pp:k%d" % i)
    res = p.execute()
    eq(res[1::2], list(range(1, 501)), "500 INCRs")


@check
def pipeline_transaction():
    p = r.pipeline(transaction=True)
    p.set("tx:n", 1)
    p.incr("tx:n")
    p.expire("tx:n", 100)
    p.get("tx:n")
    eq(p.execute(), [True, 2, True, "2"], "MULTI/EXEC")
    assert 0 < r.ttl("tx:n") <= 100, r.ttl("tx:n")
    # A command error inside EXEC fails that command, the others run.
    r.set("tx:s", "abc")
    p = r.pipeline(transaction=True)
    p.incr("tx:s")
    p.set("tx:t", "x")
    res = p.execute(raise_on_error=False)
    assert isinstance(res[0], redis.ResponseError), res
    eq(res[1], True, "SET after the failed INCR")
    eq(r.get("tx:t"), "x", "tx:t")
    # A syntax error queued aborts the whole transaction (EXECABORT).
    p = r.pipeline(transaction=True)
    p.set("tx:u", "1")
    p.execute_command("SET", "tx:u")
    try:
        p.execute()
        raise AssertionError("no error for a transaction with a bad command")
    except redis.ResponseError as e:
        assert "EXECABORT" in str(e) or "wrong number of arguments" in str(e), e
    eq(r.exists("tx:u"), 0, "tx:u after EXECABORT")


@check
def watch_conflict_retried():
    r.set("w:balance", 100)
    attempts = []

    def debit(pipe):
        n = int(pipe.get("w:balance"))
        attempts.append(n)
        if len(attempts) == 1:
            # Another client changes the watched key before EXEC.
            other.incrby("w:balance", 50)
            wait_until(lambda: r.get("w:balance") == "150", "the other client's write")
        pipe.multi()
        pipe.set("w:balance", n - 30)

    r.transaction(debit, "w:balance")
    eq(attempts, [100, 150], "values read on each attempt")
    eq(r.get("w:balance"), "120", "balance")
    # Without the retry helper the conflict surfaces as WatchError.
    with r.pipeline() as p:
        p.watch("w:balance")
        other.set("w:balance", 0)
        wait_until(lambda: r.get("w:balance") == "0", "the other client's write")
        p.multi()
        p.set("w:balance", 1)
        try:
            p.execute()
            raise AssertionError("EXEC ran despite the WATCHed key changing")
        except WatchError:
            pass
    eq(r.get("w:balance"), "0", "balance after the aborted EXEC")


@check
def pubsub_run_in_thread():
    got = []
    lock = threading.Lock()

    def handler(msg):
        with lock:
            got.append((msg["type"], msg.get("pattern"), msg["channel"], msg["data"]))

    p = r.pubsub(ignore_subscribe_messages=True)
    p.subscribe(**{"ps:news": handler})
    p.psubscribe(**{"ps:sport.*": handler})
    t = p.run_in_thread(sleep_time=0.01, daemon=True)
    try:
        # The subscriptions are in place once PUBSUB NUMSUB counts them on
        # this node.
        wait_until(lambda: r.pubsub_numsub("ps:news") == [("ps:news", 1)] and r.pubsub_numpat() == 1,
                   "the subscriptions")
        for i in range(20):
            other.publish("ps:news", "n%d" % i)
            other.publish("ps:sport.tennis", "s%d" % i)
        other.publish("ps:other", "nobody")
        wait_until(lambda: len(got) >= 40, "40 messages")
        time.sleep(0.05)
        with lock:
            news = [d for (ty, _, ch, d) in got if ty == "message" and ch == "ps:news"]
            sport = [(pat, ch, d) for (ty, pat, ch, d) in got if ty == "pmessage"]
            eq(len(got), 40, "message count")
        eq(news, ["n%d" % i for i in range(20)], "channel messages in order")
        eq(sport, [("ps:sport.*", "ps:sport.tennis", "s%d" % i) for i in range(20)], "pattern messages in order")
    finally:
        t.stop()
        t.join(5)
        p.close()
    assert not t.is_alive(), "the pubsub thread did not stop"


@check
def pubsub_get_message():
    p = r.pubsub()
    p.subscribe("gm:a", "gm:b")
    subs = [p.get_message(timeout=5), p.get_message(timeout=5)]
    eq([(m["type"], m["channel"], m["data"]) for m in subs],
       [("subscribe", "gm:a", 1), ("subscribe", "gm:b", 2)], "subscribe confirmations")
    wait_until(lambda: dict(r.pubsub_numsub("gm:a")).get("gm:a") == 1, "the subscription")
    other.publish("gm:b", "hello")
    m = p.get_message(timeout=10)
    eq((m["type"], m["channel"], m["data"]), ("message", "gm:b", "hello"), "message")
    p.unsubscribe("gm:a")
    m = p.get_message(timeout=5)
    eq((m["type"], m["channel"], m["data"]), ("unsubscribe", "gm:a", 1), "unsubscribe")
    # PING inside subscribed mode answers a pong message.
    p.ping("hi")
    m = p.get_message(timeout=5)
    eq((m["type"], m["data"]), ("pong", "hi"), "ping in subscribed mode")
    p.close()


@check
def lock_acquire_extend_release():
    a = r.lock("lk:res", timeout=10)
    # thread_local=False: b is acquired in another thread below.
    b = other.lock("lk:res", timeout=10, blocking_timeout=5, thread_local=False)
    assert a.acquire(blocking=False), "a could not take a free lock"
    assert not b.acquire(blocking=False), "b took a held lock"
    assert a.owned() and not b.owned()
    assert a.extend(5), "extend"
    assert 10000 < r.pttl("lk:res") <= 15000, r.pttl("lk:res")
    assert a.extend(20, replace_ttl=True), "extend replace_ttl"
    assert 15000 < r.pttl("lk:res") <= 20000, r.pttl("lk:res")
    a.reacquire()
    assert 9000 < r.pttl("lk:res") <= 10000, r.pttl("lk:res")
    # b blocks until a lets go.
    done = []
    th = threading.Thread(target=lambda: done.append(b.acquire(blocking=True)))
    th.start()
    time.sleep(0.2)
    assert not done, "b acquired a held lock"
    a.release()
    th.join(10)
    eq(done, [True], "b's blocking acquire")
    assert b.owned() and not a.owned()
    try:
        a.release()
        raise AssertionError("a released a lock it does not own")
    except redis.exceptions.LockError:
        pass
    # A lock whose key another client overwrote: the scripts of extend and
    # release find another token and refuse.
    c = r.lock("lk:stolen", timeout=10)
    assert c.acquire(blocking=False)
    other.set("lk:stolen", "someone else")
    wait_until(lambda: r.get("lk:stolen") == "someone else", "the other client's write")
    for op in (lambda: c.extend(1), c.reacquire, c.release):
        try:
            op()
            raise AssertionError("an operation on a stolen lock succeeded")
        except LockNotOwnedError:
            pass
    eq(r.get("lk:stolen"), "someone else", "stolen lock key")
    b.release()
    eq(r.exists("lk:res"), 0, "lock key after release")
    with r.lock("lk:ctx", timeout=5) as l:
        assert l.locked()
    eq(r.exists("lk:ctx"), 0, "context-managed lock released")


@check
def register_script_noscript_fallback():
    s = r.register_script("""
        local n = redis.call('INCRBY', KEYS[1], ARGV[1])
        return {n, redis.call('GET', KEYS[1]), tonumber(ARGV[2]) * 2}
    """)
    r.delete("sc:n")
    eq(s(keys=["sc:n"], args=[5, 21]), [5, "5", 42], "first call")
    r.script_flush()
    try:
        r.evalsha(s.sha, 1, "sc:n", 1, 1)
        raise AssertionError("EVALSHA found a flushed script")
    except NoScriptError:
        pass
    # Script.__call__ gets NOSCRIPT, loads the script and runs it again.
    eq(s(keys=["sc:n"], args=[2, 1]), [7, "7", 2], "call after SCRIPT FLUSH")
    # Inside a pipeline the script is loaded before EXEC.
    r.script_flush()
    p = r.pipeline()
    s(keys=["sc:n"], args=[1, 0], client=p)
    p.get("sc:n")
    eq(p.execute(), [[8, "8", 0], "8"], "script in a pipeline after FLUSH")
    try:
        r.eval("return redis.call('NOSUCHCMD')", 0)
        raise AssertionError("no error from an unknown command in a script")
    except redis.ResponseError as e:
        assert "Unknown Redis command" in str(e) or "unknown command" in str(e).lower(), e


@check
def script_exists_after_load_and_flush():
    # SCRIPT EXISTS answers for the scripts the node's client loaded and
    # flushed, as soon as LOAD and FLUSH have answered.
    sha = r.script_load("return 'exists'")
    eq(r.script_exists(sha, "0" * 40), [True, False], "SCRIPT EXISTS after LOAD")
    r.script_flush()
    eq(r.script_exists(sha), [False], "SCRIPT EXISTS after FLUSH")
    eq(r.eval("return 'exists'", 0), "exists", "EVAL")
    eq(r.script_exists(sha), [True], "SCRIPT EXISTS after EVAL")


@check
def scan_iter_each_key_once():
    n = 1500
    p = r.pipeline(transaction=False)
    for i in range(n):
        p.set("scan:k:%04d" % i, i)
    p.set("noscan", 1)
    p.execute()
    seen = {}
    for k in r.scan_iter(match="scan:k:*", count=100):
        seen[k] = seen.get(k, 0) + 1
    eq(len(seen), n, "distinct keys")
    twice = [k for k, c in seen.items() if c != 1]
    eq(twice, [], "keys seen more than once")
    eq(sorted(seen) == ["scan:k:%04d" % i for i in range(n)], True, "the keys")
    # _type filter and the collection scans.
    r.hset("scan:h", mapping={"f%d" % i: i for i in range(300)})
    eq([k for k in r.scan_iter(match="scan:*", _type="hash")], ["scan:h"], "SCAN TYPE hash")
    eq(sorted(dict(r.hscan_iter("scan:h", count=50))), sorted("f%d" % i for i in range(300)), "HSCAN")
    r.sadd("scan:s", *range(300))
    eq(sorted(int(m) for m in r.sscan_iter("scan:s", count=50)), list(range(300)), "SSCAN")
    r.zadd("scan:z", {"m%d" % i: i for i in range(300)})
    eq(sorted(sc for _, sc in r.zscan_iter("scan:z", count=50)), [float(i) for i in range(300)], "ZSCAN")


@check
def hash_basics():
    r.delete("h")
    eq(r.hset("h", mapping={"a": "1", "b": "2", "c": "x"}), 3, "HSET")
    eq(r.hgetall("h"), {"a": "1", "b": "2", "c": "x"}, "HGETALL")
    eq(r.hincrby("h", "a", 41), 42, "HINCRBY")
    eq(r.hincrbyfloat("h", "b", 0.5), 2.5, "HINCRBYFLOAT")
    eq(r.hmget("h", ["a", "zz", "c"]), ["42", None, "x"], "HMGET")
    eq(r.hsetnx("h", "a", "0"), False, "HSETNX existing")
    eq(sorted(r.hkeys("h")), ["a", "b", "c"], "HKEYS")
    eq(r.hlen("h"), 3, "HLEN")
    eq(r.hdel("h", "c", "zz"), 1, "HDEL")
    eq(r.hexists("h", "c"), False, "HEXISTS")
    eq(r.hstrlen("h", "b"), 3, "HSTRLEN")


@check
def list_basics():
    r.delete("l", "l2")
    eq(r.rpush("l", "a", "b", "c"), 3, "RPUSH")
    eq(r.lpush("l", "z"), 4, "LPUSH")
    eq(r.lrange("l", 0, -1), ["z", "a", "b", "c"], "LRANGE")
    eq(r.lpop("l"), "z", "LPOP")
    eq(r.rpop("l", 2), ["c", "b"], "RPOP count")
    eq(r.linsert("l", "BEFORE", "a", "_"), 2, "LINSERT")
    eq(r.lindex("l", -1), "a", "LINDEX")
    eq(r.lmove("l", "l2", "LEFT", "RIGHT"), "_", "LMOVE")
    eq(r.lpos("l", "a"), 0, "LPOS")
    eq(r.blpop(["l-empty", "l2"], timeout=1), ("l2", "_"), "BLPOP ready")
    # A blocked BLPOP is woken by another client's push.
    res = []
    th = threading.Thread(target=lambda: res.append(r.blpop(["l-wait"], timeout=10)))
    th.start()
    wait_until(lambda: r.info("clients")["blocked_clients"] == 1 or res, "the BLPOP to block")
    other.rpush("l-wait", "woken")
    th.join(10)
    eq(res, [("l-wait", "woken")], "blocked BLPOP")


@check
def set_basics():
    r.delete("s1", "s2")
    eq(r.sadd("s1", "a", "b", "c"), 3, "SADD")
    eq(r.sadd("s2", "b", "c", "d"), 3, "SADD")
    eq(r.smembers("s1"), {"a", "b", "c"}, "SMEMBERS")
    eq(r.sismember("s1", "a"), True, "SISMEMBER")
    eq(r.smismember("s1", ["a", "z"]), [True, False], "SMISMEMBER")
    eq(r.sinter("s1", "s2"), {"b", "c"}, "SINTER")
    eq(r.sunion("s1", "s2"), {"a", "b", "c", "d"}, "SUNION")
    eq(r.sdiff("s1", "s2"), {"a"}, "SDIFF")
    eq(r.scard("s1"), 3, "SCARD")
    eq(r.srem("s1", "a", "z"), 1, "SREM")
    eq(r.sinterstore("s3", ["s1", "s2"]), 2, "SINTERSTORE")


@check
def zset_basics():
    r.delete("z")
    eq(r.zadd("z", {"a": 1, "b": 2.5, "c": 3}), 3, "ZADD")
    eq(r.zrange("z", 0, -1, withscores=True), [("a", 1.0), ("b", 2.5), ("c", 3.0)], "ZRANGE WITHSCORES")
    eq(r.zscore("z", "b"), 2.5, "ZSCORE")
    eq(r.zincrby("z", 0.25, "a"), 1.25, "ZINCRBY")
    eq(r.zrank("z", "c"), 2, "ZRANK")
    eq(r.zrevrange("z", 0, 0), ["c"], "ZREVRANGE")
    eq(r.zrangebyscore("z", "(1.25", "+inf"), ["b", "c"], "ZRANGEBYSCORE")
    eq(r.zcount("z", 1, 2.5), 2, "ZCOUNT")
    eq(r.zadd("z", {"b": 10}, xx=True, ch=True), 1, "ZADD XX CH")
    eq(r.zpopmin("z"), [("a", 1.25)], "ZPOPMIN")
    eq(r.zmscore("z", ["b", "nope"]), [10.0, None], "ZMSCORE")
    eq(r.zcard("z"), 2, "ZCARD")


r.flushall()
for fn in CHECKS:
    try:
        fn()
        print("ok", fn.__name__, flush=True)
    except Exception as e:  # noqa: BLE001 - every failure is a result line
        detail = "%s: %s" % (type(e).__name__, e)
        tb = traceback.extract_tb(e.__traceback__)
        line = tb[-1].lineno if tb else 0
        for fr in tb:
            if fr.filename == __file__:
                line = fr.lineno
        print("FAIL %s: line %d: %s" % (fn.__name__, line, detail.replace("\n", " ")), flush=True)
