"""Hostile and odd bytes on raw sockets: varve-broker answers as Kafka does or closes the
connection, never crashes, never stalls other connections. Requests are built by hand
(kafka_wire.py, from reference §3-§4.1), independent of the broker's codec.

Run: /usr/bin/python3 hostile_input_test.py <varve-broker binary> [HostileInputTest.test_name ...]
"""

import random
import socket
import struct
import sys
import subprocess
import time

import broker_fixture
import kafka_wire as w
from broker_fixture import unique_name

MAX_REQUEST_BYTES = 1 << 20  # socket.request.max.bytes for this broker


class HostileInputTest(broker_fixture.BrokerTestCase):
    BROKER_OVERRIDES = {"num.partitions": "1",
                        "socket.request.max.bytes": str(MAX_REQUEST_BYTES)}

    def conn(self, timeout_s=30.0):
        c = w.Conn(self.broker.port, timeout_s)
        self.addCleanup(c.close)
        return c

    def assert_closed(self, conn, what):
        self.assertTrue(conn.closed_by_peer(30), f"{what}: connection still open after 30 s")

    def assert_healthy(self):
        """The broker runs and a fresh connection gets ApiVersions and Metadata answered."""
        self.assert_broker_alive()
        with w.Conn(self.broker.port) as c:
            corr, body = c.roundtrip(w.api_versions_request(7, version=2))
            self.assertEqual(corr, 7)
            error, apis, _ = w.parse_api_versions(body, 2)
            self.assertEqual(error, 0)
            self.assertIn(0, apis)
            corr, body = c.roundtrip(w.metadata_request(8, topics=None))
            self.assertEqual(corr, 8)
            md = w.parse_metadata_v1(body)
            self.assertEqual(md["brokers"], [(0, "127.0.0.1", self.broker.port)])

    def tearDown(self):
        self.assert_healthy()
        super().tearDown()

    # -- framing ---------------------------------------------------------------------------

    def test_tls_client_hello_closes(self):
        c = self.conn()
        hello = bytes.fromhex("16030100c4010000c00303") + bytes(range(32)) + b"\x00" * 64
        c.send(hello)
        self.assert_closed(c, "TLS ClientHello")

    def test_frame_size_2gib_closes(self):
        for size in (0x7FFFFFFF, 0x80000000, MAX_REQUEST_BYTES + 1, 100 << 20):
            with self.subTest(size=size):
                c = self.conn()
                c.send(struct.pack(">I", size) + b"\x00\x12\x00\x00\x00\x00\x00\x01")
                self.assert_closed(c, f"frame size {size}")

    def test_negative_and_zero_frame_size_close(self):
        for size in (-1, -1000, 0, 1, 7):
            with self.subTest(size=size):
                c = self.conn()
                c.send(struct.pack(">i", size) + b"\x00" * max(size, 0))
                self.assert_closed(c, f"frame size {size}")

    def test_frame_at_the_size_limit_is_read(self):
        # A request frame exactly at socket.request.max.bytes is accepted (here a Metadata
        # request followed by padding the broker ignores, as Kafka does).
        c = self.conn()
        frame = w.metadata_request(3, topics=[])
        payload = frame[4:] + b"\x00" * (MAX_REQUEST_BYTES - len(frame) + 4)
        corr, _ = c.roundtrip(struct.pack(">i", len(payload)) + payload)
        self.assertEqual(corr, 3)

    def test_unknown_api_key_closes(self):
        for key in (9999, 50, 10, -1, 32767):
            with self.subTest(api_key=key):
                c = self.conn()
                c.send(w.request(key, 0, 1, b""))
                self.assert_closed(c, f"api key {key}")

    def test_unsupported_version_of_known_api_closes(self):
        for key, version in ((3, 8), (3, 12), (0, 2), (0, 9), (1, 3), (1, 12), (2, 0), (2, 6),
                             (3, -1)):
            with self.subTest(api_key=key, version=version):
                c = self.conn()
                c.send(w.request(key, version, 1, b"\x00" * 16))
                self.assert_closed(c, f"api {key} v{version}")

    def test_api_versions_too_new_answered_in_v0_format(self):
        for version in (4, 9, 127, 32767):
            with self.subTest(version=version):
                c = self.conn()
                # A flexible header (v2) and a v3-style body, as a newer client would send.
                body = w.compact_string("future-client") + w.compact_string("9.9") + w.uvarint(0)
                corr, rest = c.roundtrip(w.request(w.API_API_VERSIONS, version, 4242, body,
                                                   flexible=True))
                self.assertEqual(corr, 4242)
                # Header v0: the body starts right after the correlation id: error 35 and only
                # the ApiVersions entry, nothing else (no throttle time, no tags).
                self.assertEqual(rest, struct.pack(">hihhh", 35, 1, 18, 0, 3))
                # The connection stays usable: the client retries with v3.
                corr, rest = c.roundtrip(w.api_versions_request(4243, version=3))
                self.assertEqual(corr, 4243)
                error, apis, _ = w.parse_api_versions(rest, 3)
                self.assertEqual(error, 0)
                self.assertEqual(apis[18], (0, 3))

    def test_api_versions_every_supported_version(self):
        c = self.conn()
        expected = None
        for version in range(4):
            corr, rest = c.roundtrip(w.api_versions_request(100 + version, version))
            self.assertEqual(corr, 100 + version)
            error, apis, throttle = w.parse_api_versions(rest, version)
            self.assertEqual(error, 0)
            self.assertEqual(throttle, None if version == 0 else 0)
            expected = expected or apis
            self.assertEqual(apis, expected)
        # What the issue asks to advertise; group APIs are not advertised yet.
        for key, (lo, hi) in {0: (3, 7), 1: (4, 11), 2: (1, 5), 3: (0, 7), 18: (0, 3),
                              19: (0, 4), 20: (0, 3), 22: (0, 1), 32: (0, 2)}.items():
            self.assertEqual(expected.get(key), (lo, hi), f"api {key}")

    def test_garbage_after_valid_header_closes(self):
        cases = {
            # Metadata v1 with a topic count far beyond the frame.
            "huge array count": w.request(3, 1, 1, w.i32(1_000_000_000)),
            # Metadata v1 with a topic name longer than the frame.
            "string beyond frame": w.request(3, 1, 1, w.i32(1) + w.i16(30000) + b"abc"),
            # Produce v7 whose records length exceeds the frame.
            "records beyond frame": w.request(
                0, 7, 1, w.string(None) + w.i16(1) + w.i32(1000) + w.i32(1) + w.string("t") +
                w.i32(1) + w.i32(0) + w.i32(1_000_000) + b"x" * 10),
            # CreateTopics v0 with a negative array count other than -1.
            "negative array count": w.request(19, 0, 1, w.i32(-5)),
            # ListOffsets v1: random bytes.
            "random bytes": w.request(2, 1, 1, bytes(random.Random(1).randrange(256)
                                                     for _ in range(64))),
            # A header whose client id runs past the frame.
            "client id beyond frame": struct.pack(">ihhih", 12, 18, 0, 1, 500) + b"ab",
        }
        for name, frame in cases.items():
            with self.subTest(case=name):
                c = self.conn()
                c.send(frame)
                self.assert_closed(c, name)

    def test_truncated_body_closes(self):
        # A whole frame whose body stops in the middle of a field.
        full = w.produce_request(1, "t", 0, w.record_batch([(b"k", b"v", [])]), version=3)
        body_end = len(full)
        for cut in (10, 14, 20, 30, body_end - 5):
            with self.subTest(cut=cut):
                payload = full[4:cut]
                c = self.conn()
                c.send(struct.pack(">i", len(payload)) + payload)
                self.assert_closed(c, f"body cut at {cut}")

    def test_partial_frame_then_eof_closes(self):
        # The announced size is never reached: the client half-closes; the broker closes too.
        c = self.conn()
        c.send(struct.pack(">i", 100) + b"\x00\x12\x00\x00")
        c.sock.shutdown(socket.SHUT_WR)
        self.assert_closed(c, "partial frame then EOF")

    def test_random_frames_never_crash(self):
        # Seeded random bodies behind valid headers of every advertised API and version: each
        # is answered or closes the connection. A Metadata request follows on the same
        # connection, so nothing waits for a timeout: only a Produce may go unanswered (acks=0),
        # and a Fetch's MaxWaitMs is kept short.
        rng = random.Random(20240611)
        ranges = {0: (3, 7), 1: (4, 11), 2: (1, 5), 3: (0, 7), 18: (0, 3), 19: (0, 4),
                  20: (0, 3), 22: (0, 1), 32: (0, 2)}
        outcomes = {"answered": 0, "closed": 0}
        for n in range(600):
            if n % 50 == 0:
                self.assert_broker_alive()
            key = rng.choice(sorted(ranges))
            version = rng.randint(*ranges[key])
            body = bytes(rng.randrange(256) for _ in range(rng.choice((0, 1, 5, 20, 100, 400))))
            if key == 1 and len(body) >= 8:  # ReplicaId -1, MaxWaitMs 10: no long poll
                body = w.i32(-1) + w.i32(10) + body[8:]
            flexible = key == 18 and version >= 3
            mark = 1_000_000 + n
            c = w.Conn(self.broker.port, timeout_s=60)
            try:
                c.send(w.request(key, version, n, body, flexible=flexible) +
                       w.metadata_request(mark, topics=[]))
                try:
                    corr, _ = c.recv_frame()
                except ConnectionError:
                    outcomes["closed"] += 1
                    continue
                if corr == mark:
                    self.assertEqual(key, 0, f"#{n}: api {key} v{version} went unanswered")
                    continue
                self.assertEqual(corr, n)
                outcomes["answered"] += 1
            finally:
                c.close()
        print(f"\n  random bodies: {outcomes}", file=sys.stderr)

    def test_mutated_valid_requests_never_crash(self):
        # Valid requests with a few body bytes changed or the body cut short (the frame size
        # kept consistent), each followed by a Metadata request on the same connection: the
        # broker answers both in order, or only the Metadata after a Produce that became
        # acks=0, or closes the connection. (Fetch and CreateTopics are left out: a mutated
        # MaxWaitMs or partition count is a valid, slow request.)
        topic = unique_name("raw-fuzz")
        with w.Conn(self.broker.port) as c:
            c.roundtrip(w.metadata_request(1, [topic]))
        batch = w.record_batch([(b"key", b"value" * 10, [("h", b"v")]), (None, b"x", [])])
        bases = [
            w.metadata_request(0, [topic, "other"]),
            w.metadata_request(0, [topic], version=3),
            w.produce_request(0, topic, 0, batch, version=3),
            w.produce_request(0, topic, 0, batch, version=7),
            w.list_offsets_request(0, topic, 0, -2),
            w.api_versions_request(0, version=3),
            w.request(32, 0, 0, w.array([w.i8(2) + w.string(topic) + w.array(None)])),
            w.request(20, 0, 0, w.array([w.string(unique_name("raw-nosuch"))]) + w.i32(1000)),
            w.request(22, 0, 0, w.string(None) + w.i32(60000)),
        ]
        header_len = 4 + 2 + 2 + 4 + 2 + len("raw-test")
        rng = random.Random(77)
        outcomes = {"answered": 0, "closed": 0, "unanswered produce": 0}
        for n in range(1500):
            base = bytearray(rng.choice(bases))
            api_key, version = struct.unpack(">hh", base[4:8])
            base[8:12] = struct.pack(">i", n)
            if version >= 3 and api_key == 18:
                header_len_here = header_len + 1
            else:
                header_len_here = header_len
            if rng.random() < 0.2 and len(base) > header_len_here + 1:
                cut = rng.randrange(header_len_here, len(base))
                base = bytearray(struct.pack(">i", cut - 4)) + base[4:cut]
            else:
                for _ in range(rng.randint(1, 4)):
                    if len(base) > header_len_here:
                        pos = rng.randrange(header_len_here, len(base))
                        base[pos] = rng.choice((0x00, 0xFF, 0x7F, 0x80, rng.randrange(256)))
            mark = 1_000_000 + n
            c = w.Conn(self.broker.port, timeout_s=60)
            try:
                c.send(bytes(base) + w.metadata_request(mark, topics=[]))
                try:
                    corr, _ = c.recv_frame()
                except ConnectionError:
                    outcomes["closed"] += 1
                    continue
                if corr == mark:
                    self.assertEqual(api_key, 0, f"#{n}: api {api_key} went unanswered")
                    outcomes["unanswered produce"] += 1
                    continue
                self.assertEqual(corr, n, f"#{n}: api {api_key} v{version}")
                corr, _ = c.recv_frame()
                self.assertEqual(corr, mark, f"#{n}: the connection stalled after api {api_key}")
                outcomes["answered"] += 1
            finally:
                c.close()
        print(f"\n  mutated requests: {outcomes}", file=sys.stderr)
        self.assertGreater(outcomes["answered"], 0)
        self.assertGreater(outcomes["closed"], 0)

    # -- ordering and acks=0 ---------------------------------------------------------------

    def test_produce_acks_0_gets_no_response(self):
        topic = unique_name("raw-acks0")
        c = self.conn()
        # Create the topic (Metadata v1 auto-creates), then an acks=0 produce, then Metadata.
        corr, body = c.roundtrip(w.metadata_request(1, [topic]))
        self.assertEqual(w.parse_metadata_v1(body)["topics"][topic], (0, 1))
        batch = w.record_batch([(b"k0", b"v0", [("h", b"x")]), (None, b"v1", [])])
        c.send(w.produce_request(2, topic, 0, batch, acks=0))
        c.send(w.metadata_request(3, [topic]))
        corr, _ = c.recv_frame()
        self.assertEqual(corr, 3, "the acks=0 produce was answered")
        # acks=1 on the same connection is answered, after the acks=0 batch.
        c.send(w.produce_request(4, topic, 0, batch, acks=1))
        corr, body = c.recv_frame()
        self.assertEqual(corr, 4)
        self.assertEqual(w.parse_produce_v3(body), [(topic, 0, 0, 2)])
        corr, body = c.roundtrip(w.list_offsets_request(5, topic, 0, -1))
        self.assertEqual(w.parse_list_offsets_v1(body), [(topic, 0, 0, -1, 4)])

    def test_invalid_acks_and_bad_batches_are_answered_with_errors(self):
        topic = unique_name("raw-bad")
        c = self.conn()
        c.roundtrip(w.metadata_request(1, [topic]))
        good = w.record_batch([(b"k", b"v", [])])
        corrupt = bytearray(good)
        corrupt[-1] ^= 0xFF  # CRC mismatch
        cases = [
            (w.produce_request(2, topic, 0, good, acks=2), 21),  # INVALID_REQUIRED_ACKS
            (w.produce_request(3, topic, 0, bytes(corrupt)), 2),  # CORRUPT_MESSAGE
            (w.produce_request(4, topic, 7, good), 3),  # UNKNOWN_TOPIC_OR_PARTITION
            (w.produce_request(5, unique_name("raw-nosuch"), 0, good), 3),
        ]
        for frame, code in cases:
            corr, body = c.roundtrip(frame)
            ((_, _, error, base),) = w.parse_produce_v3(body)
            self.assertEqual(error, code, f"correlation id {corr}")
            self.assertEqual(base, -1)
        corr, body = c.roundtrip(w.list_offsets_request(9, topic, 0, -1))
        self.assertEqual(w.parse_list_offsets_v1(body), [(topic, 0, 0, -1, 0)])

    def test_pipelined_requests_answered_in_order(self):
        topic = unique_name("raw-pipe")
        c = self.conn()
        c.roundtrip(w.metadata_request(0, [topic]))
        frames = []
        kinds = {}
        for corr in range(1, 201):
            kind = corr % 4
            if kind == 0:
                frames.append(w.api_versions_request(corr, corr % 4))
            elif kind == 1:
                frames.append(w.metadata_request(corr, [topic]))
            elif kind == 2:
                frames.append(w.produce_request(corr, topic, 0,
                                                w.record_batch([(None, b"x%d" % corr, [])])))
            else:
                frames.append(w.list_offsets_request(corr, topic, 0, -2))
            kinds[corr] = kind
        c.send(b"".join(frames))
        produced = 0
        for want in range(1, 201):
            corr, body = c.recv_frame()
            self.assertEqual(corr, want)
            if kinds[corr] == 2:
                self.assertEqual(w.parse_produce_v3(body), [(topic, 0, 0, produced)])
                produced += 1

    def test_byte_at_a_time_request(self):
        c = self.conn()
        for b in w.api_versions_request(77, 1):
            c.send(bytes([b]))
        corr, body = c.recv_frame()
        self.assertEqual(corr, 77)
        self.assertEqual(w.parse_api_versions(body, 1)[0], 0)

    def test_stalled_connection_does_not_block_others(self):
        stalled = self.conn()
        stalled.send(struct.pack(">i", 1000) + b"\x00\x03")  # never completed
        idle = self.conn()  # never sends anything
        for i in range(20):
            with w.Conn(self.broker.port) as c:
                corr, _ = c.roundtrip(w.api_versions_request(i, 0))
                self.assertEqual(corr, i)
        self.assertFalse(stalled.closed_by_peer(0.2))
        self.assertFalse(idle.closed_by_peer(0.2))

    # -- many connections ------------------------------------------------------------------

    def test_200_concurrent_connections(self):
        conns = [w.Conn(self.broker.port, timeout_s=60) for _ in range(200)]
        try:
            for i, c in enumerate(conns):
                c.send(w.api_versions_request(i, version=i % 4))
            for i, c in enumerate(conns):
                corr, body = c.recv_frame()
                self.assertEqual(corr, i)
                error, apis, _ = w.parse_api_versions(body, i % 4)
                self.assertEqual(error, 0)
                self.assertIn(1, apis)
            # A second round on every connection, in reverse order.
            for i, c in reversed(list(enumerate(conns))):
                c.send(w.metadata_request(1000 + i, topics=[]))
            for i, c in enumerate(conns):
                corr, body = c.recv_frame()
                self.assertEqual(corr, 1000 + i)
                self.assertEqual(w.parse_metadata_v1(body)["topics"], {})
        finally:
            for c in conns:
                c.close()

    def test_real_client_after_hostile_input(self):
        # Some abuse first, on connections left open and abandoned.
        for frame in (b"\x16\x03\x01\x02\x00", struct.pack(">i", -1), w.request(9999, 0, 1, b"")):
            c = self.conn()
            c.send(frame)
        topic = unique_name("raw-after")
        kcat = subprocess.run(["kcat", "-b", self.broker.bootstrap, "-m", "30", "-P", "-t",
                               topic], input=b"one\ntwo\nthree\n", capture_output=True,
                              timeout=120)
        self.assertEqual(kcat.returncode, 0, kcat.stderr)
        kcat = subprocess.run(["kcat", "-b", self.broker.bootstrap, "-m", "30", "-C", "-t",
                               topic, "-e", "-q"], capture_output=True, timeout=120)
        self.assertEqual(kcat.returncode, 0, kcat.stderr)
        self.assertEqual(kcat.stdout.decode().splitlines(), ["one", "two", "three"])


if __name__ == "__main__":
    broker_fixture.main()
