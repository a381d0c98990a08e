-- The same feed restricted to the active tenant.
\set t random(0, 49)
SELECT p.id, p.title, pr.display_name
FROM (
  SELECT id, title, author_id, created_at FROM posts
  WHERE tenant_id = ('5ca1e000-0001-4000-8000-' || lpad(to_hex((:t)::int), 12, '0'))::uuid AND deleted_at IS NULL
    AND (author_id = ('5ca1e000-0002-4000-8000-' || lpad(to_hex((:t)::int * 100 + 5), 12, '0'))::uuid OR (status = 'published' AND visibility IN ('public', 'tenant')))
    AND author_id NOT IN (SELECT blocked_id FROM blocks WHERE blocker_id = ('5ca1e000-0002-4000-8000-' || lpad(to_hex((:t)::int * 100 + 5), 12, '0'))::uuid)
  ORDER BY created_at DESC, id LIMIT 20
) p
LEFT JOIN profiles pr ON pr.id = p.author_id AND pr.deleted_at IS NULL
  AND EXISTS (SELECT 1 FROM tenant_members tm WHERE tm.user_id = pr.id AND tm.tenant_id = ('5ca1e000-0001-4000-8000-' || lpad(to_hex((:t)::int), 12, '0'))::uuid)
ORDER BY p.created_at DESC, p.id;
