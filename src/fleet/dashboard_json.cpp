// The dashboard's JSON API: the fleet now (/api/status, which `photoshare fleet status`
// prints) and every interval kept (/api/history).
#include "fleet/dashboard.hpp"
#include "fleet/servers.hpp"
#include "fleet/support.hpp"

#include <boost/json.hpp>

namespace photoshare::fleet {

namespace {

boost::json::object server_json(const ServerRecord& r, TimePoint now) {
    return boost::json::object{{"name", r.name},
                               {"state", to_string(r.state)},
                               {"pid", r.pid},
                               {"address", r.address},
                               {"haproxy", r.haproxy_status},
                               {"check", r.check_status},
                               {"sessions", r.sessions},
                               {"for_s", seconds(now - r.state_since)},
                               {"why", r.why},
                               {"latency_ms", json_number(r.latency_ms)},
                               {"rps", json_number(r.rps)},
                               {"in_flight", json_number(r.in_flight)},
                               {"cpu_percent", json_number(r.cpu_percent)},
                               {"knob_latency_ms", json_number(r.knob_latency_ms)},
                               {"knob_slots", json_number(r.knob_slots)},
                               {"requests", r.requests},
                               {"failed", r.errors}};
}

// The last 50 events.
boost::json::array events_json(const FleetState& s) {
    boost::json::array events;
    for (auto it = s.events.size() > 50 ? s.events.end() - 50 : s.events.begin(); it != s.events.end(); ++it)
        events.push_back(boost::json::object{{"t", seconds(it->at)}, {"kind", it->kind}, {"message", it->message}});
    return events;
}

boost::json::object totals_json(const LogCounts& t) {
    return boost::json::object{{"requests", t.requests}, {"status_2xx", t.status_2xx}, {"status_3xx", t.status_3xx}, {"status_4xx", t.status_4xx},
                               {"status_5xx", t.status_5xx}, {"failed", t.failed},        {"retries", t.retries}};
}

}  // namespace

std::string Dashboard::status_json(const FleetState& s, const FleetConfig& c, TimePoint now) {
    boost::json::array servers;
    for (const auto& r : s.servers) servers.push_back(server_json(r, now));
    const FleetTick* last = s.ticks.empty() ? nullptr : &s.ticks.back();
    const auto& d = s.last_decision;
    boost::json::object o{{"phase", s.phase},
                          {"t", seconds(now)},
                          {"front", c.haproxy.listen},
                          {"dashboard", c.dashboard.listen},
                          {"state_dir", c.state_dir.string()},
                          {"min", c.servers.min},
                          {"max", c.servers.max},
                          {"desired", s.desired},
                          {"in_service", count_states(s.servers).in_service},
                          {"policy", describe_policy(c.policy)},
                          {"decision", boost::json::object{{"rule", d.rule}, {"reason", d.reason}, {"value", json_number(d.value)}}},
                          {"latency_ms", last ? json_number(last->latency_ms) : boost::json::value(nullptr)},
                          {"rps", last ? json_number(last->rps) : boost::json::value(nullptr)},
                          {"totals", totals_json(s.totals)},
                          {"knobs", knobs_json(s.knobs)},
                          {"scaling_actions", s.actions.size()},
                          {"servers", servers},
                          {"events", events_json(s)}};
    return boost::json::serialize(o);
}

std::string Dashboard::history_json(const FleetState& s) {
    boost::json::array ticks;
    for (const auto& t : s.ticks)
        ticks.push_back(boost::json::object{{"t", seconds(t.at)},
                                            {"desired", t.desired},
                                            {"in_service", t.in_service},
                                            {"starting", t.starting},
                                            {"draining", t.draining},
                                            {"latency_ms", json_number(t.latency_ms)},
                                            {"rps", json_number(t.rps)},
                                            {"requests", t.requests.requests},
                                            {"failed", t.requests.status_5xx + t.requests.failed},
                                            {"rule", t.rule},
                                            {"value", json_number(t.policy_value)}});
    boost::json::array actions;
    for (const auto& a : s.actions) actions.push_back(boost::json::object{{"t", seconds(a.at)}, {"from", a.from}, {"to", a.to}});
    return boost::json::serialize(boost::json::object{{"ticks", ticks}, {"actions", actions}});
}

}  // namespace photoshare::fleet
