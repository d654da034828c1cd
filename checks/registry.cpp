#include "checks/registry.h"

#include "checks/disk_check.h"
#include "checks/exec_check.h"
#include "checks/file_check.h"
#include "checks/heartbeat_check.h"
#include "checks/http_check.h"
#include "checks/memory_check.h"
#include "checks/process_check.h"
#include "checks/tcp_check.h"
#include "checks/unit_check.h"

namespace medic::checks {

const std::vector<CheckType>& checkTypes() {
  static const std::vector<CheckType> types = {
      {"http", parseHttpCheck},
      {"tcp", parseTcpCheck},
      {"process", parseProcessCheck},
      {"disk", parseDiskCheck},
      {"memory", parseMemoryCheck},
      {"exec", parseExecCheck},
      {"file", parseFileCheck},
      {"heartbeat", parseHeartbeatCheck},
      {"unit", parseUnitCheck},
  };
  return types;
}

const CheckType* findCheckType(std::string_view name) {
  for (const auto& t : checkTypes())
    if (t.name == name) return &t;
  return nullptr;
}

}  // namespace medic::checks
