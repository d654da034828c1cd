#include "alerts/alert.h"

#include <spdlog/fmt/fmt.h>

#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <nlohmann/json.hpp>

namespace medic::alerts {

using json = nlohmann::json;

std::string_view toString(Notification::State s) {
  switch (s) {
    case Notification::State::firing: return "firing";
    case Notification::State::resolved: return "resolved";
    case Notification::State::event: return "event";
  }
  return "?";
}

std::string hostName() {
  char buf[256] = {};
  gethostname(buf, sizeof buf - 1);
  return buf;
}

namespace {

std::string upper(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return char(std::toupper(c)); });
  return out;
}

std::string subject(const Notification& n) { return n.service.empty() ? "medic" : n.service; }

std::string prefix(const Notification& n) {
  std::string p;
  if (n.test) p += "[TEST] ";
  if (n.state == Notification::State::resolved) p += "[RESOLVED] ";
  else p += "[" + upper(checks::toString(n.severity)) + "] ";
  if (n.reminder) p += "[STILL FIRING] ";
  if (n.maintenance) p += "[MAINTENANCE] ";
  return p;
}

json toJson(const Notification& n) {
  json held = json::array();
  for (const auto& h : n.heldBack)
    held.push_back({{"id", h.id},
                    {"state", std::string(toString(h.state))},
                    {"alert", h.alert},
                    {"severity", std::string(checks::toString(h.severity))},
                    {"service", h.service},
                    {"summary", h.summary},
                    {"time", isoTime(h.atMs)}});
  json j = {{"version", 1},
            {"id", n.id},
            {"state", std::string(toString(n.state))},
            {"alert", n.alert},
            {"severity", std::string(checks::toString(n.severity))},
            {"host", n.host},
            {"service", n.service},
            {"unit", n.unit},
            {"sink", n.sink},
            {"summary", n.summary},
            {"details", n.details},
            {"time", isoTime(n.atMs)},
            {"maintenance", n.maintenance},
            {"reminder", n.reminder},
            {"test", n.test}};
  if (n.state != Notification::State::event) j["started"] = isoTime(n.startsAtMs);
  j["cause"] = n.why.empty() ? json(nullptr)
                             : json{{"kind", n.why.cause}, {"severity", std::string(checks::toString(n.why.severity))},
                                    {"text", n.why.text}};
  j["journal"] = n.why.journal;
  j["drill"] = n.why.drill;
  j["caused_by"] = n.why.causedBy.empty() ? json(nullptr) : json(n.why.causedBy);
  if (n.isDigest()) j["held_back"] = held;
  return j;
}

// RFC 2047: a header value that is not plain ASCII, as UTF-8 in base64.
std::string encodedWord(const std::string& text) {
  if (std::all_of(text.begin(), text.end(), [](unsigned char c) { return c >= 0x20 && c < 0x7f; })) return text;
  static const char* abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string b64;
  size_t i = 0;
  for (; i + 2 < text.size(); i += 3) {
    uint32_t v = uint8_t(text[i]) << 16 | uint8_t(text[i + 1]) << 8 | uint8_t(text[i + 2]);
    for (int k = 18; k >= 0; k -= 6) b64 += abc[(v >> k) & 63];
  }
  if (i + 1 == text.size()) {
    uint32_t v = uint8_t(text[i]) << 16;
    b64 += abc[(v >> 18) & 63];
    b64 += abc[(v >> 12) & 63];
    b64 += "==";
  } else if (i + 2 == text.size()) {
    uint32_t v = uint8_t(text[i]) << 16 | uint8_t(text[i + 1]) << 8;
    b64 += abc[(v >> 18) & 63];
    b64 += abc[(v >> 12) & 63];
    b64 += abc[(v >> 6) & 63];
    b64 += "=";
  }
  return "=?UTF-8?B?" + b64 + "?=";
}

// Header values come from config and from services' messages: no line breaks in them.
std::string oneLine(std::string s) {
  std::replace_if(s.begin(), s.end(), [](char c) { return c == '\r' || c == '\n'; }, ' ');
  return s;
}

std::string bodyText(const Notification& n) {
  std::string body = headline(n) + "\n\n";
  if (!n.service.empty()) body += "service:  " + n.service + " (" + n.unit + ")\n";
  body += "host:     " + n.host + "\n";
  body += "state:    " + std::string(toString(n.state)) + (n.state == Notification::State::event ? "" : " (" + n.alert + ")") + "\n";
  body += "severity: " + std::string(checks::toString(n.severity)) + "\n";
  body += "time:     " + isoTime(n.atMs) + "\n";
  if (n.state != Notification::State::event) body += "since:    " + isoTime(n.startsAtMs) + "\n";
  if (n.maintenance) body += "note:     the service is paused by an operator (maintenance)\n";
  if (n.why.drill) body += "note:     a DRILL (medic drill): a rehearsed failure, not an outage\n";
  if (!n.why.empty())
    body += "cause:    " + n.why.text + " (" + n.why.cause + ", " + std::string(checks::toString(n.why.severity)) + ")\n";
  if (!n.why.causedBy.empty())
    body += "note:     caused by " + n.why.causedBy + ", which it depends on (depends_on); " + n.why.causedBy +
            "'s own alerts say why\n";
  if (!n.details.empty()) {
    body += "\n";
    for (const auto& d : n.details) body += "  - " + d + "\n";
  }
  if (!n.why.journal.empty()) {
    body += "\nthe unit's journal, last " + std::to_string(n.why.journal.size()) + " lines:\n";
    for (const auto& line : n.why.journal) body += "  " + line + "\n";
  }
  if (n.isDigest()) {
    body += "\nheld back by the rate limit:\n";
    for (const auto& h : n.heldBack) body += "  " + isoTime(h.atMs) + "  " + headline(h) + "\n";
  }
  body += "\n-- \nmedic, notification " + std::to_string(n.id) + "\n";
  return body;
}

}  // namespace

std::string headline(const Notification& n) {
  if (n.isDigest())
    return prefix(n) + n.host + ": " + std::to_string(n.heldBack.size()) + " more notifications held back by the rate limit";
  return prefix(n) + subject(n) + " on " + n.host + ": " + n.summary;
}

std::string webhookJson(const Notification& n) { return toJson(n).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace); }

std::string slackJson(const Notification& n) {
  std::string text = std::string(n.why.drill ? "[DRILL] " : "") + "*" + headline(n) + "*";
  if (!n.why.empty()) text += "\n*Cause:* " + n.why.text;
  if (!n.why.causedBy.empty()) text += "\n*Caused by:* " + n.why.causedBy + " (a dependency)";
  for (const auto& d : n.details) text += "\n• " + d;
  if (!n.why.journal.empty()) {
    std::string lines;
    for (const auto& line : n.why.journal) lines += line + "\n";
    text += "\n```" + lines + "```";
  }
  if (n.isDigest())
    for (const auto& h : n.heldBack) text += "\n• " + headline(h);
  return json{{"text", text}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string emailMessage(const Notification& n, const config::SinkSpec& sink, int64_t nowMs) {
  std::time_t secs = nowMs / 1000;
  struct tm tm {};
  gmtime_r(&secs, &tm);
  char date[64];
  std::strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
  std::string to;
  for (const auto& a : sink.to) to += (to.empty() ? "" : ", ") + a;
  std::string body = bodyText(n);
  // Plain text; lines end in CRLF, and a line that is only "." could end the SMTP DATA early
  // (curl escapes it, but say it simply).
  std::string crlf;
  for (char c : body) crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
  return "Date: " + std::string(date) + "\r\n" +
         "Message-ID: <medic." + std::to_string(n.id) + "." + std::to_string(nowMs) + "@" + oneLine(n.host) + ">\r\n" +
         "From: " + oneLine(sink.from) + "\r\n" + "To: " + oneLine(to) + "\r\n" +
         "Subject: " + encodedWord(oneLine("[medic] " + headline(n))) + "\r\n" +
         "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n" +
         "X-Medic-Notification-Id: " + std::to_string(n.id) + "\r\n" +
         "Auto-Submitted: auto-generated\r\n\r\n" + crlf;
}

std::string alertmanagerJson(const std::vector<Notification>& alerts) {
  json out = json::array();
  for (const auto& n : alerts) {
    json labels = {{"alertname", n.alert}, {"instance", n.host}, {"severity", std::string(checks::toString(n.severity))},
                   {"job", "medic"}};
    if (!n.service.empty()) labels["service"] = n.service;
    if (!n.unit.empty()) labels["unit"] = n.unit;
    if (!n.sink.empty()) labels["sink"] = n.sink;
    if (n.maintenance) labels["maintenance"] = "true";
    if (n.test) labels["test"] = "true";
    if (n.why.drill) labels["drill"] = "true";
    if (!n.why.causedBy.empty()) labels["caused_by"] = n.why.causedBy;  // (for the team's own inhibit rules)
    std::string description;
    for (const auto& d : n.details) description += (description.empty() ? "" : "\n") + d;
    if (n.test) description = "a test from `medic alert test` on " + n.host + ": no action needed";
    json annotations = {{"summary", n.summary}, {"description", description}};
    if (!n.why.empty()) {
      annotations["cause"] = n.why.text;
      // The last lines that fit: an annotation is shown whole in Alertmanager's pages and mails.
      std::string journal;
      for (auto line = n.why.journal.rbegin(); line != n.why.journal.rend(); ++line) {
        if (journal.size() + line->size() + 1 > kAnnotationJournalBytes) break;
        journal.insert(0, *line + (journal.empty() ? "" : "\n"));
      }
      if (!journal.empty()) annotations["journal"] = journal;
    }
    json a = {{"labels", labels},
              {"annotations", annotations},
              {"startsAt", isoTime(n.startsAtMs)}};
    if (n.state == Notification::State::resolved) a["endsAt"] = isoTime(n.atMs);
    out.push_back(a);
  }
  return out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string payloadFor(const config::SinkSpec& sink, const Notification& n) {
  if (sink.type == "webhook") return sink.format == "slack" ? slackJson(n) : webhookJson(n);
  if (sink.type == "email") return emailMessage(n, sink, n.atMs);
  return alertmanagerJson({n});
}

}  // namespace medic::alerts
