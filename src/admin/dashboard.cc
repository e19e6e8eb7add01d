#include "admin/dashboard.h"

#include "admin/dashboard_html.h"  // generated at build time from src/admin/dashboard.html

namespace regiongate::admin {

std::string_view dashboardHtml() {
  return std::string_view(kDashboardHtml, sizeof(kDashboardHtml) - 1);
}

std::string_view dashboardCsp() {
  return "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
         "connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'";
}

}  // namespace regiongate::admin
