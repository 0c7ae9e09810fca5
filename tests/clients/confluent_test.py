"""confluent-kafka-python (librdkafka 2.0.2) against varve-broker: idempotent producer,
assign()-based consumer, AdminClient (create/delete/describe), compression.

Run: /usr/bin/python3 confluent_test.py <varve-broker binary> [ConfluentTest.test_name ...]
"""

import os
import time

from confluent_kafka import (OFFSET_BEGINNING, OFFSET_END, Consumer, KafkaError,
                             KafkaException, Producer, TopicPartition)
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic

import broker_fixture
from broker_fixture import assert_same, unique_name

TIMEOUT_S = 120  # any single client wait


def messages(count, prefix):
    """(key, value, headers) with varied sizes and binary bytes."""
    out = []
    for i in range(count):
        key = f"{prefix}-{i:06d}".encode() if i % 50 else None
        value = (f"{prefix}-value-{i}-".encode() + bytes(range(256)) * (i % 7))
        if i % 101 == 17:
            value = None  # a tombstone
        elif i % 101 == 18:
            value = b""
        headers = [("i", str(i).encode()), ("kind", b"test")] if i % 3 else []
        # (No None-valued header: confluent-kafka-python 1.7.0 mis-counts references to None
        # when it reads one, and the interpreter aborts at exit. kafka_python_test covers them.)
        out.append((key, value, headers))
    return out


class Delivery:
    """Collects delivery reports in order."""

    def __init__(self):
        self.reports = []  # (err, partition, offset, key, value)

    def __call__(self, err, msg):
        self.reports.append((err, msg.partition(), msg.offset(), msg.key(), msg.value()))


def produce_all(producer, topic, msgs, partition=None, timeout_s=TIMEOUT_S):
    delivery = Delivery()
    for key, value, headers in msgs:
        kwargs = {"key": key, "value": value, "headers": headers, "on_delivery": delivery}
        if partition is not None:
            kwargs["partition"] = partition
        while True:
            try:
                producer.produce(topic, **kwargs)
                break
            except BufferError:  # local queue full: let deliveries drain
                producer.poll(0.1)
        producer.poll(0)
    remaining = producer.flush(timeout_s)
    assert remaining == 0, f"{remaining} messages not delivered within {timeout_s} s"
    return delivery.reports


def consume_all(bootstrap, topic, partition, count, start=OFFSET_BEGINNING, extra=None):
    """count messages from one assigned partition (no subscribe, no commits)."""
    conf = {
        "bootstrap.servers": bootstrap,
        "group.id": "varve-client-tests-unused",  # required by the library; never joined
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "enable.partition.eof": False,
    }
    conf.update(extra or {})
    consumer = Consumer(conf)
    try:
        consumer.assign([TopicPartition(topic, partition, start)])
        out = []
        deadline = time.monotonic() + TIMEOUT_S
        while len(out) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"consumed {len(out)} of {count} within {TIMEOUT_S} s")
            batch = consumer.consume(num_messages=10000, timeout=1.0)
            for m in batch:
                if m.error():
                    raise AssertionError(f"consumer error: {m.error()}")
                out.append(m)
        # Nothing beyond: one more short poll must not return further messages.
        extra_msgs = consumer.consume(num_messages=10, timeout=1.0)
        assert not [m for m in extra_msgs if not m.error()], "more messages than produced"
        return out
    finally:
        consumer.close()


class ConfluentTest(broker_fixture.BrokerTestCase):
    BROKER_OVERRIDES = {"num.partitions": "1"}

    def admin(self):
        # Kept for the whole test: a destroyed handle fails its pending futures with _DESTROY.
        if getattr(self, "_admin", None) is None:
            self._admin = AdminClient({"bootstrap.servers": self.broker.bootstrap})
        return self._admin

    def tearDown(self):
        self._admin = None
        super().tearDown()

    def producer(self, **conf):
        base = {"bootstrap.servers": self.broker.bootstrap}
        base.update(conf)
        return Producer(base)

    def create_topic(self, name, partitions=1, config=None):
        fs = self.admin().create_topics(
            [NewTopic(name, num_partitions=partitions, replication_factor=1, config=config or {})],
            request_timeout=30)
        fs[name].result(timeout=TIMEOUT_S)

    def assert_create_fails(self, new_topic, code):
        fs = self.admin().create_topics([new_topic], request_timeout=30)
        with self.assertRaises(KafkaException) as cm:
            fs[new_topic.topic].result(timeout=TIMEOUT_S)
        self.assertEqual(cm.exception.args[0].code(), code, str(cm.exception))

    # -- produce and consume ---------------------------------------------------------------

    def test_idempotent_acks_all_producer_then_assign_consumer(self):
        topic = unique_name("ck-idem")
        msgs = messages(20000, "idem")
        errors = []
        p = self.producer(**{"acks": "all", "enable.idempotence": True, "linger.ms": 5,
                             "error_cb": errors.append})
        reports = produce_all(p, topic, msgs)
        self.assertEqual(errors, [])
        self.assertEqual(len(reports), len(msgs))
        self.assertEqual([r[0] for r in reports if r[0] is not None], [])
        # Per partition (one here) the offsets increase by one in produce order.
        assert_same([r[2] for r in reports], list(range(len(msgs))), "offsets")
        assert_same([(r[3], r[4]) for r in reports], [(k, v) for k, v, _ in msgs])

        got = consume_all(self.broker.bootstrap, topic, 0, len(msgs))
        for i, (m, (key, value, headers)) in enumerate(zip(got, msgs)):
            self.assertEqual((m.offset(), m.key(), m.value()), (i, key, value), f"message {i}")
            self.assertEqual(m.headers() or [], headers, f"headers of message {i}")
            ts_type, ts = m.timestamp()
            self.assertEqual(ts_type, 1)  # TIMESTAMP_CREATE_TIME
            self.assertGreater(ts, 0)

    def test_consume_from_an_offset_and_the_end(self):
        topic = unique_name("ck-offsets")
        msgs = messages(500, "off")
        produce_all(self.producer(), topic, msgs)
        got = consume_all(self.broker.bootstrap, topic, 0, 200, start=300)
        assert_same([m.offset() for m in got], list(range(300, 500)))
        assert_same([m.value() for m in got], [v for _, v, _ in msgs[300:]])
        # watermarks: low 0, high 500.
        c = Consumer({"bootstrap.servers": self.broker.bootstrap, "group.id": "unused"})
        try:
            self.assertEqual(c.get_watermark_offsets(TopicPartition(topic, 0), timeout=30),
                             (0, 500))
            # offsets_for_times: the first message at or after a timestamp.
            ts = got[0].timestamp()[1]
            found = c.offsets_for_times([TopicPartition(topic, 0, ts)], timeout=30)
            self.assertLessEqual(found[0].offset, 300)
            self.assertEqual(found[0].error, None)
        finally:
            c.close()

    def test_compressed_produce_round_trip(self):
        for codec in ("gzip", "snappy", "lz4", "zstd"):
            with self.subTest(codec=codec):
                topic = unique_name(f"ck-{codec}")
                msgs = messages(3000, codec)
                p = self.producer(**{"compression.type": codec, "linger.ms": 20,
                                     "enable.idempotence": True})
                reports = produce_all(p, topic, msgs)
                self.assertEqual([r[0] for r in reports if r[0] is not None], [])
                got = consume_all(self.broker.bootstrap, topic, 0, len(msgs))
                assert_same(
                    [(m.offset(), m.key(), m.value(), m.headers() or []) for m in got],
                    [(i, k, v, h) for i, (k, v, h) in enumerate(msgs)])

    def test_multi_partition_topic(self):
        topic = unique_name("ck-parts")
        self.create_topic(topic, partitions=4)
        p = self.producer(**{"enable.idempotence": True})
        sent = {}
        for part in range(4):
            msgs = messages(250, f"p{part}")
            reports = produce_all(p, topic, msgs, partition=part)
            assert_same([(r[1], r[2]) for r in reports], [(part, i) for i in range(250)])
            sent[part] = msgs
        for part in range(4):
            got = consume_all(self.broker.bootstrap, topic, part, 250)
            assert_same([m.value() for m in got], [v for _, v, _ in sent[part]])
        # One consumer assigned all four partitions (each Fetch names all of them).
        c = Consumer({"bootstrap.servers": self.broker.bootstrap, "group.id": "unused",
                      "enable.auto.commit": False})
        try:
            c.assign([TopicPartition(topic, part, OFFSET_BEGINNING) for part in range(4)])
            by_part = {part: [] for part in range(4)}
            deadline = time.monotonic() + TIMEOUT_S
            while sum(map(len, by_part.values())) < 1000 and time.monotonic() < deadline:
                for m in c.consume(1000, 1.0):
                    if not m.error():
                        by_part[m.partition()].append(m.value())
            for part in range(4):
                assert_same(by_part[part], [v for _, v, _ in sent[part]], f"partition {part}")
        finally:
            c.close()

    # -- metadata and admin ----------------------------------------------------------------

    def test_list_topics(self):
        topic = unique_name("ck-list")
        self.create_topic(topic, partitions=3)
        md = self.admin().list_topics(timeout=30)
        self.assertEqual(list(md.brokers), [0])
        self.assertEqual((md.brokers[0].host, md.brokers[0].port), ("127.0.0.1", self.broker.port))
        self.assertEqual(md.controller_id, 0)
        self.assertIn(topic, md.topics)
        t = md.topics[topic]
        self.assertIsNone(t.error)
        self.assertEqual(sorted(t.partitions), [0, 1, 2])
        for pm in t.partitions.values():
            self.assertEqual((pm.leader, pm.replicas, pm.isrs), (0, [0], [0]))
        # Asking for one topic; a missing topic is not created by the admin client's request.
        md = self.admin().list_topics(topic, timeout=30)
        self.assertEqual(list(md.topics), [topic])

    def test_create_describe_delete_topic(self):
        topic = unique_name("ck-admin")
        self.create_topic(topic, partitions=2, config={"retention.ms": "3600000",
                                                       "segment.bytes": "1048576"})
        res = ConfigResource("topic", topic)
        configs = self.admin().describe_configs([res], request_timeout=30)[res].result(
            timeout=TIMEOUT_S)
        self.assertEqual(configs["retention.ms"].value, "3600000")
        self.assertEqual(configs["segment.bytes"].value, "1048576")
        self.assertFalse(configs["retention.ms"].is_default)
        self.assertIn("cleanup.policy", configs)
        # Only the keys asked for... librdkafka sends the full list when none are named; check
        # one default instead.
        self.assertEqual(configs["cleanup.policy"].value, "delete")

        md = self.admin().list_topics(timeout=30)
        self.assertEqual(len(md.topics[topic].partitions), 2)
        fs = self.admin().delete_topics([topic], request_timeout=30)
        fs[topic].result(timeout=TIMEOUT_S)
        md = self.admin().list_topics(timeout=30)
        self.assertNotIn(topic, md.topics)
        # Deleting it again: UNKNOWN_TOPIC_OR_PARTITION.
        fs = self.admin().delete_topics([topic], request_timeout=30)
        with self.assertRaises(KafkaException) as cm:
            fs[topic].result(timeout=TIMEOUT_S)
        self.assertEqual(cm.exception.args[0].code(), KafkaError.UNKNOWN_TOPIC_OR_PART)
        # The name can be used again, fresh.
        self.create_topic(topic, partitions=1)
        reports = produce_all(self.producer(), topic, messages(10, "again"))
        self.assertEqual([r[2] for r in reports], list(range(10)))

    def test_describe_broker_configs(self):
        res = ConfigResource("broker", "0")
        configs = self.admin().describe_configs([res], request_timeout=30)[res].result(
            timeout=TIMEOUT_S)
        self.assertEqual(configs["num.partitions"].value, "1")
        self.assertTrue(configs["num.partitions"].is_read_only)

    def test_describe_configs_of_missing_topic_fails(self):
        res = ConfigResource("topic", unique_name("ck-nosuch"))
        fut = self.admin().describe_configs([res], request_timeout=30)[res]
        with self.assertRaises(KafkaException) as cm:
            fut.result(timeout=TIMEOUT_S)
        self.assertEqual(cm.exception.args[0].code(), KafkaError.UNKNOWN_TOPIC_OR_PART)

    def test_create_topic_errors(self):
        topic = unique_name("ck-exists")
        self.create_topic(topic)
        self.assert_create_fails(NewTopic(topic, num_partitions=1, replication_factor=1),
                                 KafkaError.TOPIC_ALREADY_EXISTS)
        self.assert_create_fails(NewTopic(unique_name("ck-rf3"), num_partitions=1,
                                          replication_factor=3),
                                 KafkaError.INVALID_REPLICATION_FACTOR)
        for bad in ("bad name", "bad/name", "x" * 250, ".", ".."):
            with self.subTest(name=bad):
                self.assert_create_fails(NewTopic(bad, num_partitions=1, replication_factor=1),
                                         KafkaError.TOPIC_EXCEPTION)
        self.assert_create_fails(NewTopic(unique_name("ck-badcfg"), num_partitions=1,
                                          replication_factor=1,
                                          config={"retention.ms": "not-a-number"}),
                                 KafkaError.INVALID_CONFIG)
        # validate_only creates nothing.
        name = unique_name("ck-validate")
        fs = self.admin().create_topics([NewTopic(name, num_partitions=1, replication_factor=1)],
                                        validate_only=True, request_timeout=30)
        fs[name].result(timeout=TIMEOUT_S)
        self.assertNotIn(name, self.admin().list_topics(timeout=30).topics)
        self.assert_broker_alive()

    def test_create_time_preserved(self):
        # Uncompressed, and compressed (records inside a batch are found exactly, as on Kafka).
        # zstd only: librdkafka 2.0.2 sends gzip, snappy and lz4 uncompressed to a broker whose
        # Produce versions start above 0 (docs/broker.md); kafka_python_test covers gzip.
        for codec in ("none", "zstd"):
            with self.subTest(codec=codec):
                self.check_create_time_preserved(codec)

    def check_create_time_preserved(self, codec):
        topic = unique_name(f"ck-ts-{codec}")
        base = 1_600_000_000_000
        p = self.producer(**{"linger.ms": 20, "compression.type": codec})
        stamps = [base + i * 1000 for i in range(100)] + [base - 5, base + 10**9]
        for ts in stamps:
            p.produce(topic, value=b"%d" % ts, timestamp=ts)
        self.assertEqual(p.flush(TIMEOUT_S), 0)
        batches = broker_fixture.segment_batches(self.broker, topic)
        self.assertEqual({b[2] for b in batches}, {broker_fixture.COMPRESSION_IDS[codec]})
        self.assertLess(len(batches), len(stamps), "every record in its own batch")
        got = consume_all(self.broker.bootstrap, topic, 0, len(stamps))
        self.assertEqual([m.timestamp() for m in got], [(1, ts) for ts in stamps])
        # offsets_for_times: the first offset whose timestamp is at or after the target.
        c = Consumer({"bootstrap.servers": self.broker.bootstrap, "group.id": "unused"})
        try:
            for target, want in ((base, 0), (base + 1, 1), (base + 50_500, 51), (base - 100, 0),
                                 (base + 99_001, 101), (base + 10**9 + 1, -1)):
                found = c.offsets_for_times([TopicPartition(topic, 0, target)], timeout=30)[0]
                self.assertEqual(found.offset, want, f"{codec}: target {target - base:+d}")
        finally:
            c.close()

    def test_auto_create_disabled(self):
        broker = self.new_broker("ck-noauto", {"auto.create.topics.enable": "false"})
        broker.start()
        topic = unique_name("ck-noauto")
        delivery = Delivery()
        p = Producer({"bootstrap.servers": broker.bootstrap, "message.timeout.ms": 3000})
        p.produce(topic, value=b"x", on_delivery=delivery)
        p.flush(TIMEOUT_S)
        self.assertEqual(len(delivery.reports), 1)
        self.assertIn(delivery.reports[0][0].code(),
                      (KafkaError.UNKNOWN_TOPIC_OR_PART, KafkaError._UNKNOWN_TOPIC,
                       KafkaError._MSG_TIMED_OUT))
        admin = AdminClient({"bootstrap.servers": broker.bootstrap})
        self.assertNotIn(topic, admin.list_topics(timeout=30).topics)
        # CreateTopics still works.
        admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)],
                            request_timeout=30)[topic].result(timeout=TIMEOUT_S)
        self.assertEqual(len(admin.list_topics(timeout=30).topics[topic].partitions), 2)
        broker.stop()

    def test_produce_to_missing_partition_fails(self):
        topic = unique_name("ck-nopart")
        self.create_topic(topic, partitions=1)
        delivery = Delivery()
        p = self.producer(**{"message.timeout.ms": 5000})
        p.produce(topic, value=b"x", partition=5, on_delivery=delivery)
        p.flush(TIMEOUT_S)
        self.assertEqual(len(delivery.reports), 1)
        self.assertEqual(delivery.reports[0][0].code(), KafkaError._UNKNOWN_PARTITION)


class ConfluentLogTest(broker_fixture.BrokerTestCase):
    """Segments, retention and size limits seen through librdkafka. Retention runs every 200 ms
    here."""

    BROKER_OVERRIDES = {"num.partitions": "1", "log.retention.check.interval.ms": "200"}

    def admin(self):
        if getattr(self, "_admin", None) is None:
            self._admin = AdminClient({"bootstrap.servers": self.broker.bootstrap})
        return self._admin

    def tearDown(self):
        self._admin = None
        super().tearDown()

    def create_topic(self, name, config):
        fs = self.admin().create_topics(
            [NewTopic(name, num_partitions=1, replication_factor=1, config=config)],
            request_timeout=30)
        fs[name].result(timeout=TIMEOUT_S)

    def producer(self, **conf):
        # Batches must fit in a segment (segment.bytes is small here; like Kafka, a larger batch
        # gets RECORD_LIST_TOO_LARGE).
        base = {"bootstrap.servers": self.broker.bootstrap, "linger.ms": 5, "batch.size": 8000}
        base.update(conf)
        return Producer(base)

    def watermarks(self, topic):
        c = Consumer({"bootstrap.servers": self.broker.bootstrap, "group.id": "unused"})
        try:
            return c.get_watermark_offsets(TopicPartition(topic, 0), timeout=30)
        finally:
            c.close()

    def test_many_segments_consumed_across_rolls_and_restarts(self):
        topic = unique_name("ck-segments")
        self.create_topic(topic, {"segment.bytes": "65536"})
        msgs = messages(20000, "seg")  # several MB: about a hundred segments
        reports = produce_all(self.producer(**{"enable.idempotence": True}), topic, msgs)
        assert_same([r[2] for r in reports], list(range(len(msgs))), "offsets")
        seg_files = [f for f in os.listdir(os.path.join(self.broker.data_dir, f"{topic}-0"))
                     if f.endswith(".log")]
        self.assertGreater(len(seg_files), 10)

        def check_all():
            got = consume_all(self.broker.bootstrap, topic, 0, len(msgs))
            assert_same([(m.offset(), m.key(), m.value()) for m in got],
                        [(i, k, v) for i, (k, v, _) in enumerate(msgs)])
            return got

        got = check_all()
        # Starting in the middle of some segment, and by timestamp.
        some = consume_all(self.broker.bootstrap, topic, 0, len(msgs) - 12345, start=12345)
        self.assertEqual(some[0].value(), msgs[12345][1])
        c = Consumer({"bootstrap.servers": self.broker.bootstrap, "group.id": "unused"})
        try:
            for i in (0, 777, 12345, 19999):
                ts = got[i].timestamp()[1]
                want = next(j for j, m in enumerate(got) if m.timestamp()[1] >= ts)
                found = c.offsets_for_times([TopicPartition(topic, 0, ts)], timeout=30)[0]
                self.assertEqual(found.offset, want, f"timestamp of offset {i}")
        finally:
            c.close()
        self.broker.restart()
        check_all()
        self.broker.kill9()
        self.broker.restart()
        check_all()

    def consume_to(self, topic, last_offset, start=OFFSET_BEGINNING, extra=None):
        """Messages from `start` through last_offset (whatever retention left before them)."""
        conf = {"bootstrap.servers": self.broker.bootstrap, "group.id": "unused",
                "enable.auto.commit": False}
        conf.update(extra or {})
        c = Consumer(conf)
        try:
            c.assign([TopicPartition(topic, 0, start)])
            out = []
            deadline = time.monotonic() + TIMEOUT_S
            while not out or out[-1].offset() < last_offset:
                self.assertLess(time.monotonic(), deadline, f"read {len(out)} messages")
                for m in c.consume(1000, 1.0):
                    if m.error():
                        raise AssertionError(f"consumer error: {m.error()}")
                    out.append(m)
            return out
        finally:
            c.close()

    def test_retention_bytes_moves_the_log_start(self):
        topic = unique_name("ck-retention")
        self.create_topic(topic, {"segment.bytes": "16384", "retention.bytes": "32768"})
        msgs = messages(3000, "ret")
        produce_all(self.producer(), topic, msgs)
        broker_fixture.wait_until(lambda: self.watermarks(topic)[0], 60,
                                  "retention to delete old segments")
        # (Retention also ran while producing: the start may move once more.)
        low, high = self.watermarks(topic)
        self.assertEqual(high, len(msgs))
        self.assertGreater(low, 0)
        # From the beginning (ListOffsets -2) a consumer gets the retained tail, identical.
        got = self.consume_to(topic, high - 1)
        first = got[0].offset()
        self.assertGreaterEqual(first, low)
        assert_same([(m.offset(), m.value()) for m in got],
                    [(i, v) for i, (_, v, _) in enumerate(msgs)][first:])
        # An offset that is gone: OFFSET_OUT_OF_RANGE, and auto.offset.reset=earliest recovers.
        got = self.consume_to(topic, high - 1, start=0, extra={"auto.offset.reset": "earliest"})
        self.assertGreaterEqual(got[0].offset(), first)
        self.assertEqual(got[-1].offset(), high - 1)

    def test_retention_ms_deletes_old_records(self):
        topic = unique_name("ck-retention-ms")
        self.create_topic(topic, {"segment.bytes": "16384", "retention.ms": "600000"})
        old = int(time.time() * 1000) - 3_600_000  # an hour ago: past retention
        p = self.producer()
        for i in range(1000):
            p.produce(topic, value=b"old-%04d" % i + b"." * 100, timestamp=old + i)
        self.assertEqual(p.flush(TIMEOUT_S), 0)
        low = broker_fixture.wait_until(lambda: self.watermarks(topic)[0], 60,
                                        "retention.ms to delete old segments")
        self.assertGreater(low, 0)
        # Fresh records are kept.
        reports = produce_all(p, topic, messages(10, "new"))
        self.assertEqual(reports[0][2], 1000)
        low, high = self.watermarks(topic)
        self.assertEqual(high, 1010)
        self.assertLessEqual(low, 1000)

    def test_max_message_bytes_per_topic(self):
        topic = unique_name("ck-maxbytes")
        self.create_topic(topic, {"max.message.bytes": "2000"})
        delivery = Delivery()
        p = self.producer(**{"linger.ms": 0})
        p.produce(topic, value=b"s" * 500, on_delivery=delivery)
        p.flush(TIMEOUT_S)
        p.produce(topic, value=b"b" * 5000, on_delivery=delivery)
        p.flush(TIMEOUT_S)
        self.assertEqual(len(delivery.reports), 2)
        self.assertIsNone(delivery.reports[0][0])
        self.assertEqual(delivery.reports[1][0].code(), KafkaError.MSG_SIZE_TOO_LARGE)
        self.assertEqual(self.watermarks(topic), (0, 1))

    def test_large_messages_and_small_fetch_sizes(self):
        # Messages larger than the consumer's fetch limits still come through (KIP-74: at least
        # one whole batch per fetch).
        topic = unique_name("ck-large")
        big = [(None, bytes([i]) * (900_000 if i % 2 else 200_000), []) for i in range(10)]
        produce_all(self.producer(**{"batch.size": 1_000_000}), topic, big)
        got = consume_all(self.broker.bootstrap, topic, 0, len(big),
                          extra={"fetch.max.bytes": 1024, "max.partition.fetch.bytes": 1024,
                                 "message.max.bytes": 1000,
                                 "receive.message.max.bytes": 2_000_000})
        assert_same([m.value() for m in got], [v for _, v, _ in big])

    def test_consumer_waiting_at_the_end_gets_new_messages(self):
        topic = unique_name("ck-longpoll")
        p = self.producer()
        produce_all(p, topic, messages(5, "before"))
        c = Consumer({"bootstrap.servers": self.broker.bootstrap, "group.id": "unused",
                      "enable.auto.commit": False, "fetch.wait.max.ms": 5000})
        try:
            c.assign([TopicPartition(topic, 0, OFFSET_END)])
            # Let it reach the end and park a long-poll fetch.
            self.assertEqual([m for m in c.consume(10, 2.0) if not m.error()], [])
            produce_all(p, topic, messages(3, "after"))
            got = []
            deadline = time.monotonic() + TIMEOUT_S
            while len(got) < 3 and time.monotonic() < deadline:
                got += [m for m in c.consume(10, 1.0) if not m.error()]
            self.assertEqual([m.offset() for m in got], [5, 6, 7])
        finally:
            c.close()


if __name__ == "__main__":
    broker_fixture.main()
