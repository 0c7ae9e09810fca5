"""Runs varve-broker for the real-client tests, and runs the tests.

Broker starts the varve-broker binary on 127.0.0.1 with a free port (listeners port 0; the
broker prints the port it bound), a data directory under $TEST_TMPDIR, and its stderr captured
to a file that is printed when a test fails. Every broker started is stopped: by the test's
cleanup, and at exit as a last resort.

main() runs a test module's unittest cases with a per-test time limit and writes one JUnit
<testcase> per test method to $XML_OUTPUT_FILE (Bazel sets it; scripts/count_tests.py counts
the cases from it).

Usage from a test file:
    import broker_fixture
    class MyTest(broker_fixture.BrokerTestCase):   # one broker per class, self.broker
        BROKER_OVERRIDES = {"num.partitions": "1"}
        def test_x(self): ... self.broker.bootstrap ...
    if __name__ == "__main__":
        broker_fixture.main()     # argv[1]: the varve-broker binary (or $VARVE_BROKER)

Only /usr/bin/python3 (3.11) has confluent_kafka and kafka-python; this file needs neither.
"""

import atexit
import os
import re
import resource
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import unittest
import xml.etree.ElementTree as ET

# Generous bounds for a slow, loaded 2-core machine (or an ASan build of the broker).
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 60.0
TEST_TIMEOUT_S = float(os.environ.get("VARVE_CLIENT_TEST_TIMEOUT_S", "420"))

_SERVING = re.compile(
    r"varve-broker: serving Kafka on (\S+):(\d+) \(advertised as (\S+):(\d+)\), data in (.*), "
    r"cluster id (\S+), metrics on port (-?\d+)")
_OPENED = re.compile(r"varve-broker: opened (\d+) partitions, (\d+) recovered after an unclean "
                     r"shutdown")

_BINARY = None
_live_brokers = []  # every Broker with a running process, for atexit and failure reports
_live_lock = threading.Lock()


def broker_binary():
    """The varve-broker binary: argv[1] given to main(), or $VARVE_BROKER."""
    path = _BINARY or os.environ.get("VARVE_BROKER")
    if not path:
        raise RuntimeError("no varve-broker binary: pass it as the first argument or $VARVE_BROKER")
    return os.path.abspath(path)


def tmp_root():
    return os.environ.get("TEST_TMPDIR") or tempfile.gettempdir()


def free_port():
    """A port that was free a moment ago (for tests that must name a port in advance)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout_s, what, interval_s=0.05):
    """Polls predicate() until it is truthy (returns it) or timeout_s passes (AssertionError)."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(interval_s)


class StartInfo:
    """What one start printed: ports, data dir, partitions opened and recovered."""

    def __init__(self):
        self.port = None
        self.advertised_host = None
        self.advertised_port = None
        self.data_dir = None
        self.cluster_id = None
        self.metrics_port = None
        self.partitions_opened = None
        self.partitions_recovered = None


class Broker:
    """One varve-broker process at a time over one data directory.

    start() launches it (port 0 unless told otherwise) and returns once it accepts connections;
    stop() sends SIGTERM and checks for a clean exit; kill9() sends SIGKILL; restart() starts it
    again over the same data directory and, by default, the same port.
    """

    def __init__(self, name="broker", overrides=None, data_dir=None, binary=None, nofile=None):
        self.name = name
        self.nofile = nofile  # (soft, hard) RLIMIT_NOFILE for the broker process, if given
        self.binary = binary or broker_binary()
        self.overrides = dict(overrides or {})
        self.overrides.setdefault("metrics.port", "-1")
        self.data_dir = data_dir or tempfile.mkdtemp(prefix=f"varve-{name}-", dir=tmp_root())
        self.log_dir = tempfile.mkdtemp(prefix=f"varve-{name}-logs-", dir=tmp_root())
        self.proc = None
        self.port = None
        self.info = None
        self.starts = 0
        self.log_paths = []  # stderr of each start, in order
        self._log_file = None

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def bootstrap(self):
        return f"127.0.0.1:{self.port}"

    @property
    def stderr_path(self):
        return self.log_paths[-1] if self.log_paths else None

    def stderr_text(self):
        """The stderr of the current (or last) start."""
        if not self.stderr_path:
            return ""
        with open(self.stderr_path, errors="replace") as f:
            return f.read()

    def all_stderr(self):
        parts = []
        for i, path in enumerate(self.log_paths):
            with open(path, errors="replace") as f:
                parts.append(f"--- {self.name} start #{i + 1} stderr ({path}) ---\n{f.read()}")
        return "\n".join(parts)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def start(self, port=0, extra_overrides=None):
        """Starts the broker on 127.0.0.1:port (0: a free port) and waits until it serves."""
        assert not self.alive(), "broker already running"
        self.starts += 1
        path = os.path.join(self.log_dir, f"stderr.{self.starts}.log")
        self.log_paths.append(path)
        overrides = dict(self.overrides)
        overrides.update(extra_overrides or {})
        overrides["listeners"] = f"PLAINTEXT://127.0.0.1:{port}"
        overrides["log.dirs"] = self.data_dir
        argv = [self.binary]
        for key, value in overrides.items():
            argv += ["--override", f"{key}={value}"]
        self._log_file = open(path, "wb")
        preexec = None
        if self.nofile:
            def preexec():
                resource.setrlimit(resource.RLIMIT_NOFILE, self.nofile)
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self._log_file,
                                     stderr=subprocess.STDOUT, cwd=self.log_dir,
                                     preexec_fn=preexec)
        with _live_lock:
            _live_brokers.append(self)
        try:
            self.info = self._wait_serving()
            self.port = self.info.port
            self._wait_accepting()
        except BaseException:
            self._force_kill()
            raise
        return self.info

    def _wait_serving(self):
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            text = self.stderr_text()
            m = _SERVING.search(text)
            if m:
                info = StartInfo()
                info.port = int(m.group(2))
                info.advertised_host = m.group(3)
                info.advertised_port = int(m.group(4))
                info.data_dir = m.group(5)
                info.cluster_id = m.group(6)
                info.metrics_port = int(m.group(7))
                o = _OPENED.search(text)
                if o:
                    info.partitions_opened = int(o.group(1))
                    info.partitions_recovered = int(o.group(2))
                return info
            code = self.proc.poll()
            if code is not None:
                raise AssertionError(f"{self.name} exited with status {code} while starting:\n"
                                     f"{text}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name} did not report serving within "
                                     f"{START_TIMEOUT_S:.0f} s:\n{text}")
            time.sleep(0.02)

    def _wait_accepting(self):
        def connects():
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.name} exited while starting:\n{self.stderr_text()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=5):
                    return True
            except OSError:
                return False

        wait_until(connects, START_TIMEOUT_S, f"{self.name} to accept connections")

    def stop(self, check=True):
        """SIGTERM, then waits; with check, asserts exit 0 and "stopped cleanly". Returns the
        exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self._force_kill()
            raise AssertionError(f"{self.name} did not stop within {STOP_TIMEOUT_S:.0f} s of "
                                 f"SIGTERM:\n{self.stderr_text()}")
        self._forget()
        if check:
            text = self.stderr_text()
            if code != 0 or "varve-broker: stopped cleanly" not in text:
                raise AssertionError(f"{self.name} did not stop cleanly (exit status {code}):\n"
                                     f"{text}")
        return code

    def kill9(self):
        """SIGKILL; waits for the process to be gone."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=STOP_TIMEOUT_S)
        self._forget()

    def restart(self, same_port=True, extra_overrides=None):
        """Stops the broker if it runs (cleanly) and starts it over the same data directory, on
        the previous port unless same_port is false. The port is retried for a while (another
        process could hold it only briefly)."""
        if self.alive():
            self.stop()
        if not same_port or self.port is None:
            return self.start(0, extra_overrides)
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                return self.start(self.port, extra_overrides)
            except AssertionError as e:
                if "Address already in use" not in str(e) or time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    def close(self):
        """Stops whatever runs, without checks (cleanup paths)."""
        if self.alive():
            try:
                self.stop(check=False)
            except AssertionError:
                pass
        self._force_kill()

    def _force_kill(self):
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.kill()
                try:
                    self.proc.wait(timeout=STOP_TIMEOUT_S)
                except subprocess.TimeoutExpired:
                    pass
            self._forget()

    def _forget(self):
        with _live_lock:
            if self in _live_brokers:
                _live_brokers.remove(self)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None


@atexit.register
def _stop_all_brokers():
    with _live_lock:
        brokers = list(_live_brokers)
    for b in brokers:
        b.close()


_all_brokers = []  # every Broker made through BrokerTestCase, for failure reports


class BrokerTestCase(unittest.TestCase):
    """One broker for the whole class (self.broker / cls.broker), stopped cleanly at the end
    (a test of the class fails if it does not stop cleanly)."""

    BROKER_OVERRIDES = {}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.broker = Broker(name=cls.__name__, overrides=cls.BROKER_OVERRIDES)
        _all_brokers.append(cls.broker)
        cls.addClassCleanup(cls.broker.close)
        cls.broker.start()

    @classmethod
    def tearDownClass(cls):
        if cls.broker.alive():
            cls.broker.stop()  # asserts a clean stop
        super().tearDownClass()

    def new_broker(self, name, overrides=None):
        """A further broker owned by this test (stopped by its cleanup)."""
        b = Broker(name=name, overrides=overrides)
        _all_brokers.append(b)
        self.addCleanup(b.close)
        return b

    def assert_broker_alive(self, broker=None):
        broker = broker or self.broker
        code = broker.proc.poll() if broker.proc else "never started"
        self.assertTrue(broker.alive(), f"broker is not running (status {code}):\n"
                                        f"{broker.stderr_text()}")


def unique_name(prefix):
    """A topic name unique within this process."""
    unique_name.counter += 1
    return f"{prefix}-{os.getpid()}-{unique_name.counter}"


unique_name.counter = 0


def assert_same(got, want, what="messages"):
    """Equal sequences; on a difference names the first differing index (assertEqual's diff of
    thousands of large items takes minutes)."""
    for i, (g, w) in enumerate(zip(got, want)):
        if g != w:
            raise AssertionError(f"{what}: first difference at index {i}: got {str(g)[:200]}, "
                                 f"want {str(w)[:200]}")
    if len(got) != len(want):
        raise AssertionError(f"{what}: got {len(got)}, want {len(want)}")


COMPRESSION_IDS = {"none": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}


def segment_batches(broker, topic, partition=0):
    """(base offset, record count, compression id) of each RecordBatch in the first segment of
    a partition on disk: what a client really sent (librdkafka silently sends uncompressed
    batches when it decides the broker cannot take a codec)."""
    path = os.path.join(broker.data_dir, f"{topic}-{partition}", "0" * 20 + ".log")
    with open(path, "rb") as f:
        data = f.read()
    batches, pos = [], 0
    while pos + 61 <= len(data):
        base, length = struct.unpack_from(">qi", data, pos)
        if length <= 0:
            break
        (attributes,) = struct.unpack_from(">h", data, pos + 21)
        (count,) = struct.unpack_from(">i", data, pos + 57)
        batches.append((base, count, attributes & 7))
        pos += 12 + length
    return batches


# -- running and reporting -------------------------------------------------------------------

class TestTimeout(Exception):
    pass


def _on_alarm(signum, frame):
    raise TestTimeout(f"test exceeded {TEST_TIMEOUT_S:.0f} s")


class _Result(unittest.TextTestResult):
    """Records each test's outcome and time; prints the brokers' stderr after a failure."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.cases = []  # (classname, name, seconds, kind, text); kind: ok/failure/error/skipped
        self._started = {}

    def startTest(self, test):
        self._started[test.id()] = time.monotonic()
        signal.alarm(int(TEST_TIMEOUT_S))
        super().startTest(test)

    def stopTest(self, test):
        signal.alarm(0)
        super().stopTest(test)

    def _record(self, test, kind, text=""):
        started = self._started.get(test.id(), time.monotonic())
        if hasattr(test, "_testMethodName"):
            classname = f"{type(test).__module__}.{type(test).__qualname__}"
            name = test._testMethodName
        else:  # class or module fixture errors: "setUpClass (module.Class)"
            classname, name = "fixture", test.id()
        self.cases.append((classname, name, time.monotonic() - started, kind, text))

    def addSuccess(self, test):
        super().addSuccess(test)
        self._record(test, "ok")

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._record(test, "failure", self._exc_info_to_string(err, test))
        _dump_broker_logs(test)

    def addError(self, test, err):
        super().addError(test, err)
        self._record(test, "error", self._exc_info_to_string(err, test))
        _dump_broker_logs(test)

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is None:
            return
        kind = "failure" if issubclass(err[0], test.failureException) else "error"
        text = f"{subtest.id()}:\n{self._exc_info_to_string(err, test)}"
        for i, case in enumerate(self.cases):  # a second failing subtest of the same test
            if case[1] == test._testMethodName and case[0].endswith(type(test).__qualname__):
                self.cases[i] = case[:3] + ("failure" if "failure" in (kind, case[3]) else kind,
                                            case[4] + "\n" + text)
                return
        self._record(test, kind, text)
        _dump_broker_logs(subtest)

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._record(test, "skipped", reason)

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self._record(test, "ok")

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self._record(test, "failure", "unexpected success")


def _dump_broker_logs(test):
    out = sys.stderr
    out.write(f"\n===== broker stderr after the failure of {test.id()} =====\n")
    for b in _all_brokers:
        text = b.all_stderr()
        lines = text.splitlines()
        if len(lines) > 400:
            lines = lines[:50] + [f"... ({len(lines) - 350} lines left out) ..."] + lines[-300:]
        out.write("\n".join(lines) + "\n")
    out.write("===== end of broker stderr =====\n")
    out.flush()


def write_junit_xml(path, suite_name, cases, total_seconds):
    suites = ET.Element("testsuites")
    failures = sum(1 for c in cases if c[3] == "failure")
    errors = sum(1 for c in cases if c[3] == "error")
    skipped = sum(1 for c in cases if c[3] == "skipped")
    suite = ET.SubElement(suites, "testsuite", name=suite_name, tests=str(len(cases)),
                          failures=str(failures), errors=str(errors), skipped=str(skipped),
                          time=f"{total_seconds:.3f}")
    for classname, name, seconds, kind, text in cases:
        case = ET.SubElement(suite, "testcase", name=name, classname=classname,
                             time=f"{seconds:.3f}")
        if kind in ("failure", "error"):
            first = text.strip().splitlines()[-1] if text.strip() else kind
            el = ET.SubElement(case, kind, message=first[:500])
            el.text = text
        elif kind == "skipped":
            ET.SubElement(case, "skipped", message=text[:500])
    ET.ElementTree(suites).write(path, encoding="utf-8", xml_declaration=True)


def main():
    """Runs the calling module's tests. argv: [varve-broker binary] [unittest names...]."""
    global _BINARY
    args = sys.argv[1:]
    if args and not args[0].startswith("-") and os.path.isfile(args[0]):
        _BINARY = os.path.abspath(args.pop(0))
    broker_binary()  # fail early without one
    signal.signal(signal.SIGALRM, _on_alarm)
    # A SIGTERM from Bazel (timeout) still stops the brokers through atexit.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    module = sys.modules["__main__"]
    loader = unittest.TestLoader()
    if args:
        suite = loader.loadTestsFromNames(args, module)
    else:
        suite = loader.loadTestsFromModule(module)
    runner = unittest.TextTestRunner(stream=sys.stderr, verbosity=2, resultclass=_Result)
    started = time.monotonic()
    result = None
    try:
        result = runner.run(suite)
    finally:
        elapsed = time.monotonic() - started
        cases = result.cases if result is not None else []
        xml_path = os.environ.get("XML_OUTPUT_FILE")
        if xml_path:
            name = os.path.splitext(os.path.basename(module.__file__))[0]
            write_junit_xml(xml_path, name, cases, elapsed)
        _stop_all_brokers()
    passed = sum(1 for c in result.cases if c[3] == "ok")
    failed = sum(1 for c in result.cases if c[3] in ("failure", "error"))
    print(f"{passed} passed, {failed} failed", file=sys.stderr)
    sys.exit(0 if result.wasSuccessful() and failed == 0 else 1)
