use super::*;

fn call(command: &str, key: Option<&'static str>) -> Option<RedisCall<'static>> {
    Some(RedisCall {
        command: command.to_owned(),
        key,
    })
}

#[test]
fn masking_table() {
    let cases: &[(&str, &str)] = &[
        // Digits.
        ("cart:user:12345", "cart:user:{n}"),
        ("cart:user:777", "cart:user:{n}"),
        ("user:42:profile", "user:{n}:profile"),
        ("12345", "{n}"),
        ("feed#123|page=4", "feed#{n}|page={n}"),
        ("stock:SKU-000123", "stock:SKU-{n}"),
        (
            "rate-limit:2024-01-15:10.0.0.1",
            "rate-limit:{n}-{n}-{n}:{n}.{n}.{n}.{n}",
        ),
        ("tenant_42.cache-v2/item_7", "tenant_{n}.cache-v2/item_{n}"),
        ("{user:1000}:followers", "{user:{n}}:followers"),
        // UUIDs, dashed (spanning the `-` separator) and undashed, anywhere in the key.
        ("550e8400-e29b-41d4-a716-446655440000", "{uuid}"),
        ("550E8400E29B41D4A716446655440000", "{uuid}"),
        (
            "session:550e8400-e29b-41d4-a716-446655440000",
            "session:{uuid}",
        ),
        (
            "session:550e8400e29b41d4a716446655440000:data",
            "session:{uuid}:data",
        ),
        (
            "order-550e8400-e29b-41d4-a716-446655440000-2",
            "order-{uuid}-{n}",
        ),
        ("lock_550E8400-E29B-41D4-A716-446655440000", "lock_{uuid}"),
        (
            "{550e8400-e29b-41d4-a716-446655440000}:cart",
            "{{uuid}}:cart",
        ),
        // Almost a UUID (last character not hex): split on the dashes, segment by segment.
        (
            "user:550e8400-e29b-41d4-a716-44665544000x",
            "user:{hex}-e29b-{id}-{id}-{id}",
        ),
        // Hex.
        ("blob:5f3e2a1b", "blob:{hex}"),
        ("etag:deadbeef", "etag:deadbeef"),
        (
            "commit/9fceb02d0ae598e95dc970b74767f19372d61af8",
            "commit/{hex}",
        ),
        ("ptr:0xDEADBEEF", "ptr:{hex}"),
        ("ptr:0x1f", "ptr:{hex}"),
        // Ids: letters mixed with 3 or more digits.
        ("user:u12345:settings", "user:{id}:settings"),
        ("orders:order2024x", "orders:{id}"),
        ("abc12:x", "abc12:x"),
        // Emails, whose dots and dashes are separators.
        ("user:jane.doe@example.com:cart", "user:{email}:cart"),
        (
            "newsletter|first-last+tag@mail.example.co.uk",
            "newsletter|{email}",
        ),
        ("user:root@localhost", "user:{email}"),
        ("reset:jane@example.com.", "reset:{email}."),
        ("user:@handle", "user:@handle"),
        // Tokens.
        (
            "auth:token:Zm9vYmFyYmF6cXV4cXV1eDEyMw",
            "auth:token:{token}",
        ),
        ("jwt:AbCdEfGhIjKlMnOpQrStUv", "jwt:{token}"),
        ("sess:QWxhZGRpbjpvcGVuIHNlc2FtZQ+", "sess:{token}"),
        // Words survive, long ones too when they do not look random.
        ("api:v2:cache", "api:v2:cache"),
        (
            "cache:getUserProfileByAccountName",
            "cache:getUserProfileByAccountName",
        ),
        ("i18n:internationalization", "i18n:internationalization"),
        ("a/b/c", "a/b/c"),
        ("", ""),
        (":::", ":::"),
        ("ユーザー:123", "ユーザー:{n}"),
        // Mixtures.
        (
            "tenant:42:user:jane@example.com:session:550e8400-e29b-41d4-a716-446655440000",
            "tenant:{n}:user:{email}:session:{uuid}",
        ),
        (
            "v1/orders/ord98765/items/3/blob_5f3e2a1b9c",
            "v1/orders/{id}/items/{n}/blob_{hex}",
        ),
    ];
    assert!(cases.len() >= 30);
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|&(key, expected)| {
            let masked = mask_redis_key(key);
            (masked != expected).then(|| format!("{key:?}: got {masked:?}, want {expected:?}"))
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn keys_that_differ_only_in_variable_parts_mask_alike() {
    assert_eq!(
        mask_redis_key("cart:user:12345"),
        mask_redis_key("cart:user:777")
    );
    assert_eq!(
        mask_redis_key("session:550e8400-e29b-41d4-a716-446655440000"),
        mask_redis_key("session:123e4567-e89b-12d3-a456-426614174000")
    );
}

#[test]
fn masked_key_is_capped_at_200_bytes() {
    let long_word = "x".repeat(300);
    assert_eq!(mask_redis_key(&long_word), "x".repeat(200));

    // Placeholders are never cut in half: 66 `{n}:` pieces are 264 bytes.
    let many_numbers = "1:".repeat(66);
    let masked = mask_redis_key(&many_numbers);
    assert!(masked.len() <= 200);
    assert!(
        masked.ends_with("{n}:") || masked.ends_with("{n}"),
        "{masked}"
    );

    // Multi-byte characters are cut at a character boundary.
    let wide = format!("a{}", "é".repeat(150));
    let masked = mask_redis_key(&wide);
    assert_eq!(masked, format!("a{}", "é".repeat(99)));

    let huge = format!("{}:{}", "a".repeat(1_000_000), "9".repeat(10));
    assert_eq!(mask_redis_key(&huge).len(), 200);
}

#[test]
fn masking_never_panics_on_odd_input() {
    let odd_keys = [
        "@",
        "@@",
        "a@",
        "@b.com",
        "a@b.",
        "a@.com",
        "a@b..com",
        "-",
        "0x",
        "0X:",
        "\u{0}\u{1}:\u{7f}",
        "é@é.com",
        "550e8400-e29b-41d4-a716-44665544000",
        "550e8400-e29b-41d4-a716-4466554400000",
        "{}{}{}",
        "a@b.com@c.com",
    ];
    for key in odd_keys {
        let masked = mask_redis_key(key);
        assert!(masked.len() <= 200, "{key:?}");
    }
    assert_eq!(mask_redis_key("a@b..com"), "a@b..com");
    assert_eq!(mask_redis_key("0x"), "0x");
    assert_eq!(mask_redis_key("a@b.com@c.com"), "a@b.com@c.com");
    assert_eq!(mask_redis_key("root@localhost-2"), "root@localhost-{n}");
    assert_eq!(mask_redis_key("@b.com:7"), "@b.com:{n}");
}

#[test]
fn operation_only() {
    assert_eq!(parse_redis_call(Some("GET"), None), call("GET", None));
    assert_eq!(
        parse_redis_call(Some("hgetall"), None),
        call("HGETALL", None)
    );
    assert_eq!(
        parse_redis_call(Some("  client setname "), None),
        call("CLIENT", None)
    );
}

#[test]
fn statement_only() {
    assert_eq!(
        parse_redis_call(None, Some("GET cart:user:12345")),
        call("GET", Some("cart:user:12345"))
    );
    assert_eq!(
        parse_redis_call(None, Some("HMSET user:42:profile name ? age ?")),
        call("HMSET", Some("user:42:profile"))
    );
}

#[test]
fn operation_and_statement() {
    assert_eq!(
        parse_redis_call(Some("HMSET"), Some("HMSET user:42:profile name ? age ?")),
        call("HMSET", Some("user:42:profile"))
    );
    assert_eq!(
        parse_redis_call(Some("set"), Some("SET k v")),
        call("SET", Some("k"))
    );
    // The operation wins for the command; a statement about another command carries no key
    // that can be trusted for it.
    assert_eq!(
        parse_redis_call(Some("GET"), Some("SET k v")),
        call("GET", None)
    );
    // An empty or implausible operation gives way to the statement.
    assert_eq!(
        parse_redis_call(Some(""), Some("GET k")),
        call("GET", Some("k"))
    );
    assert_eq!(
        parse_redis_call(Some(&"X".repeat(65)), Some("GET k")),
        call("GET", Some("k"))
    );
    assert_eq!(
        parse_redis_call(Some("?"), Some("get k")),
        call("GET", Some("k"))
    );
}

#[test]
fn lower_case_commands_and_extra_whitespace() {
    assert_eq!(
        parse_redis_call(None, Some("get foo")),
        call("GET", Some("foo"))
    );
    assert_eq!(
        parse_redis_call(None, Some("  \t set   foo\t\tbar  ")),
        call("SET", Some("foo"))
    );
    assert_eq!(
        parse_redis_call(None, Some("\n  GET a")),
        call("GET", Some("a"))
    );
    assert_eq!(
        parse_redis_call(None, Some("json.get doc:1 $")),
        call("JSON.GET", Some("doc:1"))
    );
}

#[test]
fn quoted_keys() {
    assert_eq!(
        parse_redis_call(None, Some(r#"SET "my key" value"#)),
        call("SET", Some("my key"))
    );
    assert_eq!(
        parse_redis_call(None, Some(r#"SET "a \"quoted\" key" v"#)),
        call("SET", Some(r#"a \"quoted\" key"#))
    );
    assert_eq!(
        parse_redis_call(None, Some("SET 'single quoted' v")),
        call("SET", Some("single quoted"))
    );
    assert_eq!(
        parse_redis_call(None, Some(r"SET 'it\'s' v")),
        call("SET", Some(r"it\'s"))
    );
    // In double quotes `\\` is an escaped backslash, so the quote after it closes the word; in
    // single quotes only `\'` is an escape, so (as in redis-cli) the quote stays escaped.
    assert_eq!(
        parse_redis_call(None, Some(r#"SET "ends\\" v"#)),
        call("SET", Some(r"ends\\"))
    );
    assert_eq!(
        parse_redis_call(None, Some(r"SET 'ends\\' v")),
        call("SET", Some(r"ends\\' v"))
    );
    assert_eq!(
        parse_redis_call(None, Some(r#"SET "ключ:1" v"#)),
        call("SET", Some("ключ:1"))
    );
    assert_eq!(
        parse_redis_call(None, Some(r#"SET "" v"#)),
        call("SET", Some(""))
    );
    assert_eq!(
        parse_redis_call(None, Some(r#""GET" "k""#)),
        call("GET", Some("k"))
    );
    // Unterminated quotes run to the end of the text.
    assert_eq!(
        parse_redis_call(None, Some(r#"GET "unterminated key"#)),
        call("GET", Some("unterminated key"))
    );
    assert_eq!(
        parse_redis_call(None, Some(r#"GET "abc\"#)),
        call("GET", Some(r"abc\"))
    );
    assert_eq!(
        parse_redis_call(None, Some("GET \"multi\nline\" x")),
        call("GET", Some("multi\nline"))
    );
}

#[test]
fn keyless_commands() {
    let statements = [
        ("PING", "PING"),
        ("INFO memory", "INFO"),
        ("MULTI", "MULTI"),
        ("EXEC", "EXEC"),
        ("SELECT 1", "SELECT"),
        ("AUTH secret", "AUTH"),
        ("CLIENT SETNAME app", "CLIENT"),
        ("CONFIG GET maxmemory", "CONFIG"),
        ("SCRIPT LOAD \"return 1\"", "SCRIPT"),
        ("FLUSHALL ASYNC", "FLUSHALL"),
        ("DBSIZE", "DBSIZE"),
        ("PUBLISH orders:events hello", "PUBLISH"),
        ("KEYS user:*", "KEYS"),
        ("SCAN 0 MATCH user:* COUNT 100", "SCAN"),
        ("MEMORY STATS", "MEMORY"),
        ("OBJECT HELP", "OBJECT"),
    ];
    for (statement, command) in statements {
        assert_eq!(
            parse_redis_call(None, Some(statement)),
            call(command, None),
            "{statement}"
        );
    }
}

#[test]
fn multi_key_commands_report_the_first_key() {
    let statements = [
        ("MGET a b c", "MGET", "a"),
        ("DEL x y", "DEL", "x"),
        ("EXISTS k", "EXISTS", "k"),
        ("UNLINK k1 k2", "UNLINK", "k1"),
        ("ZUNIONSTORE dest 2 a b", "ZUNIONSTORE", "dest"),
        ("ZUNION 2 a b", "ZUNION", "a"),
        ("SINTERCARD 2 s1 s2 LIMIT 5", "SINTERCARD", "s1"),
        ("BLMPOP 0 2 l1 l2 LEFT", "BLMPOP", "l1"),
        ("BITOP AND dest src1 src2", "BITOP", "dest"),
        ("OBJECT ENCODING k", "OBJECT", "k"),
        ("MEMORY USAGE k SAMPLES 5", "MEMORY", "k"),
        ("XINFO STREAM orders", "XINFO", "orders"),
        ("XGROUP CREATE orders g1 $", "XGROUP", "orders"),
        ("XREAD COUNT 10 BLOCK 5 STREAMS s1 s2 0 0", "XREAD", "s1"),
        (
            "XREADGROUP GROUP streams c1 COUNT 1 NOACK STREAMS orders >",
            "XREADGROUP",
            "orders",
        ),
        ("MIGRATE host 6379 key 0 5000", "MIGRATE", "key"),
        (
            "MIGRATE host 6379 \"\" 0 5000 COPY KEYS k1 k2",
            "MIGRATE",
            "k1",
        ),
    ];
    for (statement, command, key) in statements {
        assert_eq!(
            parse_redis_call(None, Some(statement)),
            call(command, Some(key)),
            "{statement}"
        );
    }
    assert_eq!(
        parse_redis_call(None, Some("XREAD FOO 1 STREAMS s")),
        call("XREAD", None)
    );
}

#[test]
fn eval_takes_the_first_key_after_numkeys() {
    assert_eq!(
        parse_redis_call(
            None,
            Some(r#"EVAL "return redis.call('get', KEYS[1])" 1 rate:limit:42 arg"#)
        ),
        call("EVAL", Some("rate:limit:42"))
    );
    assert_eq!(
        parse_redis_call(Some("EVALSHA"), Some("evalsha 3f2a 2 k1 k2 a1")),
        call("EVALSHA", Some("k1"))
    );
    assert_eq!(
        parse_redis_call(None, Some(r#"EVAL "return 1" 0 arg"#)),
        call("EVAL", None)
    );
    assert_eq!(
        parse_redis_call(None, Some(r#"EVAL "return 1""#)),
        call("EVAL", None)
    );
    assert_eq!(
        parse_redis_call(None, Some(r#"EVAL "return 1" many k"#)),
        call("EVAL", None)
    );
    assert_eq!(
        parse_redis_call(None, Some(r#"EVAL "return 1" 1"#)),
        call("EVAL", None)
    );
    assert_eq!(
        parse_redis_call(None, Some("FCALL myfunc 1 k1 a")),
        call("FCALL", Some("k1"))
    );
}

#[test]
fn obfuscated_keys_are_not_keys() {
    assert_eq!(parse_redis_call(None, Some("GET ?")), call("GET", None));
    assert_eq!(
        parse_redis_call(None, Some("EVALSHA ? 1 ?")),
        call("EVALSHA", None)
    );
}

#[test]
fn pipelines_are_read_up_to_the_first_line_break() {
    assert_eq!(
        parse_redis_call(None, Some("MULTI\nSET a 1\nEXEC")),
        call("MULTI", None)
    );
    assert_eq!(
        parse_redis_call(None, Some("GET a\r\nGET b")),
        call("GET", Some("a"))
    );
    assert_eq!(parse_redis_call(None, Some("GET\nkey")), call("GET", None));
}

#[test]
fn nothing_to_parse() {
    assert_eq!(parse_redis_call(None, None), None);
    assert_eq!(parse_redis_call(Some(""), Some("")), None);
    assert_eq!(parse_redis_call(Some("   "), Some(" \n\t ")), None);
    assert_eq!(parse_redis_call(None, Some("? ?")), None);
    assert_eq!(parse_redis_call(None, Some("\"\"")), None);
    assert_eq!(parse_redis_call(None, Some("'")), None);
    assert_eq!(parse_redis_call(None, Some("1234 key")), None);
}

#[test]
fn random_text_never_panics() {
    // A fixed xorshift stream over the characters the parsers treat specially, multi-byte ones
    // included, so that every slicing decision meets quotes, escapes and UTF-8 at odd places.
    const PIECES: &[&str] = &[
        "\"",
        "'",
        "\\",
        " ",
        "\n",
        "\t",
        ":",
        ".",
        "-",
        "_",
        "{",
        "}",
        "@",
        "+",
        "0",
        "7",
        "a",
        "F",
        "x",
        "é",
        "日",
        "GET",
        "EVAL",
        "XREAD",
        "STREAMS",
        "MIGRATE",
        "KEYS",
        "1",
        "?",
        "550e8400-e29b-41d4-a716-446655440000",
        "jane@example.com",
    ];
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..20_000 {
        let piece_count = (next() % 24) as usize;
        let text: String = (0..piece_count)
            .map(|_| PIECES[(next() % PIECES.len() as u64) as usize])
            .collect();
        if let Some(call) = parse_redis_call(None, Some(&text)) {
            assert!(!call.command.is_empty());
            if let Some(key) = call.key {
                let _ = mask_redis_key(key);
            }
        }
        let _ = parse_redis_call(Some(&text), Some(&text));
        assert!(mask_redis_key(&text).len() <= 200);
    }
}
