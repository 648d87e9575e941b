//! What a Redis client span says: which command ran, which key it touched, and the key's shape
//! with its variable parts masked so that statistics can group calls by key pattern.
//!
//! # Attributes
//!
//! The caller reads the span attributes and hands the strings over; this module does no
//! attribute lookup itself. The attributes that matter, newer semantic conventions first:
//!
//! - `db.system.name` = `"redis"` (newer) or `db.system` = `"redis"` (older) marks a Redis
//!   client span.
//! - `db.operation.name` (newer) or `db.operation` (older) carries the command, e.g. `"GET"`.
//!   This is the `operation` argument of [`parse_redis_call`].
//! - `db.query.text` (newer) or `db.statement` (older) carries the command text, e.g.
//!   `GET cart:user:12345`, or `HMSET user:42:profile name ? age ?` from instrumentations that
//!   replace argument values with `?`. This is the `statement` argument of [`parse_redis_call`].
//!
//! # Parsing
//!
//! [`parse_redis_call`] takes the command from the operation when there is one and from the
//! first word of the statement otherwise, and the key from the statement, following where
//! each command keeps its first key (see the function's documentation). Statement words are
//! split the way `redis-cli` splits them: on whitespace, with `"double quoted"` words (backslash
//! escapes) and `'single quoted'` words (only `\'` escaped). A pipeline written one command per
//! line is read up to its first line break.
//!
//! # Masking
//!
//! [`mask_redis_key`] turns `cart:user:12345` and `cart:user:777` into the same
//! `cart:user:{n}`. The key is split on the separators `:` `.` `/` `_` `-` `#` `|` `{` `}` `=`,
//! which are kept, and each segment between them is replaced by
//!
//! | placeholder | segment                                                                    |
//! |-------------|----------------------------------------------------------------------------|
//! | `{n}`       | all digits: `12345`                                                        |
//! | `{uuid}`    | a UUID, `8-4-4-4-12` hex digits with dashes or 32 hex digits without       |
//! | `{hex}`     | 8 or more hex digits with at least one decimal digit, or `0x` + hex digits |
//! | `{email}`   | an email address: `jane.doe@example.com`, `root@localhost`                 |
//! | `{token}`   | 20+ base64 characters that look random (a digit, a `+`, or mixed case)     |
//! | `{id}`      | letters mixed with 3 or more digits: `u12345`, `order2024x`                |
//!
//! and kept as it is otherwise, so short words such as `v2`, `cache` or `user` survive.
//! Dashed UUIDs and email addresses contain separators themselves (`-`, `.`, `_`), so they are
//! recognised at each segment start *before* the key is split there; everything else is
//! decided one segment at a time. The masked key is capped at 200 bytes (cut at a character
//! boundary, never through a placeholder) so that a pathological key cannot blow up the
//! memory of per-pattern statistics.

/// A Redis call reduced to what statistics group by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisCall<'a> {
    /// The command in upper case ("GET", "HGETALL", "CLIENT SETNAME" is just "CLIENT" — first
    /// word only).
    pub command: String,
    /// The first key argument as sent, when the command has one and the text carries it
    /// (borrowed from the statement).
    pub key: Option<&'a str>,
}

/// Parses a command from the operation name and/or the statement text.
///
/// `operation` wins for the command when present; the key comes from the statement: the token
/// after the command word for key commands; for commands without a key (PING, INFO, MULTI, EXEC,
/// SELECT, AUTH, CLIENT, CONFIG, SCRIPT, FLUSHALL, DBSIZE, …) `None`; for EVAL/EVALSHA the first
/// key after numkeys if present; MGET/DEL/EXISTS etc.: the first key. Handles quoted arguments
/// (`"a b"` with backslash escapes, `'single'`). Returns `None` when neither gives a command.
///
/// Details:
///
/// - Only the first word of `operation` counts, and a word that cannot be a Redis command name
///   (longer than 64 bytes, or not letters, digits and `.` `_` `-` `|` starting with a letter
///   or `_`) is ignored as if absent, so that garbage does not become a statistics group.
/// - The key is read only when the statement's own command word agrees (ignoring ASCII case)
///   with the command: the key's position depends on the command, and a statement describing
///   a different command than the operation cannot be trusted to have the key where the
///   operation's command would keep it.
/// - A quoted key is returned without its quotes, with backslash escapes left undecoded
///   (decoding would need an allocation; the key is borrowed).
/// - A key that an instrumentation replaced by `?` is not a key: it comes back as `None`.
/// - Besides the first argument and the EVAL family, the key is found after the subcommand for
///   `OBJECT`, `MEMORY`, `XINFO`, `XGROUP`; after the operation for `BITOP`; after numkeys for
///   `ZUNION`, `ZINTER`, `ZDIFF`, `ZINTERCARD`, `SINTERCARD`, `LMPOP`, `ZMPOP`, `BLMPOP`,
///   `BZMPOP`, `FCALL`; after `STREAMS` for `XREAD`/`XREADGROUP`; in third place (or after
///   `KEYS`) for `MIGRATE`. Channels (`PUBLISH`, `SUBSCRIBE`) and patterns (`KEYS`) are not keys.
pub fn parse_redis_call<'a>(
    operation: Option<&str>,
    statement: Option<&'a str>,
) -> Option<RedisCall<'a>> {
    let mut statement_words = statement.map(StatementWords::new);
    let statement_command = statement_words
        .as_mut()
        .and_then(Iterator::next)
        .filter(|word| is_plausible_command_name(word));
    let operation_command = operation
        .and_then(|operation| operation.split_ascii_whitespace().next())
        .filter(|word| is_plausible_command_name(word));

    let command = operation_command
        .or(statement_command)?
        .to_ascii_uppercase();
    let key = match (statement_command, statement_words) {
        (Some(statement_command), Some(arguments))
            if statement_command.eq_ignore_ascii_case(&command) =>
        {
            first_key(&command, arguments)
        }
        _ => None,
    };
    Some(RedisCall { command, key })
}

/// Redis command names are short (the longest built-in ones are around 20 bytes, module commands
/// such as `JSON.ARRINSERT` are similar); anything far longer is not a command name.
const LONGEST_COMMAND_NAME: usize = 64;

fn is_plausible_command_name(word: &str) -> bool {
    let bytes = word.as_bytes();
    let Some(&first) = bytes.first() else {
        return false;
    };
    bytes.len() <= LONGEST_COMMAND_NAME
        && (first.is_ascii_alphabetic() || first == b'_')
        && bytes
            .iter()
            .all(|&byte| byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'_' | b'-' | b'|'))
}

/// Where a command keeps its first key, counted in the words after the command word.
enum KeyPosition {
    /// The command takes no key (server, connection, transaction and pub/sub commands).
    NoKey,
    /// The key is the argument at this zero-based index.
    Argument(usize),
    /// `numkeys` is the argument at this zero-based index and the first key follows it.
    AfterNumKeys(usize),
    /// `MIGRATE host port key|"" db timeout … [KEYS key …]`.
    Migrate,
    /// `XREAD`/`XREADGROUP`: options, then `STREAMS key …`.
    AfterStreamsOption,
}

fn key_position(command: &str) -> KeyPosition {
    match command {
        "PING" | "ECHO" | "INFO" | "MULTI" | "EXEC" | "DISCARD" | "UNWATCH" | "SELECT" | "AUTH"
        | "HELLO" | "CLIENT" | "CONFIG" | "SCRIPT" | "FUNCTION" | "FLUSHALL" | "FLUSHDB"
        | "DBSIZE" | "TIME" | "LASTSAVE" | "SAVE" | "BGSAVE" | "BGREWRITEAOF" | "SHUTDOWN"
        | "QUIT" | "RESET" | "SWAPDB" | "WAIT" | "WAITAOF" | "RANDOMKEY" | "KEYS" | "SCAN"
        | "SLOWLOG" | "LATENCY" | "MONITOR" | "SYNC" | "PSYNC" | "REPLICAOF" | "SLAVEOF"
        | "ROLE" | "CLUSTER" | "COMMAND" | "DEBUG" | "MODULE" | "ACL" | "LOLWUT" | "READONLY"
        | "READWRITE" | "ASKING" | "FAILOVER" | "SENTINEL" | "PUBLISH" | "SPUBLISH"
        | "SUBSCRIBE" | "SSUBSCRIBE" | "PSUBSCRIBE" | "UNSUBSCRIBE" | "SUNSUBSCRIBE"
        | "PUNSUBSCRIBE" | "PUBSUB" => KeyPosition::NoKey,
        "EVAL" | "EVALSHA" | "EVAL_RO" | "EVALSHA_RO" | "FCALL" | "FCALL_RO" => {
            KeyPosition::AfterNumKeys(1)
        }
        "ZUNION" | "ZINTER" | "ZDIFF" | "ZINTERCARD" | "SINTERCARD" | "LMPOP" | "ZMPOP" => {
            KeyPosition::AfterNumKeys(0)
        }
        "BLMPOP" | "BZMPOP" => KeyPosition::AfterNumKeys(1),
        // `BITOP AND destkey srckey …` and `OBJECT ENCODING key`-style subcommands.
        "BITOP" | "OBJECT" | "MEMORY" | "XINFO" | "XGROUP" => KeyPosition::Argument(1),
        "MIGRATE" => KeyPosition::Migrate,
        "XREAD" | "XREADGROUP" => KeyPosition::AfterStreamsOption,
        // Everything else, module commands included (`JSON.GET key`, `BF.ADD key`), keeps its
        // first key right after the command word.
        _ => KeyPosition::Argument(0),
    }
}

/// The first key among `arguments` (the statement words after the command word).
fn first_key<'a>(command: &str, mut arguments: StatementWords<'a>) -> Option<&'a str> {
    let key = match key_position(command) {
        KeyPosition::NoKey => None,
        KeyPosition::Argument(index) => arguments.nth(index),
        KeyPosition::AfterNumKeys(index) => {
            let key_count = arguments.nth(index)?.parse::<u64>().ok()?;
            if key_count == 0 {
                None
            } else {
                arguments.next()
            }
        }
        KeyPosition::Migrate => match arguments.nth(2)? {
            "" => {
                // The empty key means "the keys are listed after KEYS".
                let mut remaining = arguments;
                remaining.find(|word| word.eq_ignore_ascii_case("KEYS"))?;
                remaining.next()
            }
            key => Some(key),
        },
        KeyPosition::AfterStreamsOption => key_after_streams_option(arguments),
    };
    // Instrumentations that obfuscate arguments replace them with `?`: the text does not carry
    // the key then.
    key.filter(|key| *key != "?")
}

/// Walks `XREAD [COUNT n] [BLOCK ms] STREAMS key …` and
/// `XREADGROUP GROUP group consumer [COUNT n] [BLOCK ms] [NOACK] STREAMS key …` option by option
/// rather than searching for the word `STREAMS`, because a group or consumer may be called
/// "streams".
fn key_after_streams_option<'a>(mut arguments: StatementWords<'a>) -> Option<&'a str> {
    loop {
        let option = arguments.next()?;
        if option.eq_ignore_ascii_case("STREAMS") {
            return arguments.next();
        } else if option.eq_ignore_ascii_case("COUNT") || option.eq_ignore_ascii_case("BLOCK") {
            arguments.next()?;
        } else if option.eq_ignore_ascii_case("GROUP") {
            arguments.next()?;
            arguments.next()?;
        } else if !option.eq_ignore_ascii_case("NOACK") {
            // An option this parser does not know: guessing could return a non-key.
            return None;
        }
    }
}

/// The words of a command text, split like `redis-cli` splits them, borrowed from the text.
///
/// Quoted words come back without their quotes and with escapes undecoded. An unterminated quote
/// runs to the end of the text. A line break after the first word ends the command: pipelines
/// are recorded one command per line, and only the first command is read.
struct StatementWords<'a> {
    text: &'a str,
    position: usize,
    has_produced_a_word: bool,
}

impl<'a> StatementWords<'a> {
    fn new(text: &'a str) -> Self {
        Self {
            text,
            position: 0,
            has_produced_a_word: false,
        }
    }
}

impl<'a> Iterator for StatementWords<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let bytes = self.text.as_bytes();
        while let Some(&byte) = bytes.get(self.position) {
            if !byte.is_ascii_whitespace() {
                break;
            }
            if matches!(byte, b'\n' | b'\r') && self.has_produced_a_word {
                self.position = bytes.len();
                return None;
            }
            self.position += 1;
        }
        let start = self.position;
        let first = *bytes.get(start)?;

        let (word_start, word_end, next_position) = match first {
            b'"' | b'\'' => {
                let content_start = start + 1;
                let mut index = content_start;
                let mut closing_quote = None;
                while let Some(&byte) = bytes.get(index) {
                    // Double quotes take any backslash escape (`\"`, `\\`, `\x41`); single
                    // quotes only `\'`. Skipping the escaped byte is enough to not mistake an
                    // escaped quote for the closing one.
                    let escapes_next =
                        byte == b'\\' && (first == b'"' || bytes.get(index + 1) == Some(&b'\''));
                    if escapes_next {
                        index += 2;
                    } else if byte == first {
                        closing_quote = Some(index);
                        break;
                    } else {
                        index += 1;
                    }
                }
                match closing_quote {
                    Some(closing) => (content_start, closing, closing + 1),
                    None => (content_start, bytes.len(), bytes.len()),
                }
            }
            _ => {
                let end = bytes[start..]
                    .iter()
                    .position(u8::is_ascii_whitespace)
                    .map_or(bytes.len(), |offset| start + offset);
                (start, end, end)
            }
        };
        self.position = next_position;
        self.has_produced_a_word = true;
        // Every boundary above sits at an ASCII byte or at the end, hence on a char boundary;
        // `get` keeps even a mistake there from panicking.
        self.text.get(word_start..word_end)
    }
}

/// The most bytes a masked key keeps: enough for any sensible key pattern, small enough that
/// per-pattern statistics stay bounded when a client uses megabyte-long keys.
const MASKED_KEY_LIMIT: usize = 200;

/// The longest email address SMTP allows; bounds the look-ahead of the email check.
const LONGEST_EMAIL: usize = 254;

/// A segment at least this long made of base64 characters is treated as an opaque token.
const SHORTEST_TOKEN: usize = 20;

/// The key with its variable parts masked, so `cart:user:12345` and `cart:user:777` group
/// together.
///
/// Splits on the separators `:` `.` `/` `_` `-` `#` `|` `{` `}` `=` (keeping the separators) and
/// replaces each segment that is all digits → `{n}`; a UUID (8-4-4-4-12 hex with dashes, or 32
/// hex without; both forms are also recognised as the whole key) → `{uuid}`; hex of 8+ chars
/// containing at least one digit → `{hex}`; an email → `{email}`; a base64-ish token of 20+
/// chars → `{token}`; a segment mixing letters and 3+ digits (`u12345`, `order2024x`) → `{id}`.
/// Short words such as `v2`, `cache`, `user` are kept. The output is capped at 200 bytes.
///
/// See the [module documentation](self) for the exact rules and their order.
pub fn mask_redis_key(key: &str) -> String {
    let mut masked = CappedText::new(MASKED_KEY_LIMIT, key.len());
    let bytes = key.as_bytes();
    let mut position = 0;
    let mut email_checks_resume_at = 0;
    while position < bytes.len() && !masked.is_truncated() {
        let Some(rest) = key.get(position..) else {
            break;
        };
        let byte = bytes[position];
        if is_key_separator(byte) {
            masked.push_literal(&rest[..1]);
            position += 1;
            continue;
        }
        // A segment starts here. UUIDs and emails span separators, so try them first.
        if let Some(length) = dashed_uuid_length(rest) {
            masked.push_placeholder("{uuid}");
            position += length;
            continue;
        }
        if position >= email_checks_resume_at {
            match scan_email(rest) {
                EmailScan::Address(length) => {
                    masked.push_placeholder("{email}");
                    position += length;
                    continue;
                }
                // `a@b.com@c.com`: the parts of a malformed address are not addresses either
                // (`com@c.com` would otherwise pass), so stop looking until the run ends.
                EmailScan::Malformed(run_length) => email_checks_resume_at = position + run_length,
                EmailScan::NoAtSign => {}
            }
        }
        let segment_length = rest
            .bytes()
            .position(is_key_separator)
            .unwrap_or(rest.len());
        let segment = &rest[..segment_length];
        match segment_placeholder(segment) {
            Some(placeholder) => masked.push_placeholder(placeholder),
            None => masked.push_literal(segment),
        }
        position += segment_length;
    }
    masked.into_string()
}

fn is_key_separator(byte: u8) -> bool {
    matches!(
        byte,
        b':' | b'.' | b'/' | b'_' | b'-' | b'#' | b'|' | b'{' | b'}' | b'='
    )
}

/// The length of a dashed UUID (`8-4-4-4-12` hex digits) at the start of `text`, when it is
/// followed by the end of the key or a separator (otherwise it is part of something longer).
fn dashed_uuid_length(text: &str) -> Option<usize> {
    const DASHED_UUID_LENGTH: usize = 36;
    let bytes = text.as_bytes();
    let candidate = bytes.get(..DASHED_UUID_LENGTH)?;
    let shaped_like_uuid = candidate.iter().enumerate().all(|(index, &byte)| {
        if matches!(index, 8 | 13 | 18 | 23) {
            byte == b'-'
        } else {
            byte.is_ascii_hexdigit()
        }
    });
    let ends_at_boundary = bytes
        .get(DASHED_UUID_LENGTH)
        .is_none_or(|&byte| is_key_separator(byte));
    (shaped_like_uuid && ends_at_boundary).then_some(DASHED_UUID_LENGTH)
}

/// What [`scan_email`] found at a segment start.
enum EmailScan {
    /// No `@` before the next byte that cannot be part of an address: not an address.
    NoAtSign,
    /// An address of this many bytes.
    Address(usize),
    /// This many bytes look like a run of address characters with an `@` but are no address.
    Malformed(usize),
}

/// Looks for an email address at a segment start: `jane.doe@mail.example.com` (a dotted domain
/// ending in a top-level domain of 2+ letters) or `root@localhost` (no separator at all). It
/// must end at the end of the key or at a separator. Dots, dashes and underscores are
/// separators, which is why this runs before the key is split.
fn scan_email(text: &str) -> EmailScan {
    let bytes = text.as_bytes();
    let look_ahead = &bytes[..bytes.len().min(LONGEST_EMAIL + 1)];
    let run_length = look_ahead
        .iter()
        .position(|&byte| !is_email_byte(byte))
        .unwrap_or(look_ahead.len());
    let run = &bytes[..run_length];
    if !run.contains(&b'@') {
        return EmailScan::NoAtSign;
    }
    let ends_at_boundary = bytes
        .get(run_length)
        .is_none_or(|&byte| is_key_separator(byte));
    if run_length > LONGEST_EMAIL || !ends_at_boundary {
        return EmailScan::Malformed(run_length);
    }
    if run.iter().all(|&byte| !is_key_separator(byte)) {
        return if is_undotted_email(run) {
            EmailScan::Address(run_length)
        } else {
            EmailScan::Malformed(run_length)
        };
    }
    // `user:jane@example.com.` — a trailing dot is a separator, not part of the domain.
    let mut address = run;
    while let Some((&last, before)) = address.split_last() {
        if !matches!(last, b'.' | b'-' | b'_') {
            break;
        }
        address = before;
    }
    if is_dotted_email(address) {
        EmailScan::Address(address.len())
    } else {
        EmailScan::Malformed(run_length)
    }
}

fn is_email_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'_' | b'%' | b'+' | b'-' | b'@')
}

/// `local@label.label.tld`, where the run is already known to hold only address characters.
fn is_dotted_email(address: &[u8]) -> bool {
    let Some(at) = address.iter().position(|&byte| byte == b'@') else {
        return false;
    };
    let (local_part, domain) = (&address[..at], &address[at + 1..]);
    if local_part.is_empty() || domain.contains(&b'@') {
        return false;
    }
    let mut labels = domain.split(|&byte| byte == b'.').peekable();
    let mut label_count = 0;
    while let Some(label) = labels.next() {
        label_count += 1;
        let well_formed = if labels.peek().is_none() {
            label.len() >= 2 && label.iter().all(u8::is_ascii_alphabetic)
        } else {
            !label.is_empty()
                && label
                    .iter()
                    .all(|&byte| byte.is_ascii_alphanumeric() || byte == b'-')
        };
        if !well_formed {
            return false;
        }
    }
    label_count >= 2
}

/// `root@localhost`: one `@` between letters, digits, `+` and `%`.
fn is_undotted_email(run: &[u8]) -> bool {
    let Some(at) = run.iter().position(|&byte| byte == b'@') else {
        return false;
    };
    let (local_part, domain) = (&run[..at], &run[at + 1..]);
    !local_part.is_empty()
        && !domain.is_empty()
        && local_part
            .iter()
            .all(|&byte| byte.is_ascii_alphanumeric() || matches!(byte, b'+' | b'%'))
        && domain.iter().all(u8::is_ascii_alphanumeric)
}

/// What replaces one separator-free segment that is not an email address, or `None` to keep it.
/// The order matters: the narrower, more certain shapes are tried first.
fn segment_placeholder(segment: &str) -> Option<&'static str> {
    let bytes = segment.as_bytes();
    let mut digits = 0usize;
    let mut upper_case_letters = 0usize;
    let mut lower_case_letters = 0usize;
    let mut all_hex = true;
    let mut all_alphanumeric = true;
    let mut all_base64 = true;
    let mut has_plus = false;
    for &byte in bytes {
        if byte.is_ascii_digit() {
            digits += 1;
        } else if byte.is_ascii_uppercase() {
            upper_case_letters += 1;
        } else if byte.is_ascii_lowercase() {
            lower_case_letters += 1;
        } else {
            all_alphanumeric = false;
            has_plus |= byte == b'+';
            all_base64 &= byte == b'+';
        }
        all_hex &= byte.is_ascii_hexdigit();
    }
    let letters = upper_case_letters + lower_case_letters;

    if bytes.is_empty() {
        return None;
    }
    if digits == bytes.len() {
        return Some("{n}");
    }
    if all_hex && bytes.len() == 32 {
        return Some("{uuid}");
    }
    if all_hex && bytes.len() >= 8 && digits > 0 {
        return Some("{hex}");
    }
    if let Some(hex_digits) = bytes
        .strip_prefix(b"0x")
        .or_else(|| bytes.strip_prefix(b"0X"))
    {
        if !hex_digits.is_empty() && hex_digits.iter().all(u8::is_ascii_hexdigit) {
            return Some("{hex}");
        }
    }
    // Random base64 of 20+ characters almost always holds a digit; the rare one without still
    // mixes cases evenly, which long camelCase words (a capital every few letters) do not.
    let looks_random = digits > 0
        || has_plus
        || (upper_case_letters * 3 >= letters && lower_case_letters * 3 >= letters);
    if all_base64 && bytes.len() >= SHORTEST_TOKEN && looks_random {
        return Some("{token}");
    }
    if all_alphanumeric && letters > 0 && digits >= 3 {
        return Some("{id}");
    }
    None
}

/// An output string that stops growing at a byte limit. Literal text is cut at a character
/// boundary; a placeholder is all or nothing, so a truncated key never ends in `{uu`.
struct CappedText {
    text: String,
    limit: usize,
    truncated: bool,
}

impl CappedText {
    fn new(limit: usize, expected_length: usize) -> Self {
        Self {
            text: String::with_capacity(expected_length.min(limit)),
            limit,
            truncated: false,
        }
    }

    fn remaining(&self) -> usize {
        self.limit.saturating_sub(self.text.len())
    }

    fn is_truncated(&self) -> bool {
        self.truncated
    }

    fn push_literal(&mut self, literal: &str) {
        let remaining = self.remaining();
        if literal.len() <= remaining {
            self.text.push_str(literal);
            return;
        }
        let mut cut = remaining;
        while !literal.is_char_boundary(cut) {
            cut -= 1;
        }
        self.text.push_str(&literal[..cut]);
        self.truncated = true;
    }

    fn push_placeholder(&mut self, placeholder: &'static str) {
        if placeholder.len() <= self.remaining() {
            self.text.push_str(placeholder);
        } else {
            self.truncated = true;
        }
    }

    fn into_string(self) -> String {
        self.text
    }
}

#[cfg(test)]
mod tests;
