"""Consumer groups with confluent-kafka-python (librdkafka 2.0.2) against varve-broker.

- Three consumer processes in one group share a 6-partition topic: every message is delivered
  to exactly one of them while nobody fails. Then one is SIGKILLed: its partitions move to the
  other two once its session times out, and no message is skipped.
- A group commits, the broker restarts (clean, and kill -9 right after the commit was
  acknowledged), and a consumer of the group resumes at the committed offset.

Run: /usr/bin/python3 confluent_groups_test.py <varve-broker binary> [Test.test_name ...]
"""

import os
import signal
import subprocess
import sys
import time

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

import broker_fixture
from broker_fixture import unique_name, wait_until

TIMEOUT_S = 180
WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "group_worker.py")


def create_topic(bootstrap, name, partitions):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for f in admin.create_topics([NewTopic(name, partitions, 1)], request_timeout=30).values():
        f.result(timeout=60)


def produce(bootstrap, topic, values, partitions):
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    failed = []
    for i, v in enumerate(values):
        p.produce(topic, value=v.encode(), partition=i % partitions,
                  on_delivery=lambda err, msg: err and failed.append(err))
    left = p.flush(TIMEOUT_S)
    assert left == 0 and not failed, f"produce: {left} left, errors {failed[:3]}"


class Worker:
    """A group_worker.py process and what it reported."""

    def __init__(self, bootstrap, group, topic, tmp):
        self.path = os.path.join(tmp, f"{unique_name('worker')}.log")
        open(self.path, "w").close()
        self.proc = subprocess.Popen([sys.executable, "-B", WORKER, bootstrap, group, topic,
                                      self.path], stdin=subprocess.DEVNULL)

    def lines(self):
        with open(self.path) as f:
            return [l.rstrip("\n") for l in f if l.endswith("\n")]

    def assignment(self):
        """The partitions held after the last assignment event (empty after a revoke)."""
        held = set()
        for line in self.lines():
            if line.startswith("A "):
                held = {int(p) for p in line[2:].split(",") if p}
            elif line.startswith("R "):
                held = set()
        return held

    def values(self):
        return [l.split(" ", 3)[3] for l in self.lines() if l.startswith("M ")]

    def errors(self):
        return [l for l in self.lines() if l.startswith("E ")]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class ConfluentGroupsTest(broker_fixture.BrokerTestCase):
    BROKER_OVERRIDES = {"group.initial.rebalance.delay.ms": "0",
                        "offsets.topic.num.partitions": "2"}

    def test_three_processes_share_a_topic_and_take_over_from_a_killed_one(self):
        topic, group = unique_name("shared"), unique_name("g")
        create_topic(self.broker.bootstrap, topic, 6)
        tmp = broker_fixture.tmp_root()
        workers = [Worker(self.broker.bootstrap, group, topic, tmp) for _ in range(3)]
        for w in workers:
            self.addCleanup(w.stop)

        def settled(ws):
            held = [w.assignment() for w in ws]
            return (all(held) and sum(len(h) for h in held) == 6
                    and set().union(*held) == set(range(6)))

        wait_until(lambda: settled(workers), TIMEOUT_S, "three members sharing 6 partitions")
        self.assertEqual([len(w.assignment()) for w in workers], [2, 2, 2])  # range

        first = [f"first-{i}" for i in range(600)]
        produce(self.broker.bootstrap, topic, first, 6)
        wait_until(lambda: sum(len(w.values()) for w in workers) >= len(first), TIMEOUT_S,
                   "every message consumed")
        time.sleep(1)  # anything delivered twice would show up now
        got = [v for w in workers for v in w.values()]
        self.assertEqual(sorted(got), sorted(first), "each message exactly once")
        for w in workers:
            self.assertEqual(w.errors(), [])

        # Let the auto commit cover what was consumed, then kill one member outright.
        time.sleep(2)
        victim, survivors = workers[0], workers[1:]
        victim.proc.send_signal(signal.SIGKILL)
        victim.proc.wait(timeout=60)
        second = [f"second-{i}" for i in range(600)]
        produce(self.broker.bootstrap, topic, second, 6)
        wait_until(lambda: settled(survivors), TIMEOUT_S, "the survivors taking all 6 partitions")

        def everything_seen():
            seen = set(v for w in workers for v in w.values())
            return seen.issuperset(first) and seen.issuperset(second)

        wait_until(everything_seen, TIMEOUT_S, "every message of both rounds consumed")
        for w in survivors:
            self.assertEqual(w.errors(), [])

    def _consume(self, group, topic, count, offsets_out=None):
        c = Consumer({"bootstrap.servers": self.broker.bootstrap, "group.id": group,
                      "auto.offset.reset": "earliest", "enable.auto.commit": False,
                      "session.timeout.ms": 6000})
        try:
            c.subscribe([topic])
            got = []
            deadline = time.monotonic() + TIMEOUT_S
            while len(got) < count:
                self.assertLess(time.monotonic(), deadline, f"consumed {len(got)} of {count}")
                m = c.poll(0.5)
                if m is None or m.error():
                    continue
                got.append(m)
            last = got[-1]
            # A synchronous commit: acknowledged means durable.
            c.commit(offsets=[TopicPartition(topic, 0, last.offset() + 1)], asynchronous=False)
            return [m.value().decode() for m in got]
        finally:
            c.close()

    def _resume_after(self, restart):
        topic, group = unique_name("resume"), unique_name("g")
        create_topic(self.broker.bootstrap, topic, 1)
        values = [f"v-{i}" for i in range(100)]
        produce(self.broker.bootstrap, topic, values, 1)
        self.assertEqual(self._consume(group, topic, 40), values[:40])
        restart()
        self.assertEqual(self._consume(group, topic, 60), values[40:])
        c = Consumer({"bootstrap.servers": self.broker.bootstrap, "group.id": group})
        try:
            committed = c.committed([TopicPartition(topic, 0)], timeout=60)
            self.assertEqual(committed[0].offset, 100)
        finally:
            c.close()

    def test_committed_offsets_survive_a_clean_restart(self):
        self._resume_after(lambda: self.broker.restart())

    def test_committed_offsets_survive_kill_9(self):
        def crash():
            self.broker.kill9()
            self.broker.restart()
        self._resume_after(crash)

    def test_uncommitted_group_fetches_minus_one(self):
        topic = unique_name("nocommit")
        create_topic(self.broker.bootstrap, topic, 2)
        c = Consumer({"bootstrap.servers": self.broker.bootstrap, "group.id": unique_name("g")})
        try:
            committed = c.committed([TopicPartition(topic, 0), TopicPartition(topic, 1)],
                                    timeout=60)
            self.assertEqual([tp.offset for tp in committed], [-1001, -1001])  # OFFSET_INVALID
            self.assertTrue(all(tp.error is None for tp in committed))
        finally:
            c.close()

    def test_internal_topic_refuses_produce(self):
        p = Producer({"bootstrap.servers": self.broker.bootstrap, "message.timeout.ms": 30000})
        errors = []
        p.produce("__consumer_offsets", value=b"x", partition=0,
                  on_delivery=lambda err, msg: errors.append(err))
        p.flush(90)
        self.assertEqual(len(errors), 1)
        self.assertIsNotNone(errors[0])
        admin = AdminClient({"bootstrap.servers": self.broker.bootstrap})
        f = admin.delete_topics(["__consumer_offsets"], request_timeout=30)["__consumer_offsets"]
        with self.assertRaises(KafkaException):
            f.result(timeout=60)


if __name__ == "__main__":
    broker_fixture.main()
