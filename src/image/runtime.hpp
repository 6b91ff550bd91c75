// What the pipeline needs from the process-wide set-up in runtime.cpp.
#pragma once

#include "image/memory_budget.hpp"

namespace photoshare::image {

// The budget shared by every image in flight; sized by initialize(). Call after it.
MemoryBudget& decode_budget();

}  // namespace photoshare::image
