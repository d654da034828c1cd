// The lists of check types and step kinds come from their registries: what the loader
// says of an unknown name and what the status schema allows follow them, so a new type
// needs no edit anywhere else, and a schema left behind fails here.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "checks/registry.h"
#include "config/loader.h"
#include "recovery/recovery_machine.h"
#include "strategies/cause.h"
#include "strategies/registry.h"
#include "temp_dir.h"

using namespace medic;
using medic::test::TempDir;

namespace {

std::vector<std::string> checkTypeNames() {
  std::vector<std::string> names;
  for (const auto& t : checks::checkTypes()) names.emplace_back(t.name);
  return names;
}

std::vector<std::string> stepNames() {
  std::vector<std::string> names;
  for (const auto& t : strategies::stepTypes()) names.emplace_back(t.name);
  return names;
}

nlohmann::json statusSchema() {
  std::ifstream in(std::string(MEDIC_TESTDATA) + "/../../docs/status.schema.json");
  return nlohmann::json::parse(in);
}

std::string loadErrors(const std::string& yaml) {
  TempDir dir;
  auto result = config::loadConfig(dir.write("medic.yaml", yaml));
  return result.errors.str();
}

}  // namespace

TEST(Registries, TheStatusSchemaAllowsExactlyTheRegisteredCheckTypes) {
  auto types = statusSchema()["$defs"]["checkType"]["enum"].get<std::vector<std::string>>();
  EXPECT_THAT(types, testing::UnorderedElementsAreArray(checkTypeNames()));
}

TEST(Registries, TheStatusSchemaAllowsExactlyTheRegisteredSteps) {
  auto steps = statusSchema()["$defs"]["step"]["enum"].get<std::vector<std::string>>();
  EXPECT_THAT(steps, testing::UnorderedElementsAreArray(stepNames()));
}

TEST(Registries, TheStatusSchemaAllowsExactlyThePhasesCausesAndHealthsThereAre) {
  std::vector<std::string> phases, causes, healths;
  for (auto p : recovery::kPhases) phases.emplace_back(toString(p));
  for (auto c : strategies::causeKindWords()) causes.emplace_back(c);
  for (auto h : {checks::Status::healthy, checks::Status::degraded, checks::Status::unhealthy, checks::Status::unknown})
    healths.emplace_back(checks::toString(h));
  auto defs = statusSchema()["$defs"];
  EXPECT_THAT(defs["phase"]["enum"].get<std::vector<std::string>>(), testing::UnorderedElementsAreArray(phases));
  EXPECT_THAT(defs["cause"]["enum"].get<std::vector<std::string>>(), testing::UnorderedElementsAreArray(causes));
  EXPECT_THAT(defs["health"]["enum"].get<std::vector<std::string>>(), testing::UnorderedElementsAreArray(healths));
  EXPECT_THAT(defs["status"]["enum"].get<std::vector<std::string>>(), testing::UnorderedElementsAreArray(healths));
}

TEST(Registries, AnUnknownCheckTypeIsAnsweredWithEveryRegisteredType) {
  std::string errors = loadErrors(
      "services:\n"
      "  web:\n"
      "    unit: web.service\n"
      "    checks:\n"
      "      - {name: odd, type: zzzzzzzz}\n");
  std::string list;
  for (const auto& n : checkTypeNames()) list += (list.empty() ? "" : ", ") + n;
  EXPECT_THAT(errors, testing::HasSubstr("unknown check type 'zzzzzzzz'; known: " + list));
}

TEST(Registries, AnUnknownStepIsAnsweredWithEveryRegisteredStep) {
  std::string errors = loadErrors(
      "services:\n"
      "  web:\n"
      "    unit: web.service\n"
      "    checks:\n"
      "      - {name: up, type: tcp, host: 127.0.0.1, port: 80}\n"
      "    recovery:\n"
      "      ladder:\n"
      "        - step: zzzzzzzz\n");
  std::string list;
  for (const auto& n : stepNames()) list += (list.empty() ? "" : ", ") + n;
  EXPECT_THAT(errors, testing::HasSubstr("unknown step 'zzzzzzzz'; known: " + list));
}
