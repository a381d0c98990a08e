-- The 20 newest posts a member may see (own, public, published in the active tenant, their
-- communities'), without blocked authors, with the author's name where readable.
\set t random(0, 49)
SELECT p.id, p.title, pr.display_name
FROM (
  (SELECT id, title, author_id, created_at FROM posts
    WHERE author_id = ('5ca1e000-0002-4000-8000-' || lpad(to_hex((:t)::int * 100 + 5), 12, '0'))::uuid AND deleted_at IS NULL ORDER BY created_at DESC LIMIT 20)
  UNION
  (SELECT id, title, author_id, created_at FROM posts
    WHERE status = 'published' AND visibility = 'public' AND deleted_at IS NULL ORDER BY created_at DESC LIMIT 20)
  UNION
  (SELECT id, title, author_id, created_at FROM posts
    WHERE tenant_id = ('5ca1e000-0001-4000-8000-' || lpad(to_hex((:t)::int), 12, '0'))::uuid AND status = 'published' AND visibility = 'tenant' AND deleted_at IS NULL
    ORDER BY created_at DESC LIMIT 20)
  UNION
  (SELECT cp.id, cp.title, cp.author_id, cp.created_at FROM community_members cm
    CROSS JOIN LATERAL (
      SELECT id, title, author_id, created_at FROM posts
      WHERE community_id = cm.community_id AND status = 'published' AND visibility = 'community'
        AND deleted_at IS NULL
      ORDER BY created_at DESC LIMIT 20) cp
    WHERE cm.user_id = ('5ca1e000-0002-4000-8000-' || lpad(to_hex((:t)::int * 100 + 5), 12, '0'))::uuid
    ORDER BY cp.created_at DESC LIMIT 20)
) p
LEFT JOIN profiles pr ON pr.id = p.author_id AND pr.deleted_at IS NULL
  AND EXISTS (SELECT 1 FROM tenant_members tm WHERE tm.user_id = pr.id AND tm.tenant_id = ('5ca1e000-0001-4000-8000-' || lpad(to_hex((:t)::int), 12, '0'))::uuid)
WHERE p.author_id NOT IN (SELECT blocked_id FROM blocks WHERE blocker_id = ('5ca1e000-0002-4000-8000-' || lpad(to_hex((:t)::int * 100 + 5), 12, '0'))::uuid)
ORDER BY p.created_at DESC, p.id
LIMIT 20;
