#include "broker/errors.h"

#include "absl/strings/str_cat.h"

namespace varve::broker {

std::string ErrorName(int16_t code) {
  switch (code) {
    case -1:
      return "UNKNOWN_SERVER_ERROR";
    case 0:
      return "NONE";
    case 1:
      return "OFFSET_OUT_OF_RANGE";
    case 2:
      return "CORRUPT_MESSAGE";
    case 3:
      return "UNKNOWN_TOPIC_OR_PARTITION";
    case 5:
      return "LEADER_NOT_AVAILABLE";
    case 6:
      return "NOT_LEADER_OR_FOLLOWER";
    case 7:
      return "REQUEST_TIMED_OUT";
    case 10:
      return "MESSAGE_TOO_LARGE";
    case 12:
      return "OFFSET_METADATA_TOO_LARGE";
    case 14:
      return "COORDINATOR_LOAD_IN_PROGRESS";
    case 15:
      return "COORDINATOR_NOT_AVAILABLE";
    case 16:
      return "NOT_COORDINATOR";
    case 17:
      return "INVALID_TOPIC_EXCEPTION";
    case 18:
      return "RECORD_LIST_TOO_LARGE";
    case 21:
      return "INVALID_REQUIRED_ACKS";
    case 22:
      return "ILLEGAL_GENERATION";
    case 23:
      return "INCONSISTENT_GROUP_PROTOCOL";
    case 24:
      return "INVALID_GROUP_ID";
    case 25:
      return "UNKNOWN_MEMBER_ID";
    case 26:
      return "INVALID_SESSION_TIMEOUT";
    case 27:
      return "REBALANCE_IN_PROGRESS";
    case 28:
      return "INVALID_COMMIT_OFFSET_SIZE";
    case 32:
      return "INVALID_TIMESTAMP";
    case 35:
      return "UNSUPPORTED_VERSION";
    case 36:
      return "TOPIC_ALREADY_EXISTS";
    case 37:
      return "INVALID_PARTITIONS";
    case 38:
      return "INVALID_REPLICATION_FACTOR";
    case 39:
      return "INVALID_REPLICA_ASSIGNMENT";
    case 40:
      return "INVALID_CONFIG";
    case 42:
      return "INVALID_REQUEST";
    case 43:
      return "UNSUPPORTED_FOR_MESSAGE_FORMAT";
    case 45:
      return "OUT_OF_ORDER_SEQUENCE_NUMBER";
    case 47:
      return "INVALID_PRODUCER_EPOCH";
    case 56:
      return "KAFKA_STORAGE_ERROR";
    case 74:
      return "FENCED_LEADER_EPOCH";
    case 75:
      return "UNKNOWN_LEADER_EPOCH";
    case 76:
      return "UNSUPPORTED_COMPRESSION_TYPE";
    case 59:
      return "UNKNOWN_PRODUCER_ID";
    case 68:
      return "NON_EMPTY_GROUP";
    case 69:
      return "GROUP_ID_NOT_FOUND";
    case 79:
      return "MEMBER_ID_REQUIRED";
    case 87:
      return "INVALID_RECORD";
    default:
      return absl::StrCat("UNKNOWN_", code);
  }
}

}  // namespace varve::broker
