// Per-request metrics: counts by route, method and status; latency by route; bytes.
#pragma once

#include "http/server.hpp"
#include "metrics/metrics.hpp"

namespace photoshare::app {

void observe_request(metrics::Registry& registry, const http::Completed& c);

}  // namespace photoshare::app
