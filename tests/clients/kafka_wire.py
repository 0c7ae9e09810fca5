"""Hand-built Kafka protocol bytes for the raw-socket tests (no codec of the broker's is used).

Layouts follow /work/shared/kafka/reference.md §1 (RecordBatch v2) and §3-§4.1 (framing,
headers, ApiVersions, Metadata, Produce, ListOffsets). Only what the tests need.
"""

import socket
import struct
import time

API_PRODUCE = 0
API_FETCH = 1
API_LIST_OFFSETS = 2
API_METADATA = 3
API_API_VERSIONS = 18

# -- primitives --------------------------------------------------------------------------------


def i8(v):
    return struct.pack(">b", v)


def i16(v):
    return struct.pack(">h", v)


def i32(v):
    return struct.pack(">i", v)


def u32(v):
    return struct.pack(">I", v)


def i64(v):
    return struct.pack(">q", v)


def string(s):
    """A non-flexible (nullable) string: i16 length, -1 for None."""
    if s is None:
        return i16(-1)
    b = s.encode() if isinstance(s, str) else s
    return i16(len(b)) + b


def nbytes(b):
    """Non-flexible (nullable) bytes: i32 length, -1 for None."""
    if b is None:
        return i32(-1)
    return i32(len(b)) + b


def array(items):
    """A non-flexible array of already-encoded items (None: null)."""
    if items is None:
        return i32(-1)
    return i32(len(items)) + b"".join(items)


def uvarint(v):
    out = bytearray()
    while True:
        byte = v & 0x7F
        v >>= 7
        if v:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def varint(v):
    """Zig-zag varint/varlong (record fields)."""
    return uvarint((v << 1) ^ (v >> 63))


def compact_string(s):
    if s is None:
        return uvarint(0)
    b = s.encode()
    return uvarint(len(b) + 1) + b


# -- CRC-32C (Castagnoli), reflected polynomial 0x82F63B78 --------------------------------------

_CRC_TABLE = []
for _n in range(256):
    _c = _n
    for _ in range(8):
        _c = (_c >> 1) ^ 0x82F63B78 if _c & 1 else _c >> 1
    _CRC_TABLE.append(_c)


def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc = _CRC_TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


assert crc32c(b"123456789") == 0xE3069283

# -- RecordBatch v2 ------------------------------------------------------------------------------


def record_batch(records, base_timestamp=None, producer_id=-1, producer_epoch=-1,
                 base_sequence=-1):
    """An uncompressed v2 batch of (key, value, headers) records; headers is a list of
    (str, bytes or None). Timestamps: all base_timestamp (default now). Non-idempotent unless
    producer_id >= 0."""
    if base_timestamp is None:
        base_timestamp = int(time.time() * 1000)
    body = bytearray()
    for delta, (key, value, headers) in enumerate(records):
        rec = bytearray(i8(0))
        rec += varint(0)  # timestamp delta
        rec += varint(delta)  # offset delta
        rec += varint(-1) if key is None else varint(len(key)) + key
        rec += varint(-1) if value is None else varint(len(value)) + value
        rec += varint(len(headers))
        for hk, hv in headers:
            hkb = hk.encode()
            rec += varint(len(hkb)) + hkb
            rec += varint(-1) if hv is None else varint(len(hv)) + hv
        body += varint(len(rec)) + rec
    after_crc = (i16(0) + i32(len(records) - 1) + i64(base_timestamp) + i64(base_timestamp) +
                 i64(producer_id) + i16(producer_epoch) + i32(base_sequence) +
                 i32(len(records)) + bytes(body))
    crc = crc32c(after_crc)
    after_length = i32(-1) + i8(2) + u32(crc) + after_crc
    return i64(0) + i32(len(after_length)) + after_length


# -- requests --------------------------------------------------------------------------------


def request(api_key, version, correlation_id, body, client_id="raw-test", flexible=False):
    """A framed request: i32 size, header v1 (v2 if flexible), body."""
    header = i16(api_key) + i16(version) + i32(correlation_id) + string(client_id)
    if flexible:
        header += uvarint(0)  # header tagged fields
    payload = header + body
    return i32(len(payload)) + payload


def api_versions_request(correlation_id, version=0):
    if version >= 3:
        body = compact_string("raw-test") + compact_string("1.0") + uvarint(0)
        return request(API_API_VERSIONS, version, correlation_id, body, flexible=True)
    return request(API_API_VERSIONS, version, correlation_id, b"")


def metadata_request(correlation_id, topics=None, version=1):
    """Metadata v1-v3: topics None means all topics."""
    body = array(None if topics is None else [string(t) for t in topics])
    return request(API_METADATA, version, correlation_id, body)


def produce_request(correlation_id, topic, partition, batch, acks=1, timeout_ms=30000,
                    version=3):
    body = (string(None) + i16(acks) + i32(timeout_ms) +
            array([string(topic) + array([i32(partition) + nbytes(batch)])]))
    return request(API_PRODUCE, version, correlation_id, body)


def init_producer_id_request(correlation_id):
    """InitProducerId v0, no transactional id."""
    return request(22, 0, correlation_id, string(None) + i32(60000))


def parse_init_producer_id(body):
    """(error, producer_id, epoch)"""
    r = Reader(body)
    r.i32()  # throttle
    out = (r.i16(), r.i64(), r.i16())
    assert r.done()
    return out


def list_offsets_request(correlation_id, topic, partition, timestamp):
    """ListOffsets v1."""
    body = i32(-1) + array([string(topic) + array([i32(partition) + i64(timestamp)])])
    return request(API_LIST_OFFSETS, 1, correlation_id, body)


def fetch_request(correlation_id, topic, partition, offset, max_wait_ms=500, min_bytes=1,
                  max_bytes=1 << 20, partition_max_bytes=1 << 20):
    """Fetch v4 (read_uncommitted)."""
    body = (i32(-1) + i32(max_wait_ms) + i32(min_bytes) + i32(max_bytes) + i8(0) +
            array([string(topic) + array([i32(partition) + i64(offset) +
                                          i32(partition_max_bytes)])]))
    return request(API_FETCH, 4, correlation_id, body)


def metadata_request_v4(correlation_id, topics, allow_auto_topic_creation):
    body = array(None if topics is None else [string(t) for t in topics])
    body += i8(1 if allow_auto_topic_creation else 0)
    return request(API_METADATA, 4, correlation_id, body)


# -- responses -------------------------------------------------------------------------------


class Reader:

    def __init__(self, data):
        self.data = data
        self.pos = 0

    def take(self, n):
        if self.pos + n > len(self.data):
            raise ValueError(f"response truncated: need {n} bytes at {self.pos} of "
                             f"{len(self.data)}")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def i8(self):
        return struct.unpack(">b", self.take(1))[0]

    def i16(self):
        return struct.unpack(">h", self.take(2))[0]

    def i32(self):
        return struct.unpack(">i", self.take(4))[0]

    def i64(self):
        return struct.unpack(">q", self.take(8))[0]

    def string(self):
        n = self.i16()
        return None if n < 0 else self.take(n).decode()

    def uvarint(self):
        shift = value = 0
        while True:
            b = self.take(1)[0]
            value |= (b & 0x7F) << shift
            if not b & 0x80:
                return value
            shift += 7

    def array(self, item):
        n = self.i32()
        return None if n < 0 else [item(self) for _ in range(n)]

    def done(self):
        return self.pos == len(self.data)


def parse_api_versions(body, version):
    """(error_code, {api_key: (min, max)}, throttle_ms or None); checks nothing is left over."""
    r = Reader(body)
    error = r.i16()
    apis = {}
    if version >= 3:
        n = r.uvarint() - 1
        for _ in range(n):
            key, lo, hi = r.i16(), r.i16(), r.i16()
            assert r.uvarint() == 0
            apis[key] = (lo, hi)
    else:
        for _ in range(r.i32()):
            key, lo, hi = r.i16(), r.i16(), r.i16()
            apis[key] = (lo, hi)
    throttle = r.i32() if version >= 1 else None
    if version >= 3:
        tags = r.uvarint()
        for _ in range(tags):
            r.uvarint()
            r.take(r.uvarint())
    if not r.done():
        raise ValueError(f"{len(body) - r.pos} bytes left over in ApiVersions v{version}")
    return error, apis, throttle


def parse_metadata(body, version):
    """Metadata v0-v7: {"brokers": [(id, host, port)], "cluster_id", "controller",
    "topics": {name: (error, n_partitions)}}; checks nothing is left over."""
    r = Reader(body)
    if version >= 3:
        r.i32()  # throttle

    def broker(r):
        b = (r.i32(), r.string(), r.i32())
        if version >= 1:
            r.string()  # rack
        return b

    brokers = r.array(broker)
    cluster_id = r.string() if version >= 2 else None
    controller = r.i32() if version >= 1 else None
    topics = {}
    for _ in range(r.i32()):
        error, name = r.i16(), r.string()
        if version >= 1:
            r.i8()  # is_internal

        def part(r):
            p = (r.i16(), r.i32(), r.i32())
            if version >= 7:
                r.i32()  # leader epoch
            r.array(Reader.i32)
            r.array(Reader.i32)
            if version >= 5:
                r.array(Reader.i32)
            return p

        topics[name] = (error, len(r.array(part)))
    if not r.done():
        raise ValueError(f"bytes left over in Metadata v{version}")
    return {"brokers": brokers, "cluster_id": cluster_id, "controller": controller,
            "topics": topics}


def parse_metadata_v1(body):
    return parse_metadata(body, 1)


def parse_fetch_v4(body):
    """[(topic, partition, error, high_watermark, last_stable_offset, aborted, records)] where
    records is the raw bytes (None if the length was -1)."""
    r = Reader(body)
    r.i32()  # throttle
    out = []
    for _ in range(r.i32()):
        name = r.string()
        for _ in range(r.i32()):
            index, error, hw, lso = r.i32(), r.i16(), r.i64(), r.i64()
            aborted = r.array(lambda r: (r.i64(), r.i64()))
            n = r.i32()
            records = None if n < 0 else r.take(n)
            out.append((name, index, error, hw, lso, aborted, records))
    assert r.done(), "bytes left over in Fetch v4"
    return out


def parse_record_batches(data):
    """(base_offset, records_count) of each whole, uncompressed v2 batch in `data`; a trailing
    partial batch is ignored (as clients do)."""
    out = []
    pos = 0
    while pos + 12 <= len(data):
        base, length = struct.unpack(">qi", data[pos:pos + 12])
        if pos + 12 + length > len(data):
            break
        count = struct.unpack(">i", data[pos + 57:pos + 61])[0]
        out.append((base, count))
        pos += 12 + length
    return out


def parse_produce(body, version):
    """Produce v3-v7: [(topic, partition, error, base_offset)]"""
    r = Reader(body)
    out = []
    for _ in range(r.i32()):
        name = r.string()
        for _ in range(r.i32()):
            index, error, base, _append_time = r.i32(), r.i16(), r.i64(), r.i64()
            if version >= 5:
                r.i64()  # log start offset
            out.append((name, index, error, base))
    r.i32()  # throttle
    assert r.done(), f"bytes left over in Produce v{version}"
    return out


def parse_produce_v3(body):
    return parse_produce(body, 3)


def parse_list_offsets_v1(body):
    """[(topic, partition, error, timestamp, offset)]"""
    r = Reader(body)
    out = []
    for _ in range(r.i32()):
        name = r.string()
        for _ in range(r.i32()):
            out.append((name, r.i32(), r.i16(), r.i64(), r.i64()))
    assert r.done(), "bytes left over in ListOffsets v1"
    return out


# -- connections -----------------------------------------------------------------------------


class Conn:
    """A blocking client socket with bounded waits."""

    def __init__(self, port, timeout_s=30.0):
        self.timeout_s = timeout_s
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout_s)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, data):
        self.sock.sendall(data)

    def _recv_exact(self, n):
        buf = bytearray()
        deadline = time.monotonic() + self.timeout_s
        while len(buf) < n:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionError(f"connection closed after {len(buf)} of {n} bytes")
            buf += chunk
        return bytes(buf)

    def recv_frame(self):
        """(correlation_id, rest of the response); rest starts after the v0 header."""
        size = struct.unpack(">i", self._recv_exact(4))[0]
        if size < 4 or size > 64 << 20:
            raise ValueError(f"bad response size {size}")
        payload = self._recv_exact(size)
        return struct.unpack(">i", payload[:4])[0], payload[4:]

    def roundtrip(self, frame):
        self.send(frame)
        return self.recv_frame()

    def closed_by_peer(self, timeout_s=None):
        """True if the broker closes the connection (EOF or reset) within the timeout without
        sending anything; False if it is still open then. Data received is an error."""
        self.sock.settimeout(timeout_s or self.timeout_s)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            return False
        except (ConnectionResetError, BrokenPipeError):
            return True
        if data:
            raise AssertionError(f"expected the connection to be closed, got {data[:64]!r}")
        return True
