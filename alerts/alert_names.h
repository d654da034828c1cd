#pragma once
/// The names of the alerts medic raises itself, through its own sinks (journal, webhook,
/// e-mail, Alertmanager): one place, so the Prometheus rules medic ships are checked against
/// them (the default rules say only what medic cannot say itself: one page per fault).
#include <array>

namespace medic::alerts::names {

inline constexpr const char* kServiceUnhealthy = "MedicServiceUnhealthy";
inline constexpr const char* kServiceDegraded = "MedicServiceDegraded";
inline constexpr const char* kHostUnhealthy = "MedicHostUnhealthy";
inline constexpr const char* kHostDegraded = "MedicHostDegraded";
inline constexpr const char* kRecoveryGaveUp = "MedicRecoveryGaveUp";
inline constexpr const char* kRecoveryBlocked = "MedicRecoveryBlocked";
inline constexpr const char* kServiceFlapping = "MedicServiceFlapping";
inline constexpr const char* kServiceFailedOver = "MedicServiceFailedOver";
inline constexpr const char* kServicePaused = "MedicServicePaused";
inline constexpr const char* kConfigReloadRefused = "MedicConfigReloadRefused";
inline constexpr const char* kSystemdUnreachable = "MedicSystemdUnreachable";
inline constexpr const char* kAlertSinkFailing = "MedicAlertSinkFailing";

/// Every alert medic raises itself.
inline constexpr std::array kOwn = {kServiceUnhealthy,  kServiceDegraded,  kHostUnhealthy,   kHostDegraded,
                                    kRecoveryGaveUp,    kRecoveryBlocked,  kServiceFlapping, kServiceFailedOver,
                                    kServicePaused,     kConfigReloadRefused, kSystemdUnreachable, kAlertSinkFailing};

}  // namespace medic::alerts::names
