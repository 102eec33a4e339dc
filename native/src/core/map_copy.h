// Copy (or add) a map view into another: the one data movement the feature-map
// ops do not cover, for modules that interleave channels of several sources
// (GAB's [xh part, xl part, mask] groups) or sum a gradient read by several.
// Internal to the core.
#pragma once

#include "frugal/context.h"
#include "frugal/feature_map.h"
#include "frugal/status.h"

namespace frugal {

// out = in (add: out += in) over shape; views as in frugal/feature_map.h. The
// caller checked the shape and the pointers.
Status CopyMap(const Context& ctx, const MapShape& shape, MapIn in, MapOut out, bool add);

}  // namespace frugal
