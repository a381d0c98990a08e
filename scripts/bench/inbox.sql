-- A member's 20 newest unread notifications with the unread count.
\set t random(0, 49)
SELECT id, title, count(*) OVER () AS total
FROM notifications
WHERE user_id = ('5ca1e000-0002-4000-8000-' || lpad(to_hex((:t)::int * 100 + 5), 12, '0'))::uuid AND read_at IS NULL
ORDER BY created_at DESC, id
LIMIT 20;
