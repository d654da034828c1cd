// An undelivered alert's file as read back after a crash: it is either loaded whole or
// moved aside with a warning that says why, never a crash, and never left in place to
// be tripped over again.
#include <filesystem>

#include "alerts/outbox.h"
#include "fuzz_support.h"

using namespace medic;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string dir = fuzz::scratchDir();
  std::string name = "00000000000000000007.json";
  fuzz::writeFile(dir + "/" + name, {reinterpret_cast<const char*>(data), size});
  alerts::Outbox outbox(dir);
  std::vector<std::string> warnings;
  auto entries = outbox.load(warnings);
  if (entries.size() + warnings.size() != 1) fuzz::broken("one file gave no entry and no warning, or more than one");
  if (!warnings.empty() && std::filesystem::exists(dir + "/" + name)) fuzz::broken("an unreadable file was left in place");
  if (!entries.empty()) {
    // The queue goes on after it: the next alert gets the next number.
    alerts::OutboxEntry next;
    if (!outbox.add(next).empty()) fuzz::broken("cannot add after a loaded entry");
    if (next.seq != entries[0].seq + 1) fuzz::broken("the next alert does not follow the loaded one");
  }
  return 0;
}
