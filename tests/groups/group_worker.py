"""One confluent-kafka-python group consumer in its own process, for confluent_groups_test.

Usage: group_worker.py BOOTSTRAP GROUP TOPIC OUT_PATH

Subscribes TOPIC in GROUP and appends one line per event to OUT_PATH, flushed at once so the
test can follow it (and so nothing is lost when the test SIGKILLs the process):
    A <partitions>           partitions assigned (comma-separated)
    R <partitions>           partitions revoked
    M <partition> <offset> <value>
    E <error>                a consumer error
Stops and closes (committing) on SIGTERM.
"""

import signal
import sys

from confluent_kafka import Consumer

bootstrap, group, topic, out_path = sys.argv[1:5]
out = open(out_path, "a", buffering=1)
stopping = False


def on_term(signum, frame):
    global stopping
    stopping = True


signal.signal(signal.SIGTERM, on_term)


def parts(ps):
    return ",".join(str(p.partition) for p in sorted(ps, key=lambda p: p.partition))


c = Consumer({
    "bootstrap.servers": bootstrap,
    "group.id": group,
    "auto.offset.reset": "earliest",
    "enable.auto.commit": True,
    "auto.commit.interval.ms": 500,
    "session.timeout.ms": 6000,
    "heartbeat.interval.ms": 500,
})
c.subscribe([topic], on_assign=lambda c, ps: out.write(f"A {parts(ps)}\n"),
            on_revoke=lambda c, ps: out.write(f"R {parts(ps)}\n"))
while not stopping:
    m = c.poll(0.2)
    if m is None:
        continue
    if m.error():
        out.write(f"E {m.error()}\n")
        continue
    out.write(f"M {m.partition()} {m.offset()} {m.value().decode()}\n")
c.close()
out.write("CLOSED\n")
