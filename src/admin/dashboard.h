#pragma once
// The operator dashboard served by the admin listener at `/` (docs/operations.md "Dashboard").
// The page lives in src/admin/dashboard.html (HTML, CSS and JS in one file, nothing external);
// the build embeds it into the binary (regiongate_embed in CMakeLists.txt). The page itself fetches
// /metrics and /admin/status from the same admin origin and renders per jurisdiction and region.
#include <string_view>

namespace regiongate::admin {

// The whole page. Lifetime: static storage; thread-safe.
std::string_view dashboardHtml();

// Content-Security-Policy sent with the page: inline script/style only, fetches to the same
// origin only, so the page cannot load anything from the internet even if edited to try.
std::string_view dashboardCsp();

}  // namespace regiongate::admin
