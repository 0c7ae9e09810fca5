"""Restarts of varve-broker under real clients (confluent-kafka-python / librdkafka 2.0.2).

- SIGTERM then start: a clean shutdown, nothing to recover, every message there.
- kill -9 while an acks=-1 producer is mid-stream, then start: the startup reports recovered
  partitions, and every acknowledged message is there, at its acknowledged offset, byte-identical,
  with the log a prefix of what was sent (no holes, no garbage).
- An idempotent producer that outlives a broker restart (clean, and kill -9 mid-stream) keeps
  working: no fatal error, no OutOfOrderSequence, every message exactly once and in order.

Run: /usr/bin/python3 restart_test.py <varve-broker binary> [RestartTest.test_name ...]
"""

import os
import sys
import threading
import time
import unittest

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic

import broker_fixture
import kafka_wire as w
from broker_fixture import assert_same, unique_name

TIMEOUT_S = 180


def value_of(i, size=200):
    head = f"msg-{i:08d}-".encode()
    return head + bytes((i + j) % 251 for j in range(size - len(head)))


def consume_all(bootstrap, topic, partition=0):
    """Everything in the partition, from the beginning to its end at the time of asking."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "unused",
                  "enable.auto.commit": False, "enable.partition.eof": True})
    try:
        low, high = c.get_watermark_offsets(TopicPartition(topic, partition), timeout=60)
        c.assign([TopicPartition(topic, partition, OFFSET_BEGINNING)])
        out = []
        deadline = time.monotonic() + TIMEOUT_S
        while len(out) < high - low:
            if time.monotonic() > deadline:
                raise AssertionError(f"read {len(out)} of {high - low} within {TIMEOUT_S} s")
            for m in c.consume(num_messages=10000, timeout=1.0):
                if m.error():
                    if m.error().code() == KafkaError._PARTITION_EOF:
                        continue
                    raise AssertionError(f"consumer error: {m.error()}")
                out.append(m)
        return low, high, out
    finally:
        c.close()


class Acks:
    """Delivery reports: acknowledged (offset, value) and failures."""

    def __init__(self):
        self.acked = []
        self.failed = []

    def __call__(self, err, msg):
        if err is None:
            self.acked.append((msg.offset(), msg.value()))
        else:
            self.failed.append((err, msg.value()))


class RestartTest(broker_fixture.BrokerTestCase):
    BROKER_OVERRIDES = {"num.partitions": "1"}

    def producer(self, **conf):
        base = {"bootstrap.servers": self.broker.bootstrap, "acks": "all"}
        base.update(conf)
        return Producer(base)

    def produce(self, p, topic, values, acks):
        for v in values:
            while True:
                try:
                    p.produce(topic, value=v, on_delivery=acks)
                    break
                except BufferError:
                    p.poll(0.1)
            p.poll(0)

    def restart_after_kill(self):
        info = self.broker.restart()
        self.assertGreaterEqual(info.partitions_recovered, 1,
                                f"after kill -9 the startup should report recovered partitions:"
                                f"\n{self.broker.stderr_text()}")
        return info

    # -- clean shutdown --------------------------------------------------------------------

    def test_sigterm_restart_keeps_everything(self):
        topic = unique_name("rs-clean")
        values = [value_of(i) for i in range(10000)]
        acks = Acks()
        p = self.producer()
        self.produce(p, topic, values, acks)
        self.assertEqual(p.flush(TIMEOUT_S), 0)
        self.assertEqual(acks.failed, [])
        self.assertEqual(sorted(o for o, _ in acks.acked), list(range(10000)))

        self.broker.stop()  # asserts exit 0 and "stopped cleanly"
        info = self.broker.start()
        self.assertEqual(info.partitions_recovered, 0, self.broker.stderr_text())
        self.assertGreaterEqual(info.partitions_opened, 1)
        low, high, got = consume_all(self.broker.bootstrap, topic)
        self.assertEqual((low, high), (0, 10000))
        assert_same([m.value() for m in got], values)
        # And it goes on appending after the restart.
        p = self.producer(**{"bootstrap.servers": self.broker.bootstrap})
        acks = Acks()
        self.produce(p, topic, [b"after"], acks)
        self.assertEqual(p.flush(TIMEOUT_S), 0)
        self.assertEqual([o for o, _ in acks.acked], [10000])

    def test_topics_configs_and_deletions_survive_restarts(self):
        keep = unique_name("rs-keep")
        gone = unique_name("rs-gone")
        admin = AdminClient({"bootstrap.servers": self.broker.bootstrap})
        fs = admin.create_topics([
            NewTopic(keep, num_partitions=3, replication_factor=1,
                     config={"retention.ms": "86400000", "max.message.bytes": "50000"}),
            NewTopic(gone, num_partitions=2, replication_factor=1)], request_timeout=30)
        for f in fs.values():
            f.result(timeout=TIMEOUT_S)
        p = self.producer()
        for part in range(3):
            p.produce(keep, value=b"k%d" % part, partition=part)
        p.produce(gone, value=b"g", partition=1)
        self.assertEqual(p.flush(TIMEOUT_S), 0)
        admin.delete_topics([gone], request_timeout=30)[gone].result(timeout=TIMEOUT_S)
        del admin

        for how in ("SIGTERM", "kill -9"):
            if how == "SIGTERM":
                info = self.broker.restart()
            else:
                self.broker.kill9()
                info = self.restart_after_kill()
            admin = AdminClient({"bootstrap.servers": self.broker.bootstrap})
            md = admin.list_topics(timeout=30)
            self.assertIn(keep, md.topics, how)
            self.assertNotIn(gone, md.topics, how)
            self.assertEqual(len(md.topics[keep].partitions), 3, how)
            # The startup line counts every partition of every topic.
            self.assertEqual(info.partitions_opened,
                             sum(len(t.partitions) for t in md.topics.values()), how)
            res = ConfigResource("topic", keep)
            configs = admin.describe_configs([res], request_timeout=30)[res].result(
                timeout=TIMEOUT_S)
            self.assertEqual(configs["retention.ms"].value, "86400000", how)
            self.assertEqual(configs["max.message.bytes"].value, "50000", how)
            for part in range(3):
                _, high, got = consume_all(self.broker.bootstrap, keep, part)
                self.assertEqual([m.value() for m in got], [b"k%d" % part], how)
            del admin
        self.assertFalse(os.path.exists(os.path.join(self.broker.data_dir, f"{gone}-0")))

    def test_sigterm_with_parked_fetches_and_open_connections(self):
        # Long polls parked far beyond the stop timeout, idle connections, a half-sent frame:
        # SIGTERM still stops cleanly (the fixture allows 60 s) and the next start recovers
        # nothing.
        topic = unique_name("rs-parked")
        conns = [w.Conn(self.broker.port) for _ in range(6)]
        try:
            conns[0].roundtrip(w.metadata_request(1, [topic]))
            for i, c in enumerate(conns[:3]):
                c.send(w.fetch_request(2, topic, 0, 0, max_wait_ms=600_000))
            conns[3].send(w.api_versions_request(1)[:7])
            conns[4].roundtrip(w.produce_request(3, topic, 0,
                                                 w.record_batch([(None, b"x", [])]), acks=-1))
            self.broker.stop()
            for c in conns[:3]:  # answered or closed, but not left hanging
                try:
                    c.recv_frame()
                except ConnectionError:
                    pass
        finally:
            for c in conns:
                c.close()
        info = self.broker.start()
        self.assertEqual(info.partitions_recovered, 0)
        _, high, got = consume_all(self.broker.bootstrap, topic)
        self.assertEqual([m.value() for m in got], [b"x"])

    # -- kill -9 ---------------------------------------------------------------------------

    def check_kill9_mid_stream(self, durability):
        self.broker.stop()
        self.broker.start(extra_overrides={"varve.durability": durability})
        topic = unique_name(f"rs-kill-{durability}")
        acks = Acks()
        # No retries: the log must then be exactly a prefix of what was sent.
        p = self.producer(**{"retries": 0, "linger.ms": 2, "batch.num.messages": 200,
                             "message.timeout.ms": 60000})
        sent = []
        stop = threading.Event()
        thread_errors = []

        def keep_producing():  # until told to stop, so requests are in flight at the kill
            try:
                i = 0
                while not stop.is_set():
                    v = value_of(i)
                    try:
                        p.produce(topic, value=v, on_delivery=acks)
                        sent.append(v)
                        i += 1
                    except BufferError:
                        p.poll(0.05)
                    p.poll(0)
            except BaseException as e:  # reported by the main thread
                thread_errors.append(e)

        producer_thread = threading.Thread(target=keep_producing, daemon=True)
        producer_thread.start()
        try:
            broker_fixture.wait_until(lambda: len(acks.acked) >= 20000 or thread_errors,
                                      TIMEOUT_S, "20,000 acknowledged messages")
            self.assertEqual(thread_errors, [])
            self.broker.kill9()  # mid-stream: the producer thread is still sending
            n = len(sent)
            broker_fixture.wait_until(lambda: len(sent) > n + 1000 or thread_errors, 60,
                                      "the producer to go on after the kill")
        finally:
            stop.set()
            producer_thread.join(60)
        self.assertEqual(thread_errors, [])
        # Collect the acknowledgements that had arrived; fail the rest quickly.
        p.poll(1.0)
        p.purge()
        p.flush(30)
        acked = dict(acks.acked)
        self.assertGreaterEqual(len(acked), 20000)

        self.restart_after_kill()
        low, high, got = consume_all(self.broker.bootstrap, topic)
        values = [m.value() for m in got]
        print(f"\n  kill -9 ({durability}): sent {len(sent)}, acknowledged {len(acked)} "
              f"(highest offset {max(acked)}), in the log after restart {high}",
              file=sys.stderr)
        self.assertEqual(low, 0)
        assert_same([m.offset() for m in got], list(range(high)))
        self.assertGreaterEqual(high, max(acked) + 1, "acknowledged messages lost")
        for offset, value in acked.items():
            if values[offset] != value:
                self.fail(f"acknowledged offset {offset}: got {values[offset][:20]!r}, "
                          f"want {value[:20]!r}")
        assert_same(values, sent[:len(values)], "the log as a prefix of what was sent")
        # The restarted broker appends after the recovered end.
        p2 = self.producer(**{"bootstrap.servers": self.broker.bootstrap})
        acks2 = Acks()
        self.produce(p2, topic, [b"after-restart"], acks2)
        self.assertEqual(p2.flush(TIMEOUT_S), 0)
        self.assertEqual([o for o, _ in acks2.acked], [high])

    def test_kill9_mid_stream_loses_no_acked_message_page_cache(self):
        self.check_kill9_mid_stream("page_cache")

    def test_kill9_mid_stream_loses_no_acked_message_group_commit(self):
        self.check_kill9_mid_stream("group_commit")

    def test_kill9_idle_then_clean_restart_reports_no_recovery(self):
        topic = unique_name("rs-idle")
        p = self.producer()
        acks = Acks()
        self.produce(p, topic, [value_of(i) for i in range(100)], acks)
        self.assertEqual(p.flush(TIMEOUT_S), 0)
        self.broker.kill9()
        self.restart_after_kill()
        # After recovery a clean stop leaves nothing to recover.
        self.broker.stop()
        info = self.broker.start()
        self.assertEqual(info.partitions_recovered, 0, self.broker.stderr_text())
        _, high, got = consume_all(self.broker.bootstrap, topic)
        assert_same([m.value() for m in got], [value_of(i) for i in range(100)])

    # -- idempotent producer across restarts ----------------------------------------------

    def check_idempotent_across_restart(self, kill):
        topic = unique_name("rs-idem-kill" if kill else "rs-idem-term")
        errors = []
        acks = Acks()
        p = self.producer(**{"enable.idempotence": True, "linger.ms": 2,
                             "message.timeout.ms": 300000, "error_cb": errors.append,
                             "reconnect.backoff.max.ms": 1000})
        values = [value_of(i, 100) for i in range(30000)]
        self.produce(p, topic, values[:10000], acks)
        self.assertEqual(p.flush(TIMEOUT_S), 0)
        # More while the broker goes away and comes back: some are in flight at the kill.
        self.produce(p, topic, values[10000:20000], acks)
        if kill:
            self.broker.kill9()
        else:
            self.broker.stop()
        acked_at_stop = len(acks.acked)
        p.poll(0.5)
        self.produce(p, topic, values[20000:], acks)
        if kill:
            self.restart_after_kill()
        else:
            info = self.broker.restart()
            self.assertEqual(info.partitions_recovered, 0)
        remaining = p.flush(TIMEOUT_S)
        print(f"\n  idempotent producer, {'kill -9' if kill else 'SIGTERM'}: "
              f"{acked_at_stop} of 20000 acknowledged when the broker went down",
              file=sys.stderr)
        fatal = [e for e in errors if e.fatal()]
        self.assertEqual(fatal, [], "fatal idempotent-producer errors")
        self.assertEqual(remaining, 0, f"undelivered; errors: {errors[:5]}")
        self.assertEqual(acks.failed, [])
        self.assertEqual(len(acks.acked), len(values))
        _, high, got = consume_all(self.broker.bootstrap, topic)
        got_values = [m.value() for m in got]
        self.assertEqual(len(got_values), len(set(got_values)), "duplicates in the log")
        assert_same(got_values, values)
        assert_same(sorted(acks.acked), list(enumerate(values)), "acknowledged offsets")
        # Errors the client reported along the way are only transport ones.
        for e in errors:
            self.assertIn(e.code(), (KafkaError._TRANSPORT, KafkaError._ALL_BROKERS_DOWN,
                                     KafkaError._RESOLVE, KafkaError._MSG_TIMED_OUT), str(e))

    def test_idempotent_producer_across_clean_restart(self):
        self.check_idempotent_across_restart(kill=False)

    def test_idempotent_producer_across_kill9(self):
        self.check_idempotent_across_restart(kill=True)


class OpenFileLimitTest(unittest.TestCase):
    """varve-broker raises a low soft RLIMIT_NOFILE to the hard limit at start, so a few hundred
    partitions work under a distribution's default soft limit; it warns when the hard limit
    itself is small."""

    def start_broker(self, nofile):
        b = broker_fixture.Broker(name="nofile", overrides={"num.partitions": "1"}, nofile=nofile)
        self.addCleanup(b.stop)
        b.start()
        return b

    def test_low_soft_limit_is_raised_and_many_partitions_work(self):
        b = self.start_broker((256, 4096))
        self.assertIn("open-file limit raised from 256 to 4096", b.stderr_text())
        topic = unique_name("nofile")
        admin = AdminClient({"bootstrap.servers": b.bootstrap})
        # 200 partitions hold ~600 descriptors: more than the soft limit the broker started with.
        admin.create_topics([NewTopic(topic, num_partitions=200, replication_factor=1)])[
            topic].result(TIMEOUT_S)
        acks = Acks()
        p = Producer({"bootstrap.servers": b.bootstrap, "acks": "all"})
        for partition in range(200):
            p.produce(topic, value=value_of(partition), partition=partition, on_delivery=acks)
            p.poll(0)
        self.assertEqual(p.flush(TIMEOUT_S), 0)
        self.assertEqual(acks.failed, [])
        self.assertEqual(len(acks.acked), 200)
        b.stop()  # a clean stop: every partition closed
        info = b.start()
        self.assertEqual(info.partitions_recovered, 0, b.stderr_text())
        self.assertGreaterEqual(info.partitions_opened, 200)

    def test_small_hard_limit_is_reported(self):
        b = self.start_broker((512, 512))
        self.assertNotIn("open-file limit raised", b.stderr_text())
        self.assertIn("warning: the open-file limit is 512 (hard limit 512)", b.stderr_text())


if __name__ == "__main__":
    broker_fixture.main()
