"""kcat -G (librdkafka balanced consumer) against varve-broker: a group consumes and commits,
and a second kcat -G of the same group starts after the first one's commits.

Run: /usr/bin/python3 kcat_groups_test.py <varve-broker binary> [Test.test_name ...]
"""

import subprocess

import broker_fixture
from broker_fixture import unique_name

TIMEOUT_S = 180


class KcatGroupsTest(broker_fixture.BrokerTestCase):
    BROKER_OVERRIDES = {"group.initial.rebalance.delay.ms": "0",
                        "offsets.topic.num.partitions": "2"}

    def kcat(self, *args, stdin=None):
        r = subprocess.run(["kcat", "-b", self.broker.bootstrap, *args], input=stdin,
                           capture_output=True, timeout=TIMEOUT_S)
        self.assertEqual(r.returncode, 0, r.stderr.decode(errors="replace"))
        return r

    def produce(self, topic, lines):
        self.kcat("-P", "-t", topic, "-p", "0", stdin="".join(l + "\n" for l in lines).encode())

    def consume_group(self, group, topic):
        # -e: exit at the end of the partitions; closing commits the consumed offsets.
        r = self.kcat("-G", group, "-X", "auto.offset.reset=earliest", "-e", "-q", topic)
        return r.stdout.decode().splitlines()

    def test_second_kcat_starts_after_the_first_ones_commits(self):
        topic, group = unique_name("kc"), unique_name("kcg")
        first = [f"one-{i}" for i in range(20)]
        self.produce(topic, first)
        self.assertEqual(self.consume_group(group, topic), first)
        second = [f"two-{i}" for i in range(5)]
        self.produce(topic, second)
        self.assertEqual(self.consume_group(group, topic), second)
        # A different group still starts from the beginning.
        self.assertEqual(self.consume_group(unique_name("other"), topic), first + second)


if __name__ == "__main__":
    broker_fixture.main()
