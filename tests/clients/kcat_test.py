"""kcat 1.7.1 (librdkafka 2.0.2) against varve-broker: produce, consume, list, offsets, partitions.

Run: /usr/bin/python3 kcat_test.py <varve-broker binary> [KcatTest.test_name ...]
"""

import json
import random
import shutil
import subprocess
import time
import zlib

import broker_fixture
from broker_fixture import assert_same, unique_name

KCAT = shutil.which("kcat") or "/usr/bin/kcat"
# Every kcat run is bounded; -m bounds its metadata waits.
RUN_TIMEOUT_S = 300
FORMAT = r"%k\t%s\t%h\t%o\t%T\t%p\n"


def run_kcat(args, stdin=None, timeout=RUN_TIMEOUT_S, check=True):
    proc = subprocess.run([KCAT] + args, input=stdin, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"kcat {' '.join(args)} exited with {proc.returncode}:\n"
                             f"{proc.stderr.decode(errors='replace')[-4000:]}")
    return proc


def message_lines(count, seed, prefix="m"):
    """count (key, value) pairs of varied lengths, with some multi-byte UTF-8 and empty values;
    never a tab, newline or ':' (kcat's delimiters here)."""
    rng = random.Random(seed)
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.é€😀 "
    out = []
    for i in range(count):
        key = f"{prefix}-key-{i:07d}"
        n = rng.choice((0, 1, 5, 20, 100, 300)) if i % 97 else 0
        value = f"{prefix}-value-{i:07d}-" + "".join(rng.choice(alphabet) for _ in range(n))
        if i % 1013 == 5:
            value = ""
        out.append((key, value))
    return out


def produce_input(pairs):
    return "".join(f"{k}:{v}\n" for k, v in pairs).encode()


class KcatTest(broker_fixture.BrokerTestCase):
    BROKER_OVERRIDES = {"num.partitions": "1"}

    def kcat(self, *args, **kwargs):
        return run_kcat(["-b", self.broker.bootstrap, "-m", "30"] + list(args), **kwargs)

    def produce(self, topic, pairs, *extra):
        proc = self.kcat("-P", "-t", topic, "-K:", *extra, stdin=produce_input(pairs))
        err = proc.stderr.decode(errors="replace")
        self.assertNotIn("Delivery failed", err)
        self.assertNotIn("ERROR", err)
        return proc

    def consume(self, topic, *extra):
        """Every message from the given start to the end (-e), as tuples
        (key, value, headers, offset, timestamp, partition)."""
        proc = self.kcat("-C", "-t", topic, "-e", "-q", "-f", FORMAT, *extra)
        text = proc.stdout.decode("utf-8")
        rows = []
        for line in text.split("\n")[:-1]:
            k, v, h, o, t, p = line.split("\t")
            rows.append((k, v, h, int(o), int(t), int(p)))
        return rows

    # -- produce and consume ---------------------------------------------------------------

    def test_produce_100k_with_keys_and_headers_then_consume_identical(self):
        topic = unique_name("kcat-100k")
        pairs = message_lines(100_000, seed=1)
        before_ms = int(time.time() * 1000)
        self.produce(topic, pairs, "-H", "source=kcat", "-H", "run=one-two", "-p", "0")
        after_ms = int(time.time() * 1000)
        rows = self.consume(topic, "-p", "0", "-o", "beginning")
        self.assertEqual(len(rows), len(pairs))
        for i, ((key, value), row) in enumerate(zip(pairs, rows)):
            if row[:4] != (key, value, "source=kcat,run=one-two", i):
                self.fail(f"message {i}: got {row}, want {(key, value, i)}")
            self.assertTrue(before_ms - 60_000 <= row[4] <= after_ms + 60_000, row)
        # A second read is identical (nothing changed by reading).
        self.assertEqual(self.consume(topic, "-p", "0"), rows)

    def test_consume_json_envelope(self):
        topic = unique_name("kcat-json")
        pairs = message_lines(50, seed=2)
        self.produce(topic, pairs, "-H", "h=v")
        proc = self.kcat("-C", "-t", topic, "-e", "-q", "-J")
        rows = [json.loads(line) for line in proc.stdout.decode().splitlines() if line.strip()]
        assert_same([(r["key"], r["payload"], r["offset"]) for r in rows],
                    [(k, v, i) for i, (k, v) in enumerate(pairs)])
        for r in rows:
            self.assertEqual(r["partition"], 0)
            self.assertEqual(r["tstype"], "create")
            self.assertEqual(r["headers"], ["h", "v"])

    def test_null_values_with_Z(self):
        topic = unique_name("kcat-null")
        self.kcat("-P", "-t", topic, "-K:", "-Z", stdin=b"a:\nb:x\n:y\n")
        proc = self.kcat("-C", "-t", topic, "-e", "-q", "-Z", "-f", r"%k|%s|%K|%S\n")
        self.assertEqual(proc.stdout.decode().splitlines(),
                         ["a|NULL|1|-1", "b|x|1|1", "NULL|y|-1|1"])

    def test_acks_0_and_acks_1(self):
        for acks in ("0", "1"):
            with self.subTest(acks=acks):
                topic = unique_name(f"kcat-acks{acks}")
                pairs = message_lines(10000, seed=30, prefix=f"a{acks}")
                self.produce(topic, pairs, "-X", f"acks={acks}")
                # acks=0: kcat is done once the bytes are sent, so read by count, not to EOF.
                proc = self.kcat("-C", "-t", topic, "-q", "-c", str(len(pairs)), "-f", FORMAT)
                rows = [line.split("\t") for line in proc.stdout.decode().split("\n")[:-1]]
                assert_same([(r[0], r[1], int(r[3])) for r in rows],
                            [(k, v, i) for i, (k, v) in enumerate(pairs)])

    def test_compressed_round_trip(self):
        for codec in ("gzip", "snappy", "lz4", "zstd"):
            with self.subTest(codec=codec):
                topic = unique_name(f"kcat-{codec}")
                pairs = message_lines(5000, seed=3, prefix=codec)
                self.produce(topic, pairs, "-X", f"compression.codec={codec}", "-X",
                             "linger.ms=50")
                rows = self.consume(topic)
                assert_same([(r[0], r[1], r[3]) for r in rows],
                            [(k, v, i) for i, (k, v) in enumerate(pairs)])

    # -- metadata --------------------------------------------------------------------------

    def test_list_metadata(self):
        topic = unique_name("kcat-list")
        self.produce(topic, message_lines(3, seed=4))
        out = self.kcat("-L").stdout.decode()
        self.assertIn("1 brokers:", out)
        self.assertIn(f"broker 0 at 127.0.0.1:{self.broker.port}", out)
        self.assertIn(f'topic "{topic}" with 1 partitions:', out)
        self.assertIn("partition 0, leader 0, replicas: 0, isrs: 0", out)
        # -t restricts the listing to that topic.
        out = self.kcat("-L", "-t", topic).stdout.decode()
        self.assertIn(f'topic "{topic}" with 1 partitions:', out)
        self.assertIn(" 1 topics:", out)
        self.assertEqual(out.count('topic "'), 1, out)

    def test_list_metadata_json(self):
        topic = unique_name("kcat-listjson")
        self.produce(topic, message_lines(3, seed=5))
        meta = json.loads(self.kcat("-L", "-J").stdout.decode())
        self.assertEqual(meta["controllerid"], 0)
        self.assertEqual(meta["brokers"], [{"id": 0, "name": f"127.0.0.1:{self.broker.port}"}])
        topics = {t["topic"]: t for t in meta["topics"]}
        self.assertIn(topic, topics)
        t = topics[topic]
        self.assertNotIn("error", t)
        self.assertEqual(len(t["partitions"]), 1)
        p = t["partitions"][0]
        self.assertEqual((p["partition"], p["leader"]), (0, 0))
        self.assertEqual(p["replicas"], [{"id": 0}])
        self.assertEqual(p["isrs"], [{"id": 0}])

    # -- offsets ---------------------------------------------------------------------------

    def test_offset_absolute_and_relative(self):
        topic = unique_name("kcat-offset")
        pairs = message_lines(1000, seed=6)
        self.produce(topic, pairs)
        for start in (0, 1, 500, 999):
            rows = self.consume(topic, "-o", str(start))
            assert_same([(r[0], r[3]) for r in rows],
                        [(pairs[i][0], i) for i in range(start, 1000)], f"-o {start}")
        rows = self.consume(topic, "-o", "-10")  # the last 10
        self.assertEqual([r[3] for r in rows], list(range(990, 1000)))
        rows = self.consume(topic, "-o", "end")
        self.assertEqual(rows, [])
        rows = self.consume(topic, "-o", "500", "-c", "7")
        self.assertEqual([r[3] for r in rows], list(range(500, 507)))

    def test_offset_by_timestamp(self):
        topic = unique_name("kcat-ts")
        first = message_lines(2000, seed=7, prefix="a")
        second = message_lines(2000, seed=8, prefix="b")
        self.produce(topic, first)
        rows = self.consume(topic)
        boundary = max(r[4] for r in rows) + 1
        # Every message of the second batch gets a later CreateTime than `boundary`.
        broker_fixture.wait_until(lambda: time.time() * 1000 > boundary + 2, 10,
                                  "the clock to pass the first batch")
        self.produce(topic, second)
        rows = self.consume(topic)
        self.assertEqual(len(rows), 4000)
        stamps = [r[4] for r in rows]
        self.assertTrue(all(t >= boundary for t in stamps[2000:]))

        def expected_start(ts):
            return next((i for i, t in enumerate(stamps) if t >= ts), len(stamps))

        targets = [boundary, stamps[0], stamps[0] - 1, stamps[1000], stamps[2000], stamps[3999],
                   0]
        for ts in targets:
            want = expected_start(ts)
            got = self.consume(topic, "-o", f"s@{ts}")
            assert_same([r[3] for r in got], list(range(want, 4000)), f"s@{ts}")
            # -Q asks ListOffsets directly.
            out = self.kcat("-Q", "-t", f"{topic}:0:{ts}").stdout.decode()
            self.assertIn(f"{topic} [0] offset {want}", out, f"-Q at {ts}")
        # s@ ... e@: only the first batch.
        got = self.consume(topic, "-o", f"s@{stamps[0]}", "-o", f"e@{boundary}")
        assert_same([r[0] for r in got], [k for k, _ in first])
        # After the last timestamp: nothing to read.
        later = stamps[-1] + 3_600_000
        self.assertEqual(self.consume(topic, "-o", f"s@{later}"), [])

    def test_offset_by_timestamp_inside_compressed_batches(self):
        # With compression the broker must decompress to find the first message at or after
        # the timestamp; the batch's base offset would start the consumer too early. zstd only:
        # librdkafka 2.0.2 sends gzip, snappy and lz4 uncompressed to a broker whose Produce
        # versions start above 0 (it checks Produce v0 for them; see docs/broker.md).
        topic = unique_name("kcat-ts-zstd")
        # kcat -P cannot set timestamps, so lines are fed a few at a time over ~2 s (kcat may
        # start reading late): their CreateTimes differ while linger.ms keeps them in one batch
        # (librdkafka also sends it uncompressed unless compression pays, hence the padding).
        proc = subprocess.Popen(
            [KCAT, "-b", self.broker.bootstrap, "-m", "30", "-P", "-t", topic, "-K:",
             "-X", "compression.codec=zstd", "-X", "linger.ms=4000"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            for i in range(40):
                proc.stdin.write(f"k{i}:v{i}-{'x' * 200}\n".encode())
                proc.stdin.flush()
                if i % 2 == 1:
                    time.sleep(0.1)
            _, err = proc.communicate(timeout=RUN_TIMEOUT_S)  # closes stdin: kcat flushes
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        self.assertEqual(proc.returncode, 0, err.decode(errors="replace"))
        rows = self.consume(topic)
        self.assertEqual([r[3] for r in rows], list(range(40)))
        stamps = [r[4] for r in rows]
        # Targets inside the compressed batches: timestamps above their batch's first one.
        targets = []
        for base, count, compression in broker_fixture.segment_batches(self.broker, topic):
            self.assertEqual(compression, broker_fixture.COMPRESSION_IDS["zstd"])
            inside = sorted({t for t in stamps[base:base + count] if t > stamps[base]})
            targets += inside[:2] + inside[-1:]
        self.assertTrue(targets, f"no batch with distinct timestamps: {stamps}")
        for ts in targets:
            want = next(i for i, t in enumerate(stamps) if t >= ts)
            got = self.consume(topic, "-o", f"s@{ts}")
            self.assertEqual([r[3] for r in got], list(range(want, 40)), f"s@{ts}")
            out = self.kcat("-Q", "-t", f"{topic}:0:{ts}").stdout.decode()
            self.assertIn(f"{topic} [0] offset {want}", out, f"-Q at {ts}")

    # -- errors ----------------------------------------------------------------------------

    def test_consume_missing_topic_fails_cleanly(self):
        topic = unique_name("kcat-missing")
        proc = self.kcat("-C", "-t", topic, "-e", "-q", check=False, timeout=120)
        self.assertNotEqual(proc.returncode, 0)
        err = proc.stderr.decode(errors="replace")
        self.assertRegex(err, r"(?i)unknown topic|no such topic")
        # A consumer's metadata request does not create the topic.
        self.assertNotIn(f'"{topic}"', self.kcat("-L").stdout.decode())
        self.assert_broker_alive()

    # -- partitions ------------------------------------------------------------------------

    def test_partition_selection(self):
        broker = self.new_broker("kcat-3p", {"num.partitions": "3"})
        broker.start()
        bootstrap = ["-b", broker.bootstrap, "-m", "30"]
        topic = unique_name("kcat-3p")
        per_partition = {p: message_lines(300, seed=10 + p, prefix=f"p{p}") for p in range(3)}
        for p, pairs in per_partition.items():
            run_kcat(bootstrap + ["-P", "-t", topic, "-K:", "-p", str(p)],
                     stdin=produce_input(pairs))
        out = run_kcat(bootstrap + ["-L", "-t", topic]).stdout.decode()
        self.assertIn(f'topic "{topic}" with 3 partitions:', out)
        for p, pairs in per_partition.items():
            proc = run_kcat(bootstrap + ["-C", "-t", topic, "-p", str(p), "-e", "-q", "-f", FORMAT])
            rows = [line.split("\t") for line in proc.stdout.decode().split("\n")[:-1]]
            assert_same([(r[0], r[1], int(r[3]), int(r[5])) for r in rows],
                        [(k, v, i, p) for i, (k, v) in enumerate(pairs)], f"partition {p}")
        # No -p: every partition until each one's end.
        proc = run_kcat(bootstrap + ["-C", "-t", topic, "-e", "-q", "-f", FORMAT])
        self.assertEqual(len(proc.stdout.decode().split("\n")[:-1]), 900)
        # A partition that does not exist.
        proc = run_kcat(bootstrap + ["-C", "-t", topic, "-p", "3", "-e", "-q"], check=False,
                        timeout=120)
        self.assertNotEqual(proc.returncode, 0)

        # Keyed messages without -p: librdkafka's consistent_random partitioner puts each key on
        # CRC-32(key) % 3, which needs the partition count from Metadata.
        topic2 = unique_name("kcat-keyed")
        pairs = message_lines(600, seed=20, prefix="k")
        run_kcat(bootstrap + ["-P", "-t", topic2, "-K:"], stdin=produce_input(pairs))
        proc = run_kcat(bootstrap + ["-C", "-t", topic2, "-e", "-q", "-f", FORMAT])
        rows = [line.split("\t") for line in proc.stdout.decode().split("\n")[:-1]]
        self.assertEqual(sorted((r[0], r[1]) for r in rows), sorted(pairs))
        for r in rows:
            self.assertEqual(int(r[5]), zlib.crc32(r[0].encode()) % 3, r)
        broker.stop()


if __name__ == "__main__":
    broker_fixture.main()
