-- 10 posts of the tenant feed, each with its 5 newest comments, their authors, and the
-- comment count.
\set t random(0, 49)
SELECT p.id, p.title, n.total, c.body, pr.display_name
FROM (
  SELECT id, title, created_at FROM posts
  WHERE tenant_id = ('5ca1e000-0001-4000-8000-' || lpad(to_hex((:t)::int), 12, '0'))::uuid AND deleted_at IS NULL
    AND (author_id = ('5ca1e000-0002-4000-8000-' || lpad(to_hex((:t)::int * 100 + 5), 12, '0'))::uuid OR (status = 'published' AND visibility IN ('public', 'tenant')))
  ORDER BY created_at DESC, id LIMIT 10
) p
LEFT JOIN LATERAL (
  SELECT count(*) AS total FROM comments c WHERE c.post_id = p.id AND c.deleted_at IS NULL
) n ON true
LEFT JOIN LATERAL (
  SELECT body, author_id, created_at FROM comments c
  WHERE c.post_id = p.id AND c.deleted_at IS NULL ORDER BY created_at DESC LIMIT 5
) c ON true
LEFT JOIN profiles pr ON pr.id = c.author_id AND pr.deleted_at IS NULL
  AND EXISTS (SELECT 1 FROM tenant_members tm WHERE tm.user_id = pr.id AND tm.tenant_id = ('5ca1e000-0001-4000-8000-' || lpad(to_hex((:t)::int), 12, '0'))::uuid)
ORDER BY p.created_at DESC, p.id, c.created_at DESC;
