"""Views: JSON for WeChat users (api/), pages for staff (admin/), health checks."""
