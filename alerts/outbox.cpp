#include "alerts/outbox.h"

#include <spdlog/fmt/fmt.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "runtime/saved_file.h"
#include "runtime/text.h"

namespace medic::alerts {

namespace fs = std::filesystem;
using json = nlohmann::json;

std::string Outbox::file(uint64_t seq) const { return fmt::format("{:020d}.json", seq); }

std::vector<OutboxEntry> Outbox::load(std::vector<std::string>& warnings) {
  std::vector<OutboxEntry> out;
  std::error_code ec;
  for (const auto& f : fs::directory_iterator(dir_, ec)) {
    if (f.path().extension() != ".json") continue;
    std::string path = f.path().string();
    SavedFile saved = readSavedFile(path, kOutboxEntryCap);
    std::string why = saved.error;
    if (why.empty()) {
      try {
        json j = json::parse(saved.text);
        OutboxEntry e{savedInteger<uint64_t>(j, "seq", 1, uint64_t(1) << 53), j.at("target").get<std::string>(),
                      savedInteger<int64_t>(j, "created_ms", 0, kMaxSavedTimeMs), savedInteger<uint64_t>(j, "notification"),
                      j.at("headline").get<std::string>(), j.at("payload").get<std::string>()};
        // Its name is its place in the queue; removing it after delivery goes by that name.
        if (file(e.seq) != f.path().filename().string())
          throw std::runtime_error("its seq " + std::to_string(e.seq) + " does not match its name");
        out.push_back(std::move(e));
        continue;
      } catch (const std::exception& e) {
        why = e.what();
      }
    }
    std::string aside = moveAside(path);
    warnings.push_back("cannot read the undelivered alert " + path + " (" + escapeText(why, 300) + "); " +
                       (aside.empty() ? "could not move it aside" : "moved it to " + aside));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.seq < b.seq; });
  if (!out.empty()) nextSeq_ = std::max(nextSeq_, out.back().seq + 1);
  return out;
}

std::string Outbox::add(OutboxEntry& e) {
  e.seq = nextSeq_++;
  json j = {{"seq", e.seq},           {"target", e.target},         {"created_ms", e.createdMs},
            {"notification", e.notification}, {"headline", e.headline}, {"payload", e.payload}};
  return writeAtomically(dir_, file(e.seq), j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

void Outbox::remove(const OutboxEntry& e) { unlink((dir_ + "/" + file(e.seq)).c_str()); }

}  // namespace medic::alerts
