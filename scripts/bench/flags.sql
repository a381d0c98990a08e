-- Effective flags of a member: the active tenant's row over the global one.
\set t random(0, 49)
SELECT DISTINCT ON (key) key, enabled, rollout_percent
FROM feature_flags
WHERE tenant_id = ('5ca1e000-0001-4000-8000-' || lpad(to_hex((:t)::int), 12, '0'))::uuid OR tenant_id IS NULL
ORDER BY key, tenant_id NULLS LAST;
