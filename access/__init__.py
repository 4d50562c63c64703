"""Read path shared by pages, downloads, exports and reports: roles and school
scope, small-cell suppression, safe file output, accounts and the audit log.
Nothing leaves the warehouse another way."""
