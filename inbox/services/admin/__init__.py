"""What the admins' settings pages do: one module per area, each recording its changes in the
audit log (:mod:`inbox.services.admin.audit`). Like every service, nothing here commits."""
