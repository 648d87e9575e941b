-- Input corpus for the SQL fingerprint golden test (sql/tests.rs, `golden_fingerprints`).
--
-- Statements are separated by lines holding only `-- next`. Everything before the first separator
-- (this header) is ignored; each statement is trimmed and may span several lines. The expected
-- fingerprints are in fingerprints.expected, regenerated with
--   UPDATE_EXPECT=1 cargo test -p weft-diagnose sql::tests::golden_fingerprints
-- and reviewed by hand: every line there should be what a DBA calls the statement's fingerprint.
-- next
select order0_.id as id1_0_, order0_.customer_id as customer2_0_, order0_.created_at as created_3_0_, order0_.status as status4_0_ from orders order0_ where order0_.status=? and order0_.created_at>? order by order0_.created_at desc limit ?
-- next
select customer0_.id as id1_1_0_, orders1_.id as id1_0_1_, orders1_.customer_id as customer2_0_1_ from customers customer0_ left outer join orders orders1_ on customer0_.id=orders1_.customer_id where customer0_.email=?
-- next
select count(order0_.id) as col_0_0_ from orders order0_ cross join customers customer1_ where order0_.customer_id=customer1_.id and (customer1_.country in (? , ? , ?))
-- next
insert into order_items (order_id, product_id, quantity, unit_price, id) values (?, ?, ?, ?, ?)
-- next
update orders set status=?, updated_at=?, version=? where id=? and version=?
-- next
SELECT "users".* FROM "users" WHERE "users"."id" = $1 LIMIT $2
-- next
SELECT "posts".* FROM "posts" INNER JOIN "taggings" ON "posts"."id" = "taggings"."post_id" WHERE "taggings"."tag_id" IN (12, 15, 99, 104) ORDER BY "posts"."published_at" DESC LIMIT 20 OFFSET 40
-- next
INSERT INTO "events" ("name", "payload", "created_at", "updated_at") VALUES ($1, $2, $3, $4) RETURNING "id"
-- next
SELECT 1 AS one FROM "users" WHERE "users"."email" = 'alice@example.com' LIMIT 1
-- next
SELECT "auth_user"."id", "auth_user"."password", "auth_user"."last_login", "auth_user"."is_superuser", "auth_user"."username" FROM "auth_user" WHERE "auth_user"."username" = %s LIMIT 21
-- next
SELECT "blog_entry"."id", "blog_entry"."headline" FROM "blog_entry" INNER JOIN "blog_blog" ON ("blog_entry"."blog_id" = "blog_blog"."id") WHERE ("blog_blog"."name" = %(name)s AND "blog_entry"."pub_date" >= %(since)s) ORDER BY "blog_entry"."pub_date" DESC
-- next
SELECT * FROM `users` WHERE `users`.`deleted_at` IS NULL AND `id` = 42 ORDER BY `users`.`id` LIMIT 1
-- next
INSERT INTO `products` (`created_at`,`updated_at`,`deleted_at`,`code`,`price`) VALUES ('2024-05-01 10:00:00','2024-05-01 10:00:00',NULL,'D42',100),('2024-05-01 10:00:00','2024-05-01 10:00:00',NULL,'D43',250),('2024-05-01 10:00:00','2024-05-01 10:00:00',NULL,'D44',75)
-- next
UPDATE `products` SET `price`=200,`updated_at`='2024-05-01 10:00:01' WHERE `products`.`deleted_at` IS NULL AND `id` = 7
-- next
SELECT id, name, email FROM user_account WHERE id IN ( ? , ? , ? , ? , ? , ? , ? , ? )
-- next
SELECT u.id, u.name, o.total
FROM users u
INNER JOIN orders o ON o.user_id = u.id
LEFT JOIN payments p ON p.order_id = o.id
RIGHT OUTER JOIN refunds r ON r.payment_id = p.id
FULL OUTER JOIN disputes d ON d.payment_id = p.id
WHERE u.created_at > '2024-01-01'
-- next
SELECT * FROM shop.orders o NATURAL JOIN shop.order_lines CROSS JOIN LATERAL (SELECT max(price) AS top_price FROM shop.prices pr WHERE pr.sku = o.sku) latest
-- next
SELECT a.id FROM accounts a JOIN transfers t USING (account_id) WHERE t.amount > 1000.50
-- next
SELECT * FROM (SELECT customer_id, sum(total) AS spent FROM orders GROUP BY customer_id) AS totals, customers c WHERE totals.customer_id = c.id AND totals.spent > 5000
-- next
SELECT name FROM products p WHERE EXISTS (SELECT 1 FROM order_items oi WHERE oi.product_id = p.id AND oi.quantity >= 10)
-- next
SELECT c.name, (SELECT count(*) FROM orders o WHERE o.customer_id = c.id) AS order_count FROM customers c
-- next
SELECT * FROM invoices WHERE customer_id IN (SELECT id FROM customers WHERE region = 'EMEA') AND amount NOT IN (0, -1)
-- next
WITH recent AS (
  SELECT * FROM orders WHERE created_at > now() - interval '7 days'
), ranked AS (
  SELECT customer_id, count(*) AS n FROM recent GROUP BY customer_id
)
SELECT c.email, r.n FROM ranked r JOIN customers c ON c.id = r.customer_id ORDER BY r.n DESC LIMIT 10
-- next
WITH RECURSIVE tree (id, parent_id, depth) AS (
  SELECT id, parent_id, 0 FROM categories WHERE parent_id IS NULL
  UNION ALL
  SELECT c.id, c.parent_id, t.depth + 1 FROM categories c JOIN tree t ON c.parent_id = t.id
)
SELECT * FROM tree
-- next
WITH moved AS (DELETE FROM queue WHERE run_at < now() RETURNING *) INSERT INTO queue_archive SELECT * FROM moved
-- next
SELECT * FROM t WHERE id IN (1)
-- next
SELECT * FROM t WHERE id IN (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20)
-- next
SELECT * FROM t WHERE (a, b) IN ((1, 'x'), (2, 'y'), (3, 'z'))
-- next
INSERT INTO metrics (ts, name, value) VALUES (1714550400, 'cpu', 0.93), (1714550460, 'cpu', 0.88), (1714550520, 'cpu', 1.2e-3)
-- next
INSERT INTO audit_log (id, actor, created_at) VALUES (DEFAULT, 'bob', now()), (DEFAULT, 'eve', now())
-- next
INSERT INTO page_views (page_id, day, views) VALUES (17, '2024-05-01', 1) ON DUPLICATE KEY UPDATE views = views + VALUES(views)
-- next
INSERT INTO inventory (sku, qty) VALUES ('A-1', 5) ON CONFLICT (sku) DO UPDATE SET qty = inventory.qty + EXCLUDED.qty RETURNING qty
-- next
INSERT INTO sessions (token, user_id) VALUES ($1, $2) ON CONFLICT ON CONSTRAINT sessions_pkey DO NOTHING
-- next
SELECT * FROM events WHERE day = '2024-01-01'::date AND kind = CAST(? AS INT) AND id = $3::bigint
-- next
SELECT payload->>'email' AS email, payload->'address'->>'city', payload #>> '{tags,0}' FROM webhooks WHERE payload @> '{"type": "push"}'::jsonb AND payload ? 'sender'
-- next
SELECT * FROM posts WHERE tags && ARRAY['rust', 'sql'] AND scores[1] > 10 AND id = ANY('{1,2,3}'::int[]) AND owner_id = ANY(ARRAY[4, 5, 6])
-- next
/* controller='orders',action='index' */ SELECT id -- the key
FROM orders # MySQL style comment
WHERE status = 'open' /*! AND 1 = 1 */ /*+ INDEX(orders idx_status) */
-- next
SELECT /*+ MAX_EXECUTION_TIME(1000) */ * FROM logs WHERE level = 'error' AND message LIKE '%timeout%'
-- next
SELECT [Id], [Name] FROM [dbo].[Order Details] WITH (NOLOCK) WHERE [OrderId] = @p1 AND [Qty] > @p2
-- next
SELECT "Order"."Id" FROM "Sales"."Order" WHERE "Order"."Status" <> 'closed'
-- next
SELECT `order`.`key`, `user`.name FROM `order` JOIN `user` ON `user`.id = `order`.user_id
-- next
CREATE OR REPLACE FUNCTION bump(n int) RETURNS int AS $$ BEGIN RETURN n + 1; END; $$ LANGUAGE plpgsql
-- next
SELECT $fn$it's a 'quoted' body$fn$ AS body, E'line\nbreak', N'unicode', X'DEADBEEF', B'1010', 0x1F, 1_000_000
-- next
SELECT * FROM users WHERE name = 'O\'Reilly' AND note = 'a\\' AND title = 'it''s'
-- next
SELECT id FROM jobs WHERE state = 'ready' AND run_at <= now() ORDER BY priority DESC, id LIMIT 1 FOR UPDATE SKIP LOCKED
-- next
SELECT * FROM accounts WHERE id = 5 FOR NO KEY UPDATE NOWAIT
-- next
SELECT id, amount, row_number() OVER (PARTITION BY customer_id ORDER BY created_at DESC) AS rn, sum(amount) OVER (ORDER BY created_at ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) FROM payments
-- next
SELECT id, CASE WHEN amount > 1000 THEN 'large' WHEN amount > 100 THEN 'medium' ELSE 'small' END AS bucket FROM payments WHERE refunded = false
-- next
SELECT id, 'customer' AS kind FROM customers WHERE active = TRUE UNION ALL SELECT id, 'supplier' FROM suppliers UNION SELECT id, 'partner' FROM partners
-- next
CREATE TABLE IF NOT EXISTS orders (id BIGSERIAL PRIMARY KEY, customer_id BIGINT NOT NULL REFERENCES customers(id), total NUMERIC(12, 2) DEFAULT 0, note VARCHAR(255) DEFAULT NULL)
-- next
ALTER TABLE orders ADD COLUMN shipped_at TIMESTAMPTZ
-- next
CREATE UNIQUE INDEX CONCURRENTLY idx_orders_customer ON shop.orders USING btree (customer_id, created_at)
-- next
DROP TABLE IF EXISTS tmp_import, tmp_staging CASCADE
-- next
TRUNCATE TABLE staging_events
-- next
BEGIN
-- next
START TRANSACTION READ WRITE
-- next
COMMIT;
-- next
ROLLBACK
-- next
SET NAMES utf8mb4
-- next
SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED
-- next
SHOW VARIABLES LIKE 'max_connections'
-- next
CALL refresh_stats(42, 'daily');
-- next
{call process_order(?, ?)}
-- next
SELECT * FROM users WHERE name = 'unterminated
-- next
DELETE FROM sessions WHERE expires_at < NOW() - INTERVAL 1 DAY;;
-- next
DELETE FROM orders USING customers WHERE orders.customer_id = customers.id AND customers.banned
-- next
UPDATE orders o SET status = 'stale' FROM customers c WHERE o.customer_id = c.id AND c.deleted_at IS NOT NULL
-- next
UPDATE users u JOIN accounts a ON a.user_id = u.id SET u.balance = a.balance * 1.1 WHERE a.id > 100
-- next
REPLACE INTO kv (k, v) VALUES ('a', '1')
-- next
MERGE INTO target t USING source s ON (t.id = s.id) WHEN MATCHED THEN UPDATE SET t.v = s.v WHEN NOT MATCHED THEN INSERT (id, v) VALUES (s.id, s.v)
-- next
SELECT * FROM generate_series(1, 10) AS g(n) JOIN numbers ON numbers.n = g.n
-- next
SELECT EXTRACT(YEAR FROM created_at) AS y, substring(name FROM 1 FOR 3) FROM signups WHERE a IS DISTINCT FROM b
-- next
SELECT * FROM t WHERE x = -5 AND y = 3 - 2 AND z = (-1.5e10) AND w BETWEEN -10 AND +10
-- next
SELECT * FROM orders WHERE customer_id = :customerId AND status = :1 AND region = ?1
-- next
SELECT @@version, @@session.time_zone
-- next
SELECT * FROM #tmp_orders t JOIN ##global_cache g ON g.id = t.id
-- next
SELECT TOP 10 * FROM dbo.Users ORDER BY CreatedAt DESC
-- next
SELECT id FROM items WHERE id > ? ORDER BY id LIMIT 10, 20
-- next
SELECT COUNT(*) FROM Users WHERE Email LIKE 'A%' GROUP BY Country HAVING COUNT(*) > 5
-- next
select   *
   from   USERS
  where   ID   =   1
-- next
SELECT * FROM orders WHERE created_at >= CURRENT_DATE - 7 AND tenant_id = 'acme' FETCH FIRST 50 ROWS ONLY
-- next
EXPLAIN ANALYZE SELECT * FROM big_table WHERE id = 1
-- next
SELECT * FROM сотрудники WHERE имя = 'Иван'
-- next
SELECT coalesce(sum(amount), 0) FROM ledger WHERE account_id = 9 AND (kind = 'credit' OR kind = 'debit') AND NOT archived
-- next
INSERT INTO t (a, b) SELECT x, y FROM s WHERE s.flag IS TRUE
-- next
LOCK TABLE inventory IN ACCESS EXCLUSIVE MODE
-- next
SELECT id FROM a UNION (SELECT id FROM b WHERE id IN (SELECT id FROM c))
