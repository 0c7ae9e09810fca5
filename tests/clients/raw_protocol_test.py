"""Wire-level behaviour the real clients depend on (reference §4.1, §4.3 and the §7 pitfalls),
checked on raw sockets with hand-built requests (kafka_wire.py): Fetch (empty records are empty
not null, the batch containing the offset, at least one whole batch, long polls, ordering behind
a long poll), Metadata auto-creation rules, ListOffsets, and idempotent-producer sequence checks.

Run: /usr/bin/python3 raw_protocol_test.py <varve-broker binary> [RawProtocolTest.test_name ...]
"""

import broker_fixture
import kafka_wire as w
from broker_fixture import unique_name

NONE = 0
OFFSET_OUT_OF_RANGE = 1
UNKNOWN_TOPIC_OR_PARTITION = 3
INVALID_TOPIC_EXCEPTION = 17
OUT_OF_ORDER_SEQUENCE_NUMBER = 45
UNKNOWN_PRODUCER_ID = 59


class RawProtocolTest(broker_fixture.BrokerTestCase):
    BROKER_OVERRIDES = {"num.partitions": "1"}

    def conn(self):
        c = w.Conn(self.broker.port, timeout_s=60)
        self.addCleanup(c.close)
        return c

    def new_topic(self, prefix, c=None):
        topic = unique_name(prefix)
        c = c or self.conn()
        _, body = c.roundtrip(w.metadata_request(1, [topic]))
        self.assertEqual(w.parse_metadata(body, 1)["topics"][topic], (NONE, 1))
        return topic

    def produce(self, c, topic, records, corr=10, **batch_args):
        _, body = c.roundtrip(w.produce_request(corr, topic, 0,
                                                w.record_batch(records, **batch_args)))
        ((_, _, error, base),) = w.parse_produce(body, 3)
        return error, base

    def fetch(self, c, topic, offset, corr=20, **kwargs):
        corr_back, body = c.roundtrip(w.fetch_request(corr, topic, 0, offset, **kwargs))
        self.assertEqual(corr_back, corr)
        (part,) = w.parse_fetch_v4(body)
        return part

    # -- Fetch -----------------------------------------------------------------------------

    def test_fetch_of_an_empty_partition_has_empty_not_null_records(self):
        c = self.conn()
        topic = self.new_topic("raw-empty", c)
        _, _, error, hw, lso, aborted, records = self.fetch(c, topic, 0, max_wait_ms=100)
        self.assertEqual((error, hw, lso), (NONE, 0, 0))
        self.assertEqual(records, b"", "records must be empty bytes, not null (kafka-python)")
        self.assertIn(aborted, ([], None))

    def test_fetch_errors(self):
        c = self.conn()
        topic = self.new_topic("raw-fetch-err", c)
        self.produce(c, topic, [(None, b"x", [])])
        for offset in (2, 100, -1):
            _, _, error, hw, _, _, records = self.fetch(c, topic, offset, max_wait_ms=100)
            self.assertEqual((error, hw), (OFFSET_OUT_OF_RANGE, 1), f"offset {offset}")
            self.assertEqual(records, b"")
        _, _, error, _, _, _, _ = self.fetch(c, unique_name("raw-nosuch"), 0, max_wait_ms=100)
        self.assertEqual(error, UNKNOWN_TOPIC_OR_PARTITION)

    def test_fetch_returns_the_batch_containing_the_offset(self):
        c = self.conn()
        topic = self.new_topic("raw-contain", c)
        for i in range(3):
            error, base = self.produce(c, topic, [(None, b"%d-%d" % (i, j), []) for j in range(10)])
            self.assertEqual((error, base), (NONE, i * 10))
        for offset, first_base in ((0, 0), (9, 0), (10, 10), (15, 10), (29, 20)):
            _, _, error, hw, _, _, records = self.fetch(c, topic, offset)
            self.assertEqual((error, hw), (NONE, 30))
            batches = w.parse_record_batches(records)
            self.assertEqual(batches[0], (first_base, 10), f"fetch at {offset}")
            self.assertEqual([b for b, _ in batches], list(range(first_base, 30, 10)))

    def test_fetch_returns_one_whole_batch_beyond_the_byte_limits(self):
        c = self.conn()
        topic = self.new_topic("raw-kip74", c)
        self.produce(c, topic, [(None, b"a" * 50_000, [])])
        self.produce(c, topic, [(None, b"b" * 50_000, [])])
        _, _, error, _, _, _, records = self.fetch(c, topic, 0, max_bytes=100,
                                                   partition_max_bytes=100)
        self.assertEqual(error, NONE)
        self.assertGreaterEqual(len(records), 50_000)
        self.assertEqual(w.parse_record_batches(records)[0], (0, 1))

    def test_long_poll_is_woken_by_a_produce(self):
        waiting = self.conn()
        topic = self.new_topic("raw-wake", waiting)
        # Parked: nothing at offset 0 yet, MaxWaitMs far beyond this test's bounds.
        waiting.send(w.fetch_request(5, topic, 0, 0, max_wait_ms=600_000, min_bytes=1))
        self.assertFalse(waiting.closed_by_peer(0.3))  # no answer yet (and still open)
        producer = self.conn()
        self.assertEqual(self.produce(producer, topic, [(b"k", b"v", [])]), (NONE, 0))
        corr, body = waiting.recv_frame()  # bounded by the connection's 60 s timeout
        self.assertEqual(corr, 5)
        ((_, _, error, hw, _, _, records),) = w.parse_fetch_v4(body)
        self.assertEqual((error, hw), (NONE, 1))
        self.assertEqual(w.parse_record_batches(records), [(0, 1)])

    def test_long_poll_answers_at_max_wait_when_min_bytes_is_not_reached(self):
        c = self.conn()
        topic = self.new_topic("raw-minbytes", c)
        self.produce(c, topic, [(None, b"small", [])])
        _, _, error, hw, _, _, records = self.fetch(c, topic, 0, max_wait_ms=300,
                                                    min_bytes=10_000_000)
        self.assertEqual((error, hw), (NONE, 1))
        self.assertEqual(w.parse_record_batches(records), [(0, 1)])

    def test_responses_stay_in_order_behind_a_long_poll(self):
        c = self.conn()
        topic = self.new_topic("raw-order", c)
        c.send(w.fetch_request(1, topic, 0, 0, max_wait_ms=300) + w.api_versions_request(2) +
               w.metadata_request(3, [topic]))
        self.assertEqual([c.recv_frame()[0] for _ in range(3)], [1, 2, 3])

    # -- Metadata --------------------------------------------------------------------------

    def test_metadata_topic_list_semantics(self):
        c = self.conn()
        existing = self.new_topic("raw-md", c)
        # v0: an empty list means all topics.
        _, body = c.roundtrip(w.metadata_request(2, [], version=0))
        self.assertIn(existing, w.parse_metadata(body, 0)["topics"])
        # v1+: null means all, empty means none.
        for version in (1, 2, 3):
            _, body = c.roundtrip(w.metadata_request(3, None, version=version))
            md = w.parse_metadata(body, version)
            self.assertIn(existing, md["topics"], f"v{version}")
            self.assertEqual(md["brokers"], [(0, "127.0.0.1", self.broker.port)])
            self.assertEqual(md["controller"], 0)
            if version >= 2:
                self.assertEqual(md["cluster_id"], self.broker.info.cluster_id)
            _, body = c.roundtrip(w.metadata_request(4, [], version=version))
            self.assertEqual(w.parse_metadata(body, version)["topics"], {}, f"v{version}")

    def test_metadata_auto_creation_rules(self):
        c = self.conn()
        # v4 with AllowAutoTopicCreation=false (librdkafka's consumer): not created.
        topic = unique_name("raw-noauto")
        _, body = c.roundtrip(w.metadata_request_v4(1, [topic], False))
        self.assertEqual(w.parse_metadata(body, 4)["topics"][topic],
                         (UNKNOWN_TOPIC_OR_PARTITION, 0))
        _, body = c.roundtrip(w.metadata_request(2, None))
        self.assertNotIn(topic, w.parse_metadata(body, 1)["topics"])
        # v4 with true: created now, full metadata in the same response.
        _, body = c.roundtrip(w.metadata_request_v4(3, [topic], True))
        self.assertEqual(w.parse_metadata(body, 4)["topics"][topic], (NONE, 1))
        # v0-v3 create implicitly.
        for version in (0, 1, 2, 3):
            t = unique_name(f"raw-auto-v{version}")
            _, body = c.roundtrip(w.metadata_request(5, [t], version=version))
            self.assertEqual(w.parse_metadata(body, version)["topics"][t], (NONE, 1))
        # Invalid names are refused, not created.
        for bad in ("bad name", "a/b", "x" * 250, "..", ""):
            _, body = c.roundtrip(w.metadata_request(6, [bad]))
            self.assertEqual(w.parse_metadata(body, 1)["topics"][bad][0],
                             INVALID_TOPIC_EXCEPTION, repr(bad))

    # -- ListOffsets -----------------------------------------------------------------------

    def test_list_offsets(self):
        c = self.conn()
        topic = self.new_topic("raw-lo", c)
        base = 1_700_000_000_000
        for i in range(5):
            self.produce(c, topic, [(None, b"%d" % i, [])] * 2, base_timestamp=base + i * 10)
        cases = [(-2, (-1, 0)), (-1, (-1, 10)), (base, (base, 0)), (base + 1, (base + 10, 2)),
                 (base + 40, (base + 40, 8)), (base + 41, (-1, -1)), (0, (base, 0))]
        for ts, want in cases:
            _, body = c.roundtrip(w.list_offsets_request(7, topic, 0, ts))
            ((_, _, error, got_ts, offset),) = w.parse_list_offsets_v1(body)
            self.assertEqual((error, (got_ts, offset)), (NONE, want), f"timestamp {ts}")
        _, body = c.roundtrip(w.list_offsets_request(8, unique_name("raw-nosuch"), 0, -1))
        self.assertEqual(w.parse_list_offsets_v1(body)[0][2], UNKNOWN_TOPIC_OR_PARTITION)

    # -- idempotent producer ---------------------------------------------------------------

    def test_idempotent_sequence_checks(self):
        c = self.conn()
        topic = self.new_topic("raw-idem", c)
        _, body = c.roundtrip(w.init_producer_id_request(2))
        error, pid, epoch = w.parse_init_producer_id(body)
        self.assertEqual((error, epoch), (NONE, 0))
        self.assertGreaterEqual(pid, 0)
        _, body = c.roundtrip(w.init_producer_id_request(3))
        self.assertNotEqual(w.parse_init_producer_id(body)[1], pid, "producer ids are unique")

        def send(seq, n=3):
            return self.produce(c, topic, [(None, b"s%d" % (seq + i), []) for i in range(n)],
                                producer_id=pid, producer_epoch=0, base_sequence=seq)

        self.assertEqual(send(0), (NONE, 0))
        self.assertEqual(send(3), (NONE, 3))
        # A retry of the last batch: not appended again, its original offset back.
        self.assertEqual(send(3), (NONE, 3))
        self.assertEqual(send(0), (NONE, 0))
        # A gap.
        self.assertEqual(send(10)[0], OUT_OF_ORDER_SEQUENCE_NUMBER)
        self.assertEqual(send(6), (NONE, 6))
        # Another producer id's sequences are separate; one never initialized starts at 0 too.
        _, body = c.roundtrip(w.list_offsets_request(9, topic, 0, -1))
        self.assertEqual(w.parse_list_offsets_v1(body)[0][4], 9)
        # Non-idempotent batches in between are fine.
        self.assertEqual(self.produce(c, topic, [(None, b"plain", [])]), (NONE, 9))
        self.assertEqual(send(9), (NONE, 10))


if __name__ == "__main__":
    broker_fixture.main()
