"""varve-broker's Prometheus metrics (docs/broker.md "Metrics") after real clients produce and
consume: requests by API and error, bytes and records in/out per topic, produce/fetch latency
histograms, log offsets and sizes per partition, connections and network bytes.

Run: /usr/bin/python3 metrics_test.py <varve-broker binary> [MetricsTest.test_name ...]
"""

import http.client
import math
import re
import time

from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition

import broker_fixture
import kafka_wire as w
from broker_fixture import unique_name

TIMEOUT_S = 120
_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: \d+)?$')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


class Scrape:
    """A parsed exposition: samples[(name, frozenset(labels))] = value, plus # TYPE lines."""

    def __init__(self, text):
        self.text = text
        self.samples = {}
        self.types = {}
        for line in text.splitlines():
            if not line.strip():
                continue
            if line.startswith("# TYPE "):
                _, _, name, kind = line.split(" ", 3)
                self.types[name] = kind
                continue
            if line.startswith("#"):
                continue
            m = _SAMPLE.match(line)
            if not m:
                raise AssertionError(f"not a Prometheus sample line: {line!r}")
            labels = frozenset(_LABEL.findall(m.group(2) or ""))
            self.samples[(m.group(1), labels)] = float(m.group(3))

    def series(self, name):
        """[(labels dict, value)] of one metric name."""
        return [(dict(labels), v) for (n, labels), v in self.samples.items() if n == name]

    def value(self, name, **labels):
        """The one sample of `name` whose labels include `labels` (values compared
        case-insensitively); AssertionError if none or several."""
        want = {k: str(v).lower() for k, v in labels.items()}
        found = [v for l, v in self.series(name)
                 if all(l.get(k, "").lower() == val for k, val in want.items())]
        if len(found) != 1:
            raise AssertionError(f"{len(found)} samples of {name} with {labels}; all of "
                                 f"{name}: {self.series(name)}")
        return found[0]


class MetricsTest(broker_fixture.BrokerTestCase):
    BROKER_OVERRIDES = {"num.partitions": "1", "metrics.port": "0"}

    def http(self, method, path):
        port = self.broker.info.metrics_port
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            conn.request(method, path)
            resp = conn.getresponse()
            return resp.status, dict(resp.getheaders()), resp.read()
        finally:
            conn.close()

    def scrape(self):
        status, headers, body = self.http("GET", "/metrics")
        self.assertEqual(status, 200)
        self.assertTrue(headers.get("Content-Type", "").startswith("text/plain"), headers)
        return Scrape(body.decode())

    def produce(self, topic, values, partition=0):
        p = Producer({"bootstrap.servers": self.broker.bootstrap, "acks": "all",
                      "linger.ms": 5})
        failures = []
        for v in values:
            p.produce(topic, value=v, partition=partition,
                      on_delivery=lambda err, msg: err and failures.append(err))
            p.poll(0)
        self.assertEqual(p.flush(TIMEOUT_S), 0)
        self.assertEqual(failures, [])

    def consume(self, topic, count, partition=0):
        c = Consumer({"bootstrap.servers": self.broker.bootstrap, "group.id": "unused",
                      "enable.auto.commit": False})
        try:
            c.assign([TopicPartition(topic, partition, OFFSET_BEGINNING)])
            got = 0
            deadline = time.monotonic() + TIMEOUT_S
            while got < count:
                self.assertLess(time.monotonic(), deadline, f"consumed {got} of {count}")
                got += len([m for m in c.consume(1000, 1.0) if not m.error()])
        finally:
            c.close()

    def test_metrics_port_is_reported(self):
        self.assertGreater(self.broker.info.metrics_port, 0, self.broker.stderr_text())

    def test_http_paths(self):
        status, headers, body = self.http("HEAD", "/metrics")
        self.assertEqual(status, 200)
        self.assertEqual(body, b"")
        status, _, _ = self.http("GET", "/nothing-here")
        self.assertEqual(status, 404)
        status, headers, _ = self.http("POST", "/metrics")
        self.assertEqual(status, 405)

    def test_counters_after_producing_and_consuming(self):
        topic = unique_name("metrics")
        other = unique_name("metrics-other")
        values = [b"v%05d-" % i + b"x" * 100 for i in range(3000)]
        self.produce(topic, values)
        self.produce(other, values[:10])
        self.consume(topic, len(values))
        s = self.scrape()

        # Requests by API (the api label names the API).
        for api in ("Produce", "Fetch", "Metadata", "ApiVersions", "ListOffsets"):
            self.assertGreaterEqual(s.value("varve_requests_total", api=api), 1, api)
        self.assertEqual(s.types.get("varve_requests_total"), "counter")

        # Bytes and records in/out per topic.
        self.assertEqual(s.value("varve_records_in_total", topic=topic), len(values))
        self.assertEqual(s.value("varve_records_in_total", topic=other), 10)
        payload = sum(len(v) for v in values)
        self.assertGreaterEqual(s.value("varve_bytes_in_total", topic=topic), payload)
        self.assertGreaterEqual(s.value("varve_records_out_total", topic=topic), len(values))
        self.assertGreaterEqual(s.value("varve_bytes_out_total", topic=topic), payload)
        for name in ("varve_bytes_in_total", "varve_records_in_total", "varve_bytes_out_total",
                     "varve_records_out_total"):
            self.assertEqual(s.types.get(name), "counter", name)

        # Latency histograms.
        for name in ("varve_produce_latency_seconds", "varve_fetch_latency_seconds"):
            self.assertEqual(s.types.get(name), "histogram", name)
            buckets = sorted(((float(l["le"]), v) for l, v in s.series(name + "_bucket")),
                             key=lambda b: b[0])
            self.assertGreater(len(buckets), 3, name)
            self.assertEqual(buckets[-1][0], math.inf, name)
            counts = [v for _, v in buckets]
            self.assertEqual(counts, sorted(counts), f"{name} buckets are cumulative")
            count = s.value(name + "_count")
            self.assertEqual(buckets[-1][1], count, name)
            self.assertGreaterEqual(count, 1, name)
            self.assertGreaterEqual(s.value(name + "_sum"), 0, name)

        # Log offsets and sizes per partition.
        self.assertEqual(s.value("varve_log_end_offset", topic=topic, partition=0), len(values))
        self.assertEqual(s.value("varve_log_end_offset", topic=other, partition=0), 10)
        self.assertEqual(s.value("varve_log_start_offset", topic=topic, partition=0), 0)
        self.assertGreaterEqual(s.value("varve_log_size_bytes", topic=topic, partition=0), payload)
        for name in ("varve_log_end_offset", "varve_log_start_offset", "varve_log_size_bytes"):
            self.assertEqual(s.types.get(name), "gauge", name)

        # Connections and network bytes.
        self.assertGreaterEqual(s.value("varve_connections_accepted_total"), 3)
        self.assertGreaterEqual(s.value("varve_connections"), 0)
        self.assertGreaterEqual(s.value("varve_network_bytes_in_total"), payload)
        self.assertGreaterEqual(s.value("varve_network_bytes_out_total"), payload)

        # Counters only grow: produce more and scrape again.
        self.produce(topic, values[:500])
        s2 = self.scrape()
        self.assertEqual(s2.value("varve_records_in_total", topic=topic), len(values) + 500)
        self.assertEqual(s2.value("varve_log_end_offset", topic=topic, partition=0),
                         len(values) + 500)
        for (name, labels), v in s.samples.items():
            if s.types.get(name) == "counter" and (name, labels) in s2.samples:
                self.assertGreaterEqual(s2.samples[(name, labels)], v, f"{name}{dict(labels)}")

    def test_errors_counted_by_api_and_error(self):
        topic = unique_name("metrics-err")
        with w.Conn(self.broker.port) as c:
            c.roundtrip(w.metadata_request(1, [topic]))
            for i in range(3):  # a partition that does not exist
                corr, body = c.roundtrip(w.produce_request(
                    2 + i, topic, 9, w.record_batch([(None, b"x", [])])))
                self.assertEqual(w.parse_produce_v3(body)[0][2], 3)
        s = self.scrape()
        self.assertGreaterEqual(
            s.value("varve_request_errors_total", api="Produce",
                    error="UNKNOWN_TOPIC_OR_PARTITION"), 3)

    def test_connections_gauge_follows_open_connections(self):
        # Connections closed by earlier clients may take a moment to be noticed: start from
        # a quiet broker (no client of this test class keeps a connection open).
        broker_fixture.wait_until(lambda: self.scrape().value("varve_connections") == 0, 60,
                                  "no open connections")
        conns = [w.Conn(self.broker.port) for _ in range(5)]
        try:
            for i, c in enumerate(conns):  # each one answered, so each is accepted
                self.assertEqual(c.roundtrip(w.api_versions_request(i))[0], i)
            self.assertEqual(self.scrape().value("varve_connections"), 5)
        finally:
            for c in conns:
                c.close()
        broker_fixture.wait_until(lambda: self.scrape().value("varve_connections") == 0, 60,
                                  "the connections gauge to drop after closing")

if __name__ == "__main__":
    broker_fixture.main()
