"""kafka-python 2.0.2 (pure Python, its own protocol code) against varve-broker: KafkaProducer
with acks=1 and acks=all, KafkaConsumer on assigned partitions, KafkaAdminClient.

kafka-python infers the broker version from ApiVersions and then hard-codes request versions
(reference §4.2): Produce v7, Fetch v4, ListOffsets v1, Metadata v1 (admin up to v5).

Run: /usr/bin/python3 kafka_python_test.py <varve-broker binary> [KafkaPythonTest.test_name ...]
"""

import time

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType, NewTopic
from kafka.errors import (InvalidReplicationFactorError, TopicAlreadyExistsError,
                          UnknownTopicOrPartitionError)

import broker_fixture
import kafka_wire as w
from broker_fixture import assert_same, unique_name

TIMEOUT_S = 120
# The version probe waits 2 s by default; a loaded machine running an ASan broker deserves more.
COMMON = {"api_version_auto_timeout_ms": 30000, "request_timeout_ms": 60000}


def messages(count, prefix):
    out = []
    for i in range(count):
        key = f"{prefix}-{i:06d}".encode() if i % 40 else None
        value = f"{prefix}-value-{i}-".encode() + bytes((i * 7 + j) % 256 for j in range(i % 300))
        headers = [("n", str(i).encode()), ("empty", b"")] if i % 2 else []
        out.append((key, value, headers))
    return out


class KafkaPythonTest(broker_fixture.BrokerTestCase):
    BROKER_OVERRIDES = {"num.partitions": "1"}

    def producer(self, **conf):
        p = KafkaProducer(bootstrap_servers=self.broker.bootstrap, **COMMON, **conf)
        self.addCleanup(p.close, 10)
        return p

    def consumer(self, **conf):
        c = KafkaConsumer(bootstrap_servers=self.broker.bootstrap, group_id=None,
                          enable_auto_commit=False, **COMMON, **conf)
        self.addCleanup(c.close)
        return c

    def admin(self):
        a = KafkaAdminClient(bootstrap_servers=self.broker.bootstrap, **COMMON)
        self.addCleanup(a.close)
        return a

    def produce(self, producer, topic, msgs, partition=None):
        futures = [producer.send(topic, key=k, value=v, headers=h, partition=partition)
                   for k, v, h in msgs]
        producer.flush(timeout=TIMEOUT_S)
        return [f.get(timeout=TIMEOUT_S) for f in futures]

    def consume(self, topic, partition, count, seek=None):
        c = self.consumer()
        tp = TopicPartition(topic, partition)
        c.assign([tp])
        if seek is None:
            c.seek_to_beginning(tp)
        else:
            c.seek(tp, seek)
        out = []
        deadline = time.monotonic() + TIMEOUT_S
        while len(out) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"consumed {len(out)} of {count} within {TIMEOUT_S} s")
            for records in c.poll(timeout_ms=1000).values():
                out.extend(records)
        extra = c.poll(timeout_ms=1000)
        self.assertEqual(sum(len(r) for r in extra.values()), 0, "more messages than produced")
        return out

    def check_round_trip(self, acks):
        topic = unique_name(f"kp-acks{acks}")
        msgs = messages(5000, f"acks{acks}")
        metas = self.produce(self.producer(acks=acks, linger_ms=5), topic, msgs)
        assert_same([(m.topic, m.partition, m.offset) for m in metas],
                    [(topic, 0, i) for i in range(len(msgs))])
        got = self.consume(topic, 0, len(msgs))
        for i, (r, (k, v, h)) in enumerate(zip(got, msgs)):
            self.assertEqual((r.offset, r.key, r.value, list(r.headers)), (i, k, v, h),
                             f"message {i}")
            self.assertEqual(r.timestamp_type, 0)  # CreateTime
            self.assertGreater(r.timestamp, 0)

    # -- produce and consume ---------------------------------------------------------------

    def test_producer_acks_1_consumer_assigned(self):
        self.check_round_trip(1)

    def test_producer_acks_all_consumer_assigned(self):
        self.check_round_trip("all")

    def test_producer_acks_0(self):
        # acks=0 gets no response: kafka-python then must not see one (it would misparse the
        # next response or raise CorrelationIdError on this connection).
        topic = unique_name("kp-acks0")
        msgs = messages(3000, "acks0")
        p = self.producer(acks=0, linger_ms=5)
        self.produce(p, topic, msgs)
        # The same producer's connection is still in step: an acks=0 producer also fetches
        # metadata over it.
        self.assertEqual(p.partitions_for(topic), {0})
        got = self.consume(topic, 0, len(msgs))
        assert_same([(r.offset, r.key, r.value) for r in got],
                    [(i, k, v) for i, (k, v, _) in enumerate(msgs)])

    def test_produce_requests_with_several_topics_and_partitions(self):
        # kafka-python puts every ready partition for a broker into one Produce request.
        topics = [unique_name("kp-multi") for _ in range(3)]
        admin = self.admin()
        admin.create_topics([NewTopic(t, num_partitions=2, replication_factor=1) for t in topics],
                            timeout_ms=30000)
        p = self.producer(acks="all", linger_ms=50)
        sent = {}
        for i in range(3000):
            t, part = topics[i % 3], (i // 3) % 2
            value = b"%s/%d/%d" % (t.encode(), part, i)
            sent.setdefault((t, part), []).append((value, p.send(t, value=value, partition=part)))
        p.flush(timeout=TIMEOUT_S)
        for (t, part), items in sent.items():
            metas = [f.get(timeout=TIMEOUT_S) for _, f in items]
            assert_same([(m.topic, m.partition, m.offset) for m in metas],
                        [(t, part, i) for i in range(len(items))], f"{t}/{part}")
            got = self.consume(t, part, len(items))
            assert_same([r.value for r in got], [v for v, _ in items], f"{t}/{part}")

    def test_gzip_round_trip(self):
        # gzip only: kafka-python's snappy, lz4 and zstd need Python modules not installed here
        # (librdkafka's codecs are covered by confluent_test and kcat_test).
        topic = unique_name("kp-gzip")
        msgs = messages(2000, "gzip")
        self.produce(self.producer(compression_type="gzip", linger_ms=20), topic, msgs)
        got = self.consume(topic, 0, len(msgs))
        assert_same([(r.offset, r.key, r.value, list(r.headers)) for r in got],
                    [(i, k, v, h) for i, (k, v, h) in enumerate(msgs)])

    def test_offsets_for_times_inside_gzip_batches(self):
        # ListOffsets by time answers the first record at or after the timestamp even inside a
        # compressed batch (the broker decompresses it), not the batch's first record.
        topic = unique_name("kp-ts-gzip")
        base = 1_600_000_000_000
        stamps = [base + 10 * i for i in range(50)] + [base + 10_000 + i for i in range(50)]
        p = self.producer(compression_type="gzip", linger_ms=5000, batch_size=1 << 20)
        futures = [p.send(topic, value=b"%d-" % i + b"x" * 100, timestamp_ms=ts)
                   for i, ts in enumerate(stamps)]
        p.flush(timeout=TIMEOUT_S)
        self.assertEqual([f.get(timeout=TIMEOUT_S).offset for f in futures], list(range(100)))
        self.assertEqual(broker_fixture.segment_batches(self.broker, topic),
                         [(0, 100, broker_fixture.COMPRESSION_IDS["gzip"])])
        c = self.consumer()
        tp = TopicPartition(topic, 0)
        for target, want in ((base - 1, 0), (base + 1, 1), (base + 255, 26), (base + 490, 49),
                             (base + 491, 50), (base + 10_025, 75), (base + 10_049, 99)):
            found = c.offsets_for_times({tp: target})[tp]
            self.assertEqual((found.offset, found.timestamp), (want, stamps[want]),
                             f"target {target - base:+d}")
        self.assertIsNone(c.offsets_for_times({tp: base + 10_050})[tp])

    def test_consumer_seek_and_end_offsets(self):
        topic = unique_name("kp-seek")
        msgs = messages(300, "seek")
        self.produce(self.producer(), topic, msgs)
        got = self.consume(topic, 0, 100, seek=200)
        self.assertEqual([r.offset for r in got], list(range(200, 300)))
        c = self.consumer()
        tp = TopicPartition(topic, 0)
        self.assertEqual(c.beginning_offsets([tp]), {tp: 0})
        self.assertEqual(c.end_offsets([tp]), {tp: 300})
        self.assertEqual(c.partitions_for_topic(topic), {0})

    def test_multiple_partitions(self):
        topic = unique_name("kp-parts")
        self.admin().create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)],
                                   timeout_ms=30000)
        p = self.producer(acks="all")
        sent = {}
        for part in range(3):
            msgs = messages(200, f"p{part}")
            metas = self.produce(p, topic, msgs, partition=part)
            assert_same([(m.partition, m.offset) for m in metas],
                        [(part, i) for i in range(200)])
            sent[part] = msgs
        for part in range(3):
            got = self.consume(topic, part, 200)
            assert_same([r.value for r in got], [v for _, v, _ in sent[part]])

    def test_messages_larger_than_the_fetch_limits(self):
        # kafka-python raises RecordTooLargeError when a fetch returns only part of a batch:
        # the broker must send at least one whole batch (KIP-74) past max_partition_fetch_bytes.
        topic = unique_name("kp-large")
        big = [(None, bytes([i]) * (300_000 + i * 50_000), []) for i in range(8)]
        self.produce(self.producer(max_request_size=2_000_000), topic, big)
        c = self.consumer(max_partition_fetch_bytes=1024, fetch_max_bytes=1024)
        tp = TopicPartition(topic, 0)
        c.assign([tp])
        c.seek_to_beginning(tp)
        got = []
        deadline = time.monotonic() + TIMEOUT_S
        while len(got) < len(big) and time.monotonic() < deadline:
            for records in c.poll(timeout_ms=1000).values():
                got.extend(records)
        assert_same([r.value for r in got], [v for _, v, _ in big])

    def test_null_key_value_and_header_value_from_raw_batch(self):
        # A batch built by hand (kafka_wire) with nulls everywhere they are allowed, read back by
        # kafka-python's own record parser.
        topic = unique_name("kp-nulls")
        records = [(None, None, [("h", None)]), (b"", b"", [("", b"")]),
                   (b"k", None, [("a", b"1"), ("b", None)]), (None, b"v" * 1000, [])]
        with w.Conn(self.broker.port) as c:
            c.roundtrip(w.metadata_request(1, [topic]))
            _, body = c.roundtrip(w.produce_request(2, topic, 0, w.record_batch(records)))
            self.assertEqual(w.parse_produce_v3(body), [(topic, 0, 0, 0)])
        got = self.consume(topic, 0, len(records))
        self.assertEqual([(r.key, r.value, list(r.headers)) for r in got],
                         [(k, v, h) for k, v, h in records])

    # -- admin -----------------------------------------------------------------------------

    def test_admin_create_list_describe_delete(self):
        admin = self.admin()
        topic = unique_name("kp-admin")
        admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1,
                                      topic_configs={"retention.ms": "7200000"})],
                            timeout_ms=30000)
        self.assertIn(topic, admin.list_topics())
        (desc,) = admin.describe_topics([topic])
        self.assertEqual(desc["error_code"], 0)
        self.assertEqual(desc["topic"], topic)
        self.assertEqual(sorted(p["partition"] for p in desc["partitions"]), [0, 1])
        for p in desc["partitions"]:
            self.assertEqual((p["leader"], p["replicas"], p["isr"]), (0, [0], [0]))

        (resp,) = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
        (result,) = resp.resources
        error_code, _msg, _type, name, entries = result[:5]
        self.assertEqual((error_code, name), (0, topic))
        values = {e[0]: e[1] for e in entries}
        self.assertEqual(values.get("retention.ms"), "7200000")

        with self.assertRaises(TopicAlreadyExistsError):
            admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)],
                                timeout_ms=30000)
        with self.assertRaises(InvalidReplicationFactorError):
            admin.create_topics([NewTopic(unique_name("kp-rf"), num_partitions=1,
                                          replication_factor=2)], timeout_ms=30000)

        admin.delete_topics([topic], timeout_ms=30000)
        self.assertNotIn(topic, admin.list_topics())
        with self.assertRaises(UnknownTopicOrPartitionError):
            admin.delete_topics([topic], timeout_ms=30000)
        self.assert_broker_alive()


if __name__ == "__main__":
    broker_fixture.main()
