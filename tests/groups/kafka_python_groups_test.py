"""kafka-python 2.0.2 group consumers against varve-broker (JoinGroup v2, SyncGroup v1,
Heartbeat v1, OffsetCommit v2, OffsetFetch v1, LeaveGroup v1).

A group consumer with auto commit reads everything; a second run of the same group reads only
the messages produced after the first run.

Run: /usr/bin/python3 kafka_python_groups_test.py <varve-broker binary> [Test.test_name ...]
"""

import time

from kafka import KafkaConsumer, KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic

import broker_fixture
from broker_fixture import unique_name

TIMEOUT_S = 180


class KafkaPythonGroupsTest(broker_fixture.BrokerTestCase):
    BROKER_OVERRIDES = {"group.initial.rebalance.delay.ms": "0",
                        "offsets.topic.num.partitions": "2"}

    def produce(self, topic, values):
        p = KafkaProducer(bootstrap_servers=self.broker.bootstrap, acks=1)
        try:
            for v in values:
                p.send(topic, v.encode()).get(timeout=TIMEOUT_S)
        finally:
            p.close()

    def consume(self, group, topic, count):
        c = KafkaConsumer(topic, bootstrap_servers=self.broker.bootstrap, group_id=group,
                          auto_offset_reset="earliest", enable_auto_commit=True,
                          auto_commit_interval_ms=500, session_timeout_ms=10000,
                          consumer_timeout_ms=1000)
        got = []
        deadline = time.monotonic() + TIMEOUT_S
        try:
            while len(got) < count:
                self.assertLess(time.monotonic(), deadline, f"read {len(got)} of {count}")
                for m in c:  # stops after consumer_timeout_ms without messages
                    got.append(m.value.decode())
            # Nothing beyond what we expect arrives.
            extra = c.poll(timeout_ms=2000)
            got += [m.value.decode() for ms in extra.values() for m in ms]
        finally:
            c.close(autocommit=True)  # commits what was consumed, then LeaveGroup
        return got

    def test_second_run_of_a_group_reads_only_new_messages(self):
        admin = KafkaAdminClient(bootstrap_servers=self.broker.bootstrap)
        topic, group = unique_name("kp"), unique_name("kpg")
        try:
            admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])
        finally:
            admin.close()
        first = [f"a-{i}" for i in range(60)]
        self.produce(topic, first)
        self.assertEqual(sorted(self.consume(group, topic, len(first))), sorted(first))
        second = [f"b-{i}" for i in range(30)]
        self.produce(topic, second)
        self.assertEqual(sorted(self.consume(group, topic, len(second))), sorted(second))


if __name__ == "__main__":
    broker_fixture.main()
