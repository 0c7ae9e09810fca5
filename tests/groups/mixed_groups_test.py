"""Mixed clients in one group, as on Kafka (reference §7, pitfall 17): a librdkafka member
(confluent-kafka-python; range,roundrobin) and a kafka-python member (range, roundrobin) share
a topic; a member whose only assignor nobody else has gets INCONSISTENT_GROUP_PROTOCOL rather
than a silent split of the group.

Run: /usr/bin/python3 mixed_groups_test.py <varve-broker binary> [Test.test_name ...]
"""

import threading
import time

from confluent_kafka import Consumer
from confluent_kafka.admin import AdminClient, NewTopic
from kafka import KafkaConsumer
from kafka.coordinator.assignors.roundrobin import RoundRobinPartitionAssignor
from kafka.errors import InconsistentGroupProtocolError

import broker_fixture
from broker_fixture import unique_name, wait_until

TIMEOUT_S = 180


class UniqueAssignor(RoundRobinPartitionAssignor):
    name = "varve-unique-assignor"


class MixedGroupsTest(broker_fixture.BrokerTestCase):
    BROKER_OVERRIDES = {"group.initial.rebalance.delay.ms": "0",
                        "offsets.topic.num.partitions": "2"}

    def test_librdkafka_and_kafka_python_share_and_a_stranger_is_refused(self):
        topic, group = unique_name("mixed"), unique_name("mg")
        admin = AdminClient({"bootstrap.servers": self.broker.bootstrap})
        for f in admin.create_topics([NewTopic(topic, 4, 1)], request_timeout=30).values():
            f.result(timeout=60)

        stop = threading.Event()
        held = {"librdkafka": set(), "kafka-python": set()}
        lock = threading.Lock()
        failures = []

        def librdkafka_member():
            c = Consumer({"bootstrap.servers": self.broker.bootstrap, "group.id": group,
                          "session.timeout.ms": 10000, "heartbeat.interval.ms": 500})

            def assigned(consumer, ps):
                with lock:
                    held["librdkafka"] = {p.partition for p in ps}

            def revoked(consumer, ps):
                with lock:
                    held["librdkafka"] = set()

            try:
                c.subscribe([topic], on_assign=assigned, on_revoke=revoked)
                while not stop.is_set():
                    c.poll(0.2)
            except Exception as e:  # reported to the test thread
                failures.append(e)
            finally:
                c.close()

        def kafka_python_member():
            c = KafkaConsumer(topic, bootstrap_servers=self.broker.bootstrap, group_id=group,
                              session_timeout_ms=10000, heartbeat_interval_ms=500)
            try:
                while not stop.is_set():
                    c.poll(timeout_ms=200)
                    with lock:
                        held["kafka-python"] = {tp.partition for tp in c.assignment()}
            except Exception as e:
                failures.append(e)
            finally:
                c.close()

        threads = [threading.Thread(target=librdkafka_member),
                   threading.Thread(target=kafka_python_member)]
        for t in threads:
            t.start()
        try:
            def shared():
                with lock:
                    a, b = held["librdkafka"], held["kafka-python"]
                    return a and b and not (a & b) and (a | b) == set(range(4))

            wait_until(shared, TIMEOUT_S, "both members holding a share of the 4 partitions")

            stranger = KafkaConsumer(topic, bootstrap_servers=self.broker.bootstrap,
                                     group_id=group, session_timeout_ms=10000,
                                     partition_assignment_strategy=[UniqueAssignor])
            try:
                deadline = time.monotonic() + TIMEOUT_S
                with self.assertRaises(InconsistentGroupProtocolError):
                    while time.monotonic() < deadline:
                        stranger.poll(timeout_ms=500)
            finally:
                stranger.close(autocommit=False)
            # The group was not split: the two members still hold everything between them.
            wait_until(shared, TIMEOUT_S, "the original members still sharing the partitions")
        finally:
            stop.set()
            for t in threads:
                t.join(timeout=120)
        self.assertEqual(failures, [])


if __name__ == "__main__":
    broker_fixture.main()
