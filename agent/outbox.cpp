#include "agent/outbox.h"

#include <spdlog/fmt/fmt.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "agent/state_store.h"

namespace medic::agent {

namespace fs = std::filesystem;
using json = nlohmann::json;

std::string Outbox::file(uint64_t seq) const { return fmt::format("{:020d}.json", seq); }

std::vector<OutboxEntry> Outbox::load(std::vector<std::string>& warnings) {
  std::vector<OutboxEntry> out;
  std::error_code ec;
  for (const auto& f : fs::directory_iterator(dir_, ec)) {
    if (f.path().extension() != ".json") continue;
    std::ifstream in(f.path());
    std::stringstream text;
    text << in.rdbuf();
    try {
      json j = json::parse(text.str());
      out.push_back({j.at("seq").get<uint64_t>(), j.at("target").get<std::string>(), j.at("created_ms").get<int64_t>(),
                     j.at("notification").get<uint64_t>(), j.at("headline").get<std::string>(),
                     j.at("payload").get<std::string>()});
    } catch (const std::exception& e) {
      fs::rename(f.path(), f.path().string() + ".corrupt", ec);
      warnings.push_back("cannot read the undelivered alert " + f.path().string() + " (" + e.what() + "); moved it aside");
    }
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.seq < b.seq; });
  if (!out.empty()) nextSeq_ = std::max(nextSeq_, out.back().seq + 1);
  return out;
}

std::string Outbox::add(OutboxEntry& e) {
  e.seq = nextSeq_++;
  json j = {{"seq", e.seq},           {"target", e.target},         {"created_ms", e.createdMs},
            {"notification", e.notification}, {"headline", e.headline}, {"payload", e.payload}};
  return writeAtomically(dir_, file(e.seq), j.dump());
}

void Outbox::remove(const OutboxEntry& e) { unlink((dir_ + "/" + file(e.seq)).c_str()); }

}  // namespace medic::agent
