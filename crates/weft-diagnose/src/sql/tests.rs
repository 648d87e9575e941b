use super::*;

use expect_test::expect_file;

/// The golden corpus: statements separated by lines holding only `-- next` (see the file's header).
const CORPUS: &str = include_str!("testdata/statements.sql");

fn corpus_statements() -> Vec<&'static str> {
    let mut statements = Vec::new();
    let mut in_header = true;
    let mut start = 0;
    let mut offset = 0;
    for line in CORPUS.split_inclusive('\n') {
        if line.trim_end() == "-- next" {
            if !in_header {
                statements.push(CORPUS[start..offset].trim());
            }
            in_header = false;
            start = offset + line.len();
        }
        offset += line.len();
    }
    if !in_header {
        statements.push(CORPUS[start..].trim());
    }
    statements.retain(|statement| !statement.is_empty());
    statements
}

fn text(statement: &str) -> String {
    fingerprint_sql(statement).text
}

#[test]
fn golden_fingerprints() {
    let statements = corpus_statements();
    assert!(
        statements.len() >= 60,
        "corpus too small: {}",
        statements.len()
    );
    let mut golden = String::new();
    for statement in statements {
        let fingerprint = fingerprint_sql(statement);
        let tables = if fingerprint.tables.is_empty() {
            "-".to_string()
        } else {
            fingerprint.tables.join(", ")
        };
        golden.push_str(statement);
        golden.push_str("\n=> ");
        golden.push_str(&fingerprint.text);
        golden.push_str(" | ");
        golden.push_str(&fingerprint.operation);
        golden.push_str(" | ");
        golden.push_str(&tables);
        golden.push_str("\n\n");
    }
    expect_file!["testdata/fingerprints.expected"].assert_eq(&golden);
}

#[test]
fn corpus_fingerprints_are_fixed_points() {
    for statement in corpus_statements() {
        let once = text(statement);
        assert_eq!(text(&once), once, "not idempotent for {statement:?}");
    }
}

#[test]
fn literal_values_do_not_matter() {
    let groups: &[&[&str]] = &[
        &[
            "SELECT * FROM users WHERE id = 1",
            "SELECT * FROM users WHERE id = 982734",
            "SELECT * FROM users WHERE id = -3",
            "SELECT * FROM users WHERE id = 1.5e3",
            "SELECT * FROM users WHERE id = 0xFF",
            "SELECT * FROM users WHERE id = 'abc'",
            "SELECT * FROM users WHERE id = E'a\\'b'",
            "SELECT * FROM users WHERE id = $$dollar$$",
            "SELECT * FROM users WHERE id = NULL",
        ],
        &[
            "SELECT * FROM t WHERE a IN (1)",
            "SELECT * FROM t WHERE a IN (1, 2, 3)",
            "SELECT * FROM t WHERE a IN ('x', 'y')",
            "SELECT * FROM t WHERE a IN (?, ?, ?, ?)",
            "SELECT * FROM t WHERE a IN ($1, $2)",
            "SELECT * FROM t WHERE a IN(-1,2)",
        ],
        &[
            "INSERT INTO t (a, b) VALUES (1, 'x')",
            "INSERT INTO t (a, b) VALUES (1, 'x'), (2, 'y'), (3, 'z')",
            "insert into t(a,b) values(?,?),(?,?)",
        ],
        &[
            "SELECT a FROM t WHERE b = 1",
            "select   a\n\tfrom T  where B=1;",
            "SELECT a /* why */ FROM t -- trailing\n WHERE b = 1",
            "SeLeCt a FrOm t WhErE b = 1 ;",
            "SELECT a FROM t # mysql comment\nWHERE b = 1",
        ],
        &[
            "SELECT * FROM t LIMIT 10 OFFSET 20",
            "SELECT * FROM t LIMIT 1 OFFSET 0",
            "SELECT * FROM t LIMIT ? OFFSET ?",
        ],
    ];
    for group in groups {
        let expected = fingerprint_sql(group[0]);
        for statement in &group[1..] {
            let fingerprint = fingerprint_sql(statement);
            assert_eq!(fingerprint, expected, "{statement:?} vs {:?}", group[0]);
            assert_eq!(
                fingerprint_hash(&fingerprint.text),
                fingerprint_hash(&expected.text)
            );
        }
    }
}

#[test]
fn structure_matters() {
    let distinct = [
        "SELECT * FROM users WHERE id = 1",
        "SELECT * FROM accounts WHERE id = 1",
        "SELECT * FROM users WHERE email = 1",
        "SELECT id FROM users WHERE id = 1",
        "SELECT * FROM users WHERE id > 1",
        "SELECT * FROM users WHERE id IS NULL",
        "SELECT * FROM users WHERE id IS NOT NULL",
        "SELECT * FROM users WHERE id IN (SELECT user_id FROM bans)",
        "SELECT * FROM users WHERE id = 1 LIMIT 1",
        "SELECT * FROM shop.users WHERE id = 1",
        "SELECT * FROM \"Users\" WHERE id = 1",
        "DELETE FROM users WHERE id = 1",
    ];
    for (i, a) in distinct.iter().enumerate() {
        for b in &distinct[i + 1..] {
            let (fa, fb) = (text(a), text(b));
            assert_ne!(fa, fb, "{a:?} and {b:?} collapsed");
            assert_ne!(fingerprint_hash(&fa), fingerprint_hash(&fb));
        }
    }
}

#[test]
fn placeholder_styles_are_equivalent() {
    let expected = "SELECT * FROM t WHERE a = ? AND b = ?";
    for statement in [
        "SELECT * FROM t WHERE a = ? AND b = ?",
        "SELECT * FROM t WHERE a = $1 AND b = $2",
        "SELECT * FROM t WHERE a = :a AND b = :b_2",
        "SELECT * FROM t WHERE a = :1 AND b = :2",
        "SELECT * FROM t WHERE a = @p1 AND b = @p2",
        "SELECT * FROM t WHERE a = %s AND b = %s",
        "SELECT * FROM t WHERE a = %(a)s AND b = %(b)s",
        "SELECT * FROM t WHERE a = ?1 AND b = ?2",
        "SELECT * FROM t WHERE a = 'x' AND b = 2",
    ] {
        assert_eq!(text(statement), expected, "{statement:?}");
    }
}

#[test]
fn operation_and_tables() {
    let cases: &[(&str, &str, &[&str])] = &[
        ("select * from Users", "SELECT", &["users"]),
        (
            "SELECT * FROM a, b AS bb, c cc WHERE a.id = b.id",
            "SELECT",
            &["a", "b", "c"],
        ),
        (
            "SELECT * FROM a JOIN b ON a.x = b.x LEFT JOIN a ON true",
            "SELECT",
            &["a", "b"],
        ),
        (
            "SELECT * FROM \"Shop\".\"Orders\"",
            "SELECT",
            &["Shop.Orders"],
        ),
        (
            "SELECT * FROM `db`.`t1`, [dbo].[Order Details]",
            "SELECT",
            &["db.t1", "dbo.Order Details"],
        ),
        ("INSERT INTO t (a) VALUES (1)", "INSERT", &["t"]),
        ("INSERT INTO t SELECT * FROM s", "INSERT", &["t", "s"]),
        (
            "UPDATE t SET a = 1 WHERE b IN (SELECT b FROM u)",
            "UPDATE",
            &["t", "u"],
        ),
        ("DELETE FROM t WHERE id = 1", "DELETE", &["t"]),
        ("REPLACE INTO t VALUES (1)", "REPLACE", &["t"]),
        (
            "MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE",
            "MERGE",
            &["t", "s"],
        ),
        (
            "CREATE TABLE t (id int REFERENCES u(id))",
            "CREATE",
            &["t", "u"],
        ),
        ("CREATE INDEX i ON t (a)", "CREATE", &["t"]),
        ("CREATE VIEW v AS SELECT * FROM t", "CREATE", &["v", "t"]),
        ("ALTER TABLE t ADD COLUMN c int", "ALTER", &["t"]),
        ("DROP TABLE IF EXISTS a, b", "DROP", &["a", "b"]),
        ("TRUNCATE t", "TRUNCATE", &["t"]),
        ("TRUNCATE TABLE ONLY t", "TRUNCATE", &["t"]),
        ("BEGIN", "BEGIN", &[]),
        ("START TRANSACTION", "BEGIN", &[]),
        ("COMMIT", "COMMIT", &[]),
        ("ROLLBACK", "ROLLBACK", &[]),
        ("SET NAMES utf8mb4", "SET", &[]),
        ("SHOW TABLES", "SHOW", &[]),
        ("CALL p(1)", "CALL", &[]),
        (
            "WITH c AS (SELECT * FROM t) SELECT * FROM c",
            "SELECT",
            &["t"],
        ),
        (
            "WITH c AS (SELECT 1) UPDATE t SET a = 1 FROM c",
            "UPDATE",
            &["t"],
        ),
        (
            "WITH c AS (SELECT 1) DELETE FROM t USING c",
            "DELETE",
            &["t"],
        ),
        (
            "(SELECT 1 FROM a) UNION (SELECT 2 FROM b)",
            "SELECT",
            &["a", "b"],
        ),
        ("VALUES (1), (2)", "OTHER", &[]),
        ("EXPLAIN SELECT * FROM t", "OTHER", &["t"]),
        ("", "OTHER", &[]),
        (
            "SELECT * FROM unnest(?) AS u(id) JOIN t ON t.id = u.id",
            "SELECT",
            &["t"],
        ),
        ("SELECT extract(epoch FROM ts) FROM t", "SELECT", &["t"]),
        ("SELECT array(SELECT id FROM t)", "SELECT", &["t"]),
        ("SELECT * FROM t FOR UPDATE", "SELECT", &["t"]),
        (
            "INSERT INTO t (a) VALUES (1) ON DUPLICATE KEY UPDATE a = 2",
            "INSERT",
            &["t"],
        ),
        (
            "BEGIN; UPDATE a SET x = 1; UPDATE b SET y = 2; COMMIT",
            "BEGIN",
            &["a", "b"],
        ),
    ];
    for (statement, operation, tables) in cases {
        let fingerprint = fingerprint_sql(statement);
        assert_eq!(fingerprint.operation, *operation, "{statement:?}");
        assert_eq!(fingerprint.tables, *tables, "{statement:?}");
    }
}

#[test]
fn text_details() {
    let cases = [
        (
            "SELECT * FROM t WHERE a IN (SELECT b FROM u WHERE c IN (1, 2))",
            "SELECT * FROM t WHERE a IN (SELECT b FROM u WHERE c IN (?+))",
        ),
        (
            "SELECT * FROM t WHERE a IN (1, b)",
            "SELECT * FROM t WHERE a IN (?, b)",
        ),
        (
            "SELECT * FROM t WHERE a IN ()",
            "SELECT * FROM t WHERE a IN ()",
        ),
        ("SELECT ARRAY[[1, 2], [3, 4]]", "SELECT ARRAY[?+]"),
        (
            "INSERT INTO t VALUES (1, now()), (2, now())",
            "INSERT INTO t VALUES (?, now())",
        ),
        (
            "INSERT INTO t VALUES (1, now()), (2, 3)",
            "INSERT INTO t VALUES (?, now()), (?+)",
        ),
        (
            "SELECT a-1, a - -1, -a, 2*-3",
            "SELECT a - ?, a - ?, - a, ? * ?",
        ),
        (
            "SELECT `order` FROM `Order`",
            "SELECT \"order\" FROM \"Order\"",
        ),
        (
            "SELECT \"a\"\"b\" FROM [x]]y]",
            "SELECT \"a\"\"b\" FROM \"x]y\"",
        ),
        (
            "SELECT t.key, key.value FROM t",
            "SELECT t.key, key.value FROM t",
        ),
        (
            "SELECT x::numeric(10,2), y::text[]",
            "SELECT x::numeric(?, ?), y::text[]",
        ),
        ("SELECT arr[1:2] FROM t", "SELECT arr[? : ?] FROM t"),
        ("SELECT 1;;", "SELECT ?"),
        ("SELECT 1; SELECT 2;", "SELECT ?; SELECT ?"),
        ("SELECT 'unterminated", "SELECT ?"),
        ("SELECT \"unterminated", "SELECT ?"),
        ("SELECT 1 /* unterminated", "SELECT ?"),
        ("SELECT $tag$ unterminated", "SELECT ?"),
        (
            "WHERE a IS NULL AND b IS NOT TRUE AND c = FALSE",
            "WHERE a IS NULL AND b IS NOT TRUE AND c = ?",
        ),
        (
            "SELECT count(*), COUNT( DISTINCT x ) FROM t",
            "SELECT count(*), count(DISTINCT x) FROM t",
        ),
    ];
    for (statement, expected) in cases {
        assert_eq!(text(statement), expected, "{statement:?}");
    }
}

#[test]
fn long_input_is_cut_at_a_char_boundary() {
    // 'é' is two bytes: with the one-byte prefix, the 64 KiB mark falls inside a character.
    let mut statement = String::from("SELECT * FROM t WHERE a IN (");
    while statement.len() < 3 * MAX_STATEMENT_BYTES {
        statement.push_str("'é', ");
    }
    statement.push_str("'x') AND é = 1");
    let fingerprint = fingerprint_sql(&statement);
    // The list is cut off before its `)`, so it does not collapse, but every item is a `?`.
    assert!(fingerprint
        .text
        .starts_with("SELECT * FROM t WHERE a IN (?, ?, "));
    assert!(fingerprint.text.len() <= MAX_STATEMENT_BYTES);
    assert_eq!(fingerprint.tables, ["t"]);

    let odd = format!("SELECT {}", "é".repeat(MAX_STATEMENT_BYTES));
    let cut = fingerprint_sql(&odd);
    assert!(cut.text.len() <= MAX_STATEMENT_BYTES);
}

#[test]
fn deep_nesting_does_not_break_anything() {
    let depth = 10_000;
    let statement = format!(
        "SELECT * FROM t WHERE a IN {}1{}",
        "(".repeat(depth),
        ")".repeat(depth)
    );
    let fingerprint = fingerprint_sql(&statement);
    assert!(fingerprint
        .text
        .starts_with("SELECT * FROM t WHERE a IN (("));
    assert_eq!(fingerprint.tables, ["t"]);
    let reversed = format!("SELECT {}{}", ")".repeat(depth), "(".repeat(depth));
    fingerprint_sql(&reversed);
}

#[test]
fn hash_is_fnv1a_64() {
    assert_eq!(fingerprint_hash(""), 0xcbf2_9ce4_8422_2325);
    assert_eq!(fingerprint_hash("a"), 0xaf63_dc4c_8601_ec8c);
    assert_eq!(fingerprint_hash("foobar"), 0x8594_4171_f739_67e8);
}

#[test]
fn keyword_table_finds_every_keyword() {
    for (text, kw) in KEYWORD_TEXTS.iter().zip(Kw::ALL) {
        assert_eq!(kw.as_str(), *text);
        assert_eq!(lookup_keyword(text), Some(*kw), "{text}");
        assert_eq!(
            lookup_keyword(&text.to_ascii_lowercase()),
            Some(*kw),
            "{text}"
        );
    }
    let mut sorted = KEYWORD_TEXTS.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), KEYWORD_TEXTS.len(), "duplicate keyword");
    for word in [
        "users",
        "selec",
        "selects",
        "",
        "é",
        "x".repeat(100).as_str(),
    ] {
        assert_eq!(lookup_keyword(word), None, "{word}");
    }
}

#[test]
fn operator_scanner_knows_every_operator() {
    for op in MULTI_CHAR_OPERATORS {
        let text = format!("{op}x");
        assert_eq!(Lexer::new(&text).scan_operator(0), op.len(), "{op}");
    }
    for op in [
        "=", "<", ">", "*", "/", "|", "&", "^", "~", "!", "{", "}", "\\",
    ] {
        let text = format!("{op} x");
        assert_eq!(Lexer::new(&text).scan_operator(0), 1, "{op}");
    }
}

#[test]
fn fingerprint_serializes_with_serde() {
    fn assert_serde<T: Serialize + for<'de> Deserialize<'de>>() {}
    assert_serde::<SqlFingerprint>();
}

/// xorshift64: a few lines of deterministic pseudo-randomness instead of a property-testing crate.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound.max(1) as u64) as usize
    }
}

/// A byte of SQL-ish noise: mostly the characters the lexer treats specially, sometimes any byte
/// (which `from_utf8_lossy` may turn into U+FFFD).
fn noise_byte(rng: &mut XorShift) -> u8 {
    const INTERESTING: &[u8] =
        b"'\"`[]()$?:@%#-/*\\.,; \n\t0123456789eExXbBnNuU&+<>=!~|^_aZ\xc3\xa9";
    if rng.below(8) == 0 {
        rng.next() as u8
    } else {
        INTERESTING[rng.below(INTERESTING.len())]
    }
}

fn char_boundary_at_or_before(text: &str, mut index: usize) -> usize {
    index = index.min(text.len());
    while !text.is_char_boundary(index) {
        index -= 1;
    }
    index
}

#[test]
fn random_bytes_never_panic() {
    for seed in [0x9e37_79b9_7f4a_7c15_u64, 0xdead_beef_cafe_f00d, 42] {
        let mut rng = XorShift(seed);
        for _ in 0..300 {
            let len = rng.below(160);
            let bytes: Vec<u8> = (0..len).map(|_| noise_byte(&mut rng)).collect();
            let input = String::from_utf8_lossy(&bytes);
            let fingerprint = fingerprint_sql(&input);
            // Whatever came in, the output must be safe to fingerprint again.
            fingerprint_sql(&fingerprint.text);
        }
    }
}

#[test]
fn splices_of_real_statements_never_panic() {
    let statements = corpus_statements();
    let mut rng = XorShift(0x0123_4567_89ab_cdef);
    for _ in 0..600 {
        let a = statements[rng.below(statements.len())];
        let b = statements[rng.below(statements.len())];
        let cut_a = char_boundary_at_or_before(a, rng.below(a.len() + 1));
        let cut_b = char_boundary_at_or_before(b, rng.below(b.len() + 1));
        let mut spliced = String::with_capacity(a.len() + b.len() + 4);
        spliced.push_str(&a[..cut_a]);
        if rng.below(2) == 0 {
            // Sometimes with noise at the seam: a stray quote or comment opener.
            spliced.push(char::from(noise_byte(&mut rng) & 0x7f));
        }
        spliced.push_str(&b[cut_b..]);
        let once = fingerprint_sql(&spliced).text;
        fingerprint_sql(&once);
        // A statement cut short (as tracers truncate them) is still a statement to us.
        let prefix = &a[..cut_a];
        let once = text(prefix);
        assert_eq!(text(&once), once, "not idempotent for prefix {prefix:?}");
    }
}
