-- The private schema of the load-time marts (docs/INTERCHANGE.md, "Extension: load-time marts"):
-- not part of the public contract; rebuilt whole on every publish.
create schema if not exists mart;
