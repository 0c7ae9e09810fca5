// varve-broker: a Kafka-compatible broker over the varve engine (docs/broker.md).
//
//   varve-broker [--config server.properties] [--override key=value]...
//
// With no arguments: a single node on 127.0.0.1:9092 with data in ./varve-data and metrics on
// http://127.0.0.1:9464/metrics. SIGTERM or SIGINT shuts down cleanly (the next start scans no
// segment data). Exit status: 0 after a clean shutdown, 1 when starting or stopping fails, 2 for
// bad arguments or configuration.

#include <signal.h>
#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "broker/broker.h"
#include "broker/broker_config.h"
#include "broker/properties.h"

namespace {

constexpr char kUsage[] =
    "usage: varve-broker [--config FILE] [--override key=value]...\n"
    "  --config FILE          Kafka-style server.properties (docs/broker.md lists the keys)\n"
    "  --override key=value   set one key, after the file; may be repeated\n";

int Fail(int code, const std::string& message) {
  std::fprintf(stderr, "varve-broker: %s\n", message.c_str());
  return code;
}

// Every open partition holds descriptors (three for its active segment, more for sealed
// segments being read, plus one per connection), and distributions often start processes with
// a soft limit of 1024: raise the soft limit to the hard one, as Kafka's operators are told to
// do by hand. Says what it did; warns when the result is still small.
void RaiseOpenFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  constexpr rlim_t kEnough = rlim_t{1} << 20;
  const rlim_t want = limit.rlim_max == RLIM_INFINITY ? kEnough : std::min(limit.rlim_max, kEnough);
  const rlim_t before = limit.rlim_cur;
  if (before != RLIM_INFINITY && before < want) {
    limit.rlim_cur = want;
    if (setrlimit(RLIMIT_NOFILE, &limit) == 0) {
      std::fprintf(stderr, "varve-broker: open-file limit raised from %llu to %llu\n",
                   static_cast<unsigned long long>(before), static_cast<unsigned long long>(want));
    } else {
      limit.rlim_cur = before;
    }
  }
  if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < 4096) {
    std::fprintf(stderr,
                 "varve-broker: warning: the open-file limit is %llu (hard limit %llu): each "
                 "partition needs at least 3 descriptors; raise it (ulimit -n, LimitNOFILE=)\n",
                 static_cast<unsigned long long>(limit.rlim_cur),
                 static_cast<unsigned long long>(limit.rlim_max));
  }
}

}  // namespace

int main(int argc, char** argv) {
  using varve::broker::Property;
  std::vector<Property> props;
  std::vector<Property> overrides;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&](const std::string& flag) -> const char* {
      if (arg.rfind(flag + "=", 0) == 0) return argv[i] + flag.size() + 1;
      if (arg == flag && i + 1 < argc) return argv[++i];
      return nullptr;
    };
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (arg.rfind("--config", 0) == 0) {
      const char* path = value("--config");
      if (!path) return Fail(2, std::string("--config needs a file\n") + kUsage);
      std::ifstream in(path);
      if (!in)
        return Fail(2,
                    std::string("cannot read config file ") + path + ": " + std::strerror(errno));
      std::stringstream text;
      text << in.rdbuf();
      auto parsed = varve::broker::ParseProperties(text.str(), path);
      if (!parsed.ok()) return Fail(2, std::string(parsed.status().message()));
      props.insert(props.end(), parsed->begin(), parsed->end());
    } else if (arg.rfind("--override", 0) == 0) {
      const char* kv = value("--override");
      if (!kv) return Fail(2, std::string("--override needs key=value\n") + kUsage);
      auto p = varve::broker::ParseOverride(kv);
      if (!p.ok()) return Fail(2, std::string(p.status().message()));
      overrides.push_back(*p);
    } else {
      return Fail(2, "unknown argument \"" + arg + "\"\n" + kUsage);
    }
  }
  props.insert(props.end(), overrides.begin(), overrides.end());
  auto config = varve::broker::BrokerConfig::FromProperties(props);
  if (!config.ok()) return Fail(2, std::string(config.status().message()));

  // Block the shutdown signals before any thread starts, so only sigwait sees them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  RaiseOpenFileLimit();
  auto broker = varve::broker::Broker::Start(*config);
  if (!broker.ok()) return Fail(1, "cannot start: " + std::string(broker.status().message()));
  for (const std::string& w : (*broker)->warnings()) {
    std::fprintf(stderr, "varve-broker: warning: %s\n", w.c_str());
  }
  std::fprintf(stderr,
               "varve-broker: opened %d partitions, %d recovered after an unclean shutdown\n",
               (*broker)->topics().partitions_opened(), (*broker)->topics().partitions_recovered());
  std::fprintf(stderr,
               "varve-broker: serving Kafka on %s:%d (advertised as %s:%d), data in %s, "
               "cluster id %s, metrics on port %d\n",
               config->listener.host.c_str(), (*broker)->port(), config->advertised.host.c_str(),
               config->advertised_explicit ? config->advertised.port : (*broker)->port(),
               config->data_dir.c_str(), (*broker)->cluster_id().c_str(),
               (*broker)->metrics_port());
  std::fflush(stderr);

  int sig = 0;
  sigwait(&signals, &sig);
  std::fprintf(stderr, "varve-broker: %s received, shutting down\n", strsignal(sig));
  absl::Status stopped = (*broker)->Stop();
  if (!stopped.ok()) return Fail(1, "shutdown failed: " + std::string(stopped.message()));
  std::fprintf(stderr, "varve-broker: stopped cleanly\n");
  return 0;
}
