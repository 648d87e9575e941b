//! SQL fingerprints for database statistics.
//!
//! Database spans carry the statement as the application sent it, literals and all. [`fingerprint_sql`]
//! reduces it to the shape a DBA groups statements by, so that `WHERE id = 1` and `WHERE id = 2` count as
//! one query, and lists the operation and the tables it touches.
//!
//! It is a hand-written lexer feeding a single pass over the tokens: no regular expressions and no parse
//! tree. It writes one output `String` whose capacity is reserved up front and allocates nothing else per
//! token, except the names that end up in [`SqlFingerprint::tables`]. It accepts any text, valid SQL or
//! not, in the common dialects (PostgreSQL, MySQL, SQLite, SQL Server, and the bind styles of their
//! drivers and ORMs), and it never panics.
//!
//! # Normalization rules
//!
//! - **Constants become `?`**: single-quoted strings (`'it''s'`, with backslash escapes as MySQL reads
//!   them), prefixed strings (`E'…'`, `N'…'`, `X'…'`, `B'…'`, `U&'…'`), dollar-quoted strings (`$$…$$`,
//!   `$tag$…$tag$`), numbers (`42`, `1.5`, `.5`, `1e-3`, `0x1F`, `0b101`, `1_000`) together with a sign
//!   that cannot be a binary operator (at the start, or after an operator, `(`, `,` or keyword:
//!   `x = -1` → `x = ?`, but `a - 1` → `a - ?`), and `TRUE`, `FALSE` and `NULL` except right after `IS` or
//!   `NOT` (`IS NULL`, `NOT NULL` and `IS TRUE` are not values). Unterminated strings and comments run to
//!   the end of the text.
//! - **Bind parameters become `?`**: `?`, `?1`, `$1`, `:name`, `:1`, `@p1`, `%s`, `%(name)s`.
//! - **Lists of constants collapse to `?+`**: `IN (1, 2, 3)` and `IN (?)` → `IN (?+)`, tuple lists
//!   `IN ((1, 2), (3, 4))` → `IN (?+)`, `ARRAY[1, 2]` → `ARRAY[?+]`, and `VALUES (1, 'a'), (2, 'b')` →
//!   `VALUES (?+)`. A list with anything else in it is kept (its constants still become `?`), so
//!   `IN (SELECT …)` stays a subquery. A `VALUES` row that is not all constants is kept, and the rows
//!   after it are dropped when they read the same as the first (`VALUES (?, now()), (?, now())` →
//!   `VALUES (?, now())`): the number of rows of a batch insert never changes the fingerprint.
//! - **Comments are removed**: `-- …`, `# …` (MySQL), `/* … */`, including hints (`/*+ … */`) and MySQL
//!   executable comments (`/*! … */`).
//! - **Whitespace**: tokens are separated by one space, except none after `(`, `[`, `.` and `::`, none
//!   before `,`, `)`, `]`, `.` and `::`, and none between a function name and its `(` (`count(*)`).
//!   Keywords that take a parenthesized argument list like a function (`CAST(`, `ANY(`, `LEFT(`…) are
//!   written like functions; other keywords get a space (`IN (`, `VALUES (`, `EXISTS (`), and so does a
//!   table name before its column list (`INSERT INTO t (a, b)`).
//! - **Case**: keywords in upper case, unquoted identifiers in lower case (ASCII only, as PostgreSQL
//!   folds them). A quoted identifier (`"Order"`, `` `order` ``, `[order]`) keeps its case: in the text it
//!   loses its quotes when it would read the same unquoted (lower case, not a keyword), and is written in
//!   double quotes otherwise, so all three quoting styles give one text.
//! - **Statements**: trailing semicolons are removed; the statements of a batch stay separated by `; `.
//! - **Size**: only the first 64 KiB of a longer text are read (cut at a character boundary).
//!
//! The text is a fixed point: fingerprinting it again yields the same text.
//!
//! # Operation and tables
//!
//! The operation is the first keyword of the statement (`START TRANSACTION` counts as `BEGIN`). For
//! `WITH`, it is the verb of the main statement after the common table expressions. Tables are the names
//! after `FROM`, `JOIN`, `INTO`, `UPDATE`, `TABLE`, `TRUNCATE`, `REFERENCES`, `CREATE INDEX … ON`,
//! `CREATE VIEW`, and `USING` in `DELETE` and `MERGE`, at any depth (subqueries included) but not inside
//! a function's arguments (`EXTRACT(YEAR FROM ts)`). A name followed by `(` after `FROM` or `JOIN` is a
//! set-returning function, not a table. Common table expression names are not tables.
//!
//! # Known limits
//!
//! - Double quotes delimit identifiers (ANSI SQL, PostgreSQL, SQLite). MySQL reads `"text"` as a string
//!   unless `ANSI_QUOTES` is set; such a string stays in the text as an identifier would.
//! - Backslash escapes are honoured in every single-quoted string, as MySQL does. A PostgreSQL string
//!   that ends in a backslash (`'C:\'`) swallows the text up to the next quote.
//! - `#` starts a MySQL comment except in the PostgreSQL operators `#>`, `#>>`, `#-`, and in SQL Server
//!   temporary table names (`#orders`, `##orders`) when not at the start of a line.
//! - `?` is always a bind parameter, so PostgreSQL's JSON operators `?`, `?|` and `?&` read as one
//!   (JDBC makes applications write them `??` anyway).
//! - Words that are also common column names (`key`, `level`, `first`, `start`, `temp`…) are keywords
//!   only in their SQL context (`PRIMARY KEY`, `ISOLATION LEVEL`, `NULLS FIRST`, a leading `START`), so
//!   `WHERE level = ?` keeps its column. Other keywords are upper-cased wherever they appear unquoted
//!   (consistently, so grouping is not affected), and a table named like one is not listed.

use serde::{Deserialize, Serialize};

#[cfg(test)]
mod tests;

/// Only this many bytes of a statement are fingerprinted: enough for any statement a human wrote, and a
/// bound on the work for generated ones (bulk inserts, huge IN lists).
const MAX_STATEMENT_BYTES: usize = 64 * 1024;

/// At most this many tables are listed; a statement naming more is generated SQL, and the bound keeps
/// the deduplication (a linear scan) cheap.
const MAX_TABLES: usize = 64;

/// Nesting levels of parentheses and brackets that are tracked. Deeper levels are still written out,
/// they only stop collapsing lists and restoring table contexts.
const MAX_DEPTH: usize = 32;

/// The normalized form of one SQL statement and what it touches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SqlFingerprint {
    /// The normalized statement: literals replaced by `?`, IN/VALUES lists collapsed, whitespace single, comments removed, keywords upper case.
    pub text: String,
    /// The statement's verb in upper case: SELECT, INSERT, UPDATE, DELETE, REPLACE, MERGE, CREATE, ALTER, DROP, TRUNCATE, BEGIN, COMMIT, ROLLBACK, SET, SHOW, CALL, WITH→ the verb of the main statement after the CTEs if easy else "WITH", or "OTHER".
    pub operation: String,
    /// Tables the statement names (FROM, JOIN, INTO, UPDATE, DELETE FROM, TABLE …), in order of first appearance, deduplicated, lower-cased when unquoted, quotes removed, schema prefix kept as written (`shop.orders`). Subqueries' tables included. CTE names are not tables.
    pub tables: Vec<String>,
}

/// Fingerprints one statement. Never panics on any input (including invalid UTF-8 boundaries—input is &str—, unterminated quotes/comments, huge input).
pub fn fingerprint_sql(statement: &str) -> SqlFingerprint {
    let input = truncate_to_char_boundary(statement, MAX_STATEMENT_BYTES);
    let mut lexer = Lexer::new(input);
    let mut normalizer = Normalizer::new(input.len());
    // One token of lookahead: a keyword followed by `.` is a name (`key.value`), not a keyword.
    let mut current = lexer.next_token();
    while let Some(token) = current {
        let next = lexer.next_token();
        normalizer.process(token, next.as_ref());
        current = next;
    }
    normalizer.finish()
}

/// A stable 64-bit hash of `fingerprint.text` (FNV-1a 64 is fine) so callers can key maps cheaply.
pub fn fingerprint_hash(text: &str) -> u64 {
    fnv1a_extend(FNV_OFFSET_BASIS, text.as_bytes())
}

/// FNV-1a 64's starting state.
pub(crate) const FNV_OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;

/// Continues an FNV-1a 64 hash over `bytes`. The statistics' checkpointed map keys use it too,
/// so its values must never change.
pub(crate) fn fnv1a_extend(hash: u64, bytes: &[u8]) -> u64 {
    const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;
    bytes.iter().fold(hash, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(FNV_PRIME)
    })
}

/// The longest prefix of `text` of at most `max` bytes that ends on a character boundary.
fn truncate_to_char_boundary(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    // Index 0 is always a boundary, so this stops.
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.get(..end).unwrap_or("")
}

// ---------------------------------------------------------------------------------------------------
// Keywords
// ---------------------------------------------------------------------------------------------------

macro_rules! keywords {
    ($($variant:ident = $text:literal,)+) => {
        /// A word the normalizer upper-cases. Some of them also drive the tracking of verbs, tables and
        /// lists.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        enum Kw {
            $($variant,)+
        }

        impl Kw {
            /// Every keyword, in declaration order, parallel to [`KEYWORD_TEXTS`].
            const ALL: &'static [Kw] = &[$(Kw::$variant,)+];

            /// The keyword as written in a fingerprint.
            fn as_str(self) -> &'static str {
                match self {
                    $(Kw::$variant => $text,)+
                }
            }
        }

        /// The upper-case spelling of every keyword, parallel to [`Kw::ALL`].
        const KEYWORD_TEXTS: &[&str] = &[$($text,)+];
    };
}

keywords! {
    Add = "ADD",
    All = "ALL",
    Alter = "ALTER",
    Analyze = "ANALYZE",
    And = "AND",
    Any = "ANY",
    Array = "ARRAY",
    As = "AS",
    Asc = "ASC",
    Begin = "BEGIN",
    Between = "BETWEEN",
    By = "BY",
    Call = "CALL",
    Cascade = "CASCADE",
    Case = "CASE",
    Cast = "CAST",
    Check = "CHECK",
    Collate = "COLLATE",
    Column = "COLUMN",
    Commit = "COMMIT",
    Committed = "COMMITTED",
    Concurrently = "CONCURRENTLY",
    Conflict = "CONFLICT",
    Constraint = "CONSTRAINT",
    Create = "CREATE",
    Cross = "CROSS",
    Current = "CURRENT",
    CurrentDate = "CURRENT_DATE",
    CurrentTime = "CURRENT_TIME",
    CurrentTimestamp = "CURRENT_TIMESTAMP",
    Default = "DEFAULT",
    Delete = "DELETE",
    Desc = "DESC",
    Describe = "DESCRIBE",
    Distinct = "DISTINCT",
    Do = "DO",
    Drop = "DROP",
    Duplicate = "DUPLICATE",
    Else = "ELSE",
    End = "END",
    Escape = "ESCAPE",
    Except = "EXCEPT",
    Exists = "EXISTS",
    Explain = "EXPLAIN",
    Extract = "EXTRACT",
    False = "FALSE",
    Fetch = "FETCH",
    Filter = "FILTER",
    First = "FIRST",
    Following = "FOLLOWING",
    For = "FOR",
    Force = "FORCE",
    Foreign = "FOREIGN",
    From = "FROM",
    Full = "FULL",
    Function = "FUNCTION",
    Global = "GLOBAL",
    Group = "GROUP",
    Having = "HAVING",
    If = "IF",
    Ignore = "IGNORE",
    Ilike = "ILIKE",
    In = "IN",
    Index = "INDEX",
    Inner = "INNER",
    Insert = "INSERT",
    Intersect = "INTERSECT",
    Interval = "INTERVAL",
    Into = "INTO",
    Is = "IS",
    Isolation = "ISOLATION",
    Join = "JOIN",
    Key = "KEY",
    Last = "LAST",
    Lateral = "LATERAL",
    Left = "LEFT",
    Level = "LEVEL",
    Like = "LIKE",
    Limit = "LIMIT",
    Lock = "LOCK",
    Locked = "LOCKED",
    LowPriority = "LOW_PRIORITY",
    Matched = "MATCHED",
    Materialized = "MATERIALIZED",
    Merge = "MERGE",
    Names = "NAMES",
    Natural = "NATURAL",
    Next = "NEXT",
    No = "NO",
    Not = "NOT",
    Nothing = "NOTHING",
    Nowait = "NOWAIT",
    Null = "NULL",
    Nulls = "NULLS",
    Of = "OF",
    Offset = "OFFSET",
    On = "ON",
    Only = "ONLY",
    Or = "OR",
    Order = "ORDER",
    Outer = "OUTER",
    Over = "OVER",
    Partition = "PARTITION",
    Preceding = "PRECEDING",
    Primary = "PRIMARY",
    Procedure = "PROCEDURE",
    Range = "RANGE",
    Read = "READ",
    Recursive = "RECURSIVE",
    References = "REFERENCES",
    Regexp = "REGEXP",
    Release = "RELEASE",
    Repeatable = "REPEATABLE",
    Replace = "REPLACE",
    Returning = "RETURNING",
    Returns = "RETURNS",
    Right = "RIGHT",
    Rollback = "ROLLBACK",
    Rollup = "ROLLUP",
    Row = "ROW",
    Rows = "ROWS",
    Savepoint = "SAVEPOINT",
    Select = "SELECT",
    Serializable = "SERIALIZABLE",
    Session = "SESSION",
    Set = "SET",
    Share = "SHARE",
    Show = "SHOW",
    Similar = "SIMILAR",
    Skip = "SKIP",
    Some = "SOME",
    Start = "START",
    Status = "STATUS",
    StraightJoin = "STRAIGHT_JOIN",
    Table = "TABLE",
    Tables = "TABLES",
    Temp = "TEMP",
    Temporary = "TEMPORARY",
    Then = "THEN",
    To = "TO",
    Top = "TOP",
    Transaction = "TRANSACTION",
    True = "TRUE",
    Truncate = "TRUNCATE",
    Unbounded = "UNBOUNDED",
    Uncommitted = "UNCOMMITTED",
    Union = "UNION",
    Unique = "UNIQUE",
    Update = "UPDATE",
    Use = "USE",
    Using = "USING",
    Values = "VALUES",
    Variables = "VARIABLES",
    View = "VIEW",
    When = "WHEN",
    Where = "WHERE",
    Window = "WINDOW",
    With = "WITH",
    Within = "WITHIN",
    Work = "WORK",
    Write = "WRITE",
}

impl Kw {
    /// Whether the word is a keyword after the keyword `prev` (`None`: the previous token is not a
    /// keyword). Most keywords always are; the words below are also common column names (`level`,
    /// `key`, `start`, `temp`, `no`…) and are keywords only where SQL uses them as such, so that
    /// `WHERE level = ?` keeps its column.
    fn applies_after(self, prev: Option<Kw>, statement_start: bool) -> bool {
        let after = |keywords: &[Kw]| prev.is_some_and(|prev| keywords.contains(&prev));
        match self {
            Kw::Start => statement_start,
            Kw::Level => after(&[Kw::Isolation]),
            Kw::Read => after(&[Kw::Transaction, Kw::Level]),
            Kw::Write => after(&[Kw::Read]),
            Kw::Names => after(&[Kw::Set]),
            Kw::Session | Kw::Global => after(&[Kw::Set, Kw::Show]),
            Kw::Variables | Kw::Status => after(&[Kw::Show, Kw::Session, Kw::Global, Kw::Table]),
            Kw::Key => after(&[Kw::Primary, Kw::Foreign, Kw::Duplicate, Kw::Unique, Kw::No]),
            Kw::First => after(&[Kw::Fetch, Kw::Nulls]),
            Kw::Last => after(&[Kw::Nulls]),
            Kw::Next => after(&[Kw::Fetch]),
            // `FOR NO KEY UPDATE`, `ON DELETE NO ACTION`.
            Kw::No => after(&[Kw::For, Kw::Delete, Kw::Update]),
            // `FOR SHARE`, `LOCK IN SHARE MODE`.
            Kw::Share => after(&[Kw::For, Kw::In]),
            Kw::Work => after(&[Kw::Begin, Kw::Commit, Kw::Rollback]),
            Kw::Temp | Kw::Temporary => after(&[Kw::Create, Kw::Replace, Kw::Drop]),
            _ => true,
        }
    }

    /// Keywords that are values, so that a `-` after them is a binary minus.
    fn ends_operand(self) -> bool {
        matches!(
            self,
            Kw::Null
                | Kw::True
                | Kw::False
                | Kw::End
                | Kw::CurrentDate
                | Kw::CurrentTime
                | Kw::CurrentTimestamp
        )
    }

    /// Keywords written like function names before `(`: no space, and their parentheses hold arguments.
    fn is_function_like(self) -> bool {
        matches!(
            self,
            Kw::Cast
                | Kw::Extract
                | Kw::Any
                | Kw::Some
                | Kw::Left
                | Kw::Right
                | Kw::If
                | Kw::Replace
                | Kw::Row
                | Kw::Array
        )
    }

    /// Words that may stand between a table-introducing keyword and the name
    /// (`FROM ONLY t`, `JOIN LATERAL (…)`, `DROP TABLE IF EXISTS t`, `TRUNCATE TABLE t`).
    fn is_table_modifier(self) -> bool {
        matches!(
            self,
            Kw::Only
                | Kw::Lateral
                | Kw::If
                | Kw::Not
                | Kw::Exists
                | Kw::Table
                | Kw::Ignore
                | Kw::LowPriority
                | Kw::Temp
                | Kw::Temporary
        )
    }

    /// Verbs that can follow the common table expressions of a `WITH` statement.
    fn is_main_verb(self) -> bool {
        matches!(
            self,
            Kw::Select | Kw::Insert | Kw::Update | Kw::Delete | Kw::Merge | Kw::Replace
        )
    }

    /// The operation a statement starting with this keyword performs.
    fn operation(self) -> &'static str {
        match self {
            Kw::Select
            | Kw::Insert
            | Kw::Update
            | Kw::Delete
            | Kw::Replace
            | Kw::Merge
            | Kw::Create
            | Kw::Alter
            | Kw::Drop
            | Kw::Truncate
            | Kw::Begin
            | Kw::Commit
            | Kw::Rollback
            | Kw::Set
            | Kw::Show
            | Kw::Call
            | Kw::With => self.as_str(),
            Kw::Start => "BEGIN",
            _ => "OTHER",
        }
    }
}

/// Open-addressing hash table from keyword spelling to index in [`Kw::ALL`] + 1 (0 = empty slot),
/// built at compile time: a keyword lookup costs one hash of the word and usually one comparison.
const KEYWORD_TABLE_SIZE: usize = 512;
const KEYWORD_TABLE: [u8; KEYWORD_TABLE_SIZE] = build_keyword_table();
const MAX_KEYWORD_LEN: usize = max_keyword_len();

// The table stores indexes + 1 in a byte and must stay sparse for short probes.
const _: () = assert!(KEYWORD_TEXTS.len() < 255 && KEYWORD_TEXTS.len() * 2 < KEYWORD_TABLE_SIZE);

// FNV-1a 32: good enough to spread a few hundred short words.
const KEYWORD_HASH_SEED: u32 = 0x811c_9dc5;

const fn keyword_hash_step(hash: u32, byte: u8) -> u32 {
    (hash ^ byte as u32).wrapping_mul(0x0100_0193)
}

const fn keyword_hash(bytes: &[u8]) -> usize {
    let mut hash = KEYWORD_HASH_SEED;
    let mut i = 0;
    while i < bytes.len() {
        hash = keyword_hash_step(hash, bytes[i]);
        i += 1;
    }
    hash as usize
}

const fn build_keyword_table() -> [u8; KEYWORD_TABLE_SIZE] {
    let mut table = [0u8; KEYWORD_TABLE_SIZE];
    let mut i = 0;
    while i < KEYWORD_TEXTS.len() {
        let mut slot = keyword_hash(KEYWORD_TEXTS[i].as_bytes()) % KEYWORD_TABLE_SIZE;
        while table[slot] != 0 {
            slot = (slot + 1) % KEYWORD_TABLE_SIZE;
        }
        table[slot] = (i + 1) as u8;
        i += 1;
    }
    table
}

const fn max_keyword_len() -> usize {
    let mut max = 0;
    let mut i = 0;
    while i < KEYWORD_TEXTS.len() {
        if KEYWORD_TEXTS[i].len() > max {
            max = KEYWORD_TEXTS[i].len();
        }
        i += 1;
    }
    max
}

/// The keyword `word` spells, in any case.
fn lookup_keyword(word: &str) -> Option<Kw> {
    let bytes = word.as_bytes();
    if bytes.len() < 2 || bytes.len() > MAX_KEYWORD_LEN {
        return None;
    }
    // Upper-case and hash in one pass, giving up at the first byte no keyword has: most names
    // (`order0_`, `id1_0_`, `users`) are rejected here or by the first probe.
    let mut upper = [0u8; MAX_KEYWORD_LEN];
    let mut hash = KEYWORD_HASH_SEED;
    for (slot, &byte) in upper.iter_mut().zip(bytes) {
        if !byte.is_ascii_alphabetic() && byte != b'_' {
            return None;
        }
        let byte = byte.to_ascii_uppercase();
        *slot = byte;
        hash = keyword_hash_step(hash, byte);
    }
    let upper = upper.get(..bytes.len())?;
    let mut slot = hash as usize % KEYWORD_TABLE_SIZE;
    loop {
        let entry = usize::from(*KEYWORD_TABLE.get(slot)?);
        let index = entry.checked_sub(1)?;
        if KEYWORD_TEXTS.get(index)?.as_bytes() == upper {
            return Kw::ALL.get(index).copied();
        }
        slot = (slot + 1) % KEYWORD_TABLE_SIZE;
    }
}

// ---------------------------------------------------------------------------------------------------
// Lexer
// ---------------------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TokenKind {
    /// An unquoted identifier or keyword.
    Word,
    /// A quoted identifier; the token's text is what is between the quotes, doubled quotes still doubled.
    QuotedIdent,
    /// A string, number or other constant.
    Literal,
    /// A bind parameter.
    Placeholder,
    /// `?+`, a list already collapsed by this module (as met when fingerprinting a fingerprint).
    ValueList,
    OpenParen,
    CloseParen,
    OpenBracket,
    CloseBracket,
    Comma,
    Dot,
    Semicolon,
    /// `::`, the PostgreSQL cast.
    Cast,
    /// Any other symbol: comparison, arithmetic, JSON and array operators, `*`, `{`…
    Operator,
}

#[derive(Clone, Copy, Debug)]
struct Token<'a> {
    kind: TokenKind,
    text: &'a str,
    /// The keyword a `Word` spells.
    kw: Option<Kw>,
    /// For `QuotedIdent`: the closing quote character, which is doubled inside the text.
    quote: u8,
}

/// Character classes of bytes, looked up in [`BYTE_CLASSES`]: the lexer's inner loops test one bit.
const IDENT_START: u8 = 1;
const IDENT_CHAR: u8 = 2;
const BLANK: u8 = 4;

const BYTE_CLASSES: [u8; 256] = byte_classes();

const fn byte_classes() -> [u8; 256] {
    let mut classes = [0u8; 256];
    let mut byte = 0;
    while byte < 256 {
        let b = byte as u8;
        // Bytes of multi-byte characters count as letters: identifiers may be in any script.
        if b.is_ascii_alphabetic() || b == b'_' || b >= 0x80 {
            classes[byte] |= IDENT_START | IDENT_CHAR;
        }
        if b.is_ascii_digit() || b == b'$' {
            classes[byte] |= IDENT_CHAR;
        }
        if matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c) {
            classes[byte] |= BLANK;
        }
        byte += 1;
    }
    classes
}

fn is_ident_start(byte: u8) -> bool {
    BYTE_CLASSES[usize::from(byte)] & IDENT_START != 0
}

fn is_ident_char(byte: u8) -> bool {
    BYTE_CLASSES[usize::from(byte)] & IDENT_CHAR != 0
}

fn is_blank(byte: u8) -> bool {
    BYTE_CLASSES[usize::from(byte)] & BLANK != 0
}

/// The operators of more than one character that [`Lexer::scan_operator`] knows (`#>`, `#>>`, `#-`,
/// `@>`, `@@` and `::` have their own scanners). The tests check the scanner against this list.
#[cfg(test)]
const MULTI_CHAR_OPERATORS: &[&str] = &[
    "!~~*", "->>", "<=>", "~~*", "!~~", "!~*", "||/", "<<=", ">>=", "-|-", "->", "<=", ">=", "<>",
    "!=", "==", "=>", "||", "&&", "<<", ">>", "<@", "~*", "!~", "~~", "|/", "^@", "&<", "&>",
];

/// Splits SQL text into tokens, skipping whitespace and comments. Works on bytes: every token boundary
/// is next to an ASCII byte or at the end, so slicing the text there never splits a character.
struct Lexer<'a> {
    src: &'a str,
    pos: usize,
    /// The previous token ends an operand (a name, a constant, `)`, `]`): a `-` or `+` after it is a
    /// binary operator, a `:` is not a bind parameter, and `[` is a subscript.
    after_operand: bool,
    /// The previous token is the keyword `ARRAY`, so `[` opens an array constructor.
    after_array: bool,
    /// The previous token is `.` or `::`, so the next word is a name (`t.key`) or a type
    /// (`::interval`) whatever it spells.
    name_expected: bool,
    /// The keyword the previous token is, if any.
    prev_kw: Option<Kw>,
    /// No token yet, or the previous one is `;`.
    statement_start: bool,
}

impl<'a> Lexer<'a> {
    fn new(src: &'a str) -> Self {
        Lexer {
            src,
            pos: 0,
            after_operand: false,
            after_array: false,
            name_expected: false,
            prev_kw: None,
            statement_start: true,
        }
    }

    /// The byte at `index`, or 0 past the end (0 is nothing special to any decision below).
    fn byte(&self, index: usize) -> u8 {
        self.src.as_bytes().get(index).copied().unwrap_or(0)
    }

    fn next_token(&mut self) -> Option<Token<'a>> {
        let spaced = self.skip_trivia();
        let start = self.pos;
        let first = *self.src.as_bytes().get(start)?;
        let (kind, end) = match first {
            b'\'' => (TokenKind::Literal, self.scan_string(start + 1)),
            b'"' | b'`' => self.scan_quoted_ident(start, first),
            b'[' => self.scan_bracket(start, spaced),
            b']' => (TokenKind::CloseBracket, start + 1),
            b'(' => (TokenKind::OpenParen, start + 1),
            b')' => (TokenKind::CloseParen, start + 1),
            b',' => (TokenKind::Comma, start + 1),
            b';' => (TokenKind::Semicolon, start + 1),
            b'.' if !self.after_operand && self.byte(start + 1).is_ascii_digit() => {
                (TokenKind::Literal, self.scan_number(start))
            }
            b'.' => (TokenKind::Dot, start + 1),
            b'0'..=b'9' => self.scan_number_or_word(start),
            b'-' | b'+' if !self.after_operand && self.number_starts_at(start + 1) => {
                (TokenKind::Literal, self.scan_number(start + 1))
            }
            b'$' => self.scan_dollar(start),
            b'?' => self.scan_question_mark(start),
            b':' => self.scan_colon(start),
            b'@' => self.scan_at(start),
            b'%' => self.scan_percent(start),
            b'#' => self.scan_hash(start),
            _ if is_ident_start(first) => self.scan_word(start),
            _ => (TokenKind::Operator, self.scan_operator(start)),
        };
        // Always make progress, never go past the end.
        let end = end.max(start + 1).min(self.src.len());
        self.pos = end;

        let (text, quote) = if kind == TokenKind::QuotedIdent {
            let quote = if first == b'[' { b']' } else { first };
            (self.src.get(start + 1..end - 1).unwrap_or(""), quote)
        } else {
            (self.src.get(start..end).unwrap_or(""), 0)
        };
        let kw = if kind == TokenKind::Word && !self.name_expected {
            lookup_keyword(text).filter(|kw| kw.applies_after(self.prev_kw, self.statement_start))
        } else {
            None
        };

        self.after_operand = match kind {
            TokenKind::Word => kw.is_none_or(Kw::ends_operand),
            TokenKind::QuotedIdent
            | TokenKind::Literal
            | TokenKind::Placeholder
            | TokenKind::ValueList
            | TokenKind::CloseParen
            | TokenKind::CloseBracket => true,
            _ => false,
        };
        self.after_array = kw == Some(Kw::Array);
        self.name_expected = matches!(kind, TokenKind::Dot | TokenKind::Cast);
        self.prev_kw = kw;
        self.statement_start = kind == TokenKind::Semicolon;
        Some(Token {
            kind,
            text,
            kw,
            quote,
        })
    }

    /// Skips whitespace and comments; tells whether there were any.
    fn skip_trivia(&mut self) -> bool {
        let start = self.pos;
        while let Some(&byte) = self.src.as_bytes().get(self.pos) {
            match byte {
                _ if is_blank(byte) => self.pos += 1,
                b'-' if self.byte(self.pos + 1) == b'-' => self.skip_line(),
                b'/' if self.byte(self.pos + 1) == b'*' => {
                    // Not nested: MySQL does not nest comments, and its `/*! … */` and the `/*+ … */`
                    // hints are comments like any other here.
                    let body = self.pos + 2;
                    self.pos = match self.src.get(body..).and_then(|rest| rest.find("*/")) {
                        Some(offset) => body + offset + 2,
                        None => self.src.len(),
                    };
                }
                b'#' if self.hash_starts_comment() => self.skip_line(),
                _ => break,
            }
        }
        self.pos > start
    }

    fn skip_line(&mut self) {
        let rest = self.src.as_bytes().get(self.pos..).unwrap_or_default();
        self.pos = match rest.iter().position(|&byte| byte == b'\n') {
            Some(offset) => self.pos + offset + 1,
            None => self.src.len(),
        };
    }

    /// `#` is a MySQL comment, except in the PostgreSQL operators `#>`, `#>>` and `#-`, and in SQL
    /// Server temporary table names (`#orders`) unless at the start of a line, where MySQL scripts put
    /// their comments.
    fn hash_starts_comment(&self) -> bool {
        let next = self.byte(self.pos + 1);
        match next {
            b'>' => false,
            b'-' => !matches!(self.byte(self.pos + 2), b' ' | b'\t' | b'\'' | b'?' | b'$'),
            _ if is_ident_start(next) || next == b'#' => self.at_line_start(),
            _ => true,
        }
    }

    fn at_line_start(&self) -> bool {
        let before = self.src.as_bytes().get(..self.pos).unwrap_or_default();
        before
            .iter()
            .rev()
            .take_while(|&&byte| byte != b'\n')
            .all(|&byte| matches!(byte, b' ' | b'\t' | b'\r'))
    }

    /// Scans a single-quoted string from just after its opening quote; returns the end of the string
    /// (the end of the text if unterminated). Doubled quotes and backslash escapes stay inside.
    fn scan_string(&self, mut i: usize) -> usize {
        let bytes = self.src.as_bytes();
        while let Some(&byte) = bytes.get(i) {
            match byte {
                b'\\' => i += 2,
                b'\'' if bytes.get(i + 1) == Some(&b'\'') => i += 2,
                b'\'' => return i + 1,
                _ => i += 1,
            }
        }
        bytes.len()
    }

    fn scan_quoted_ident(&self, start: usize, quote: u8) -> (TokenKind, usize) {
        let bytes = self.src.as_bytes();
        let mut i = start + 1;
        while let Some(&byte) = bytes.get(i) {
            if byte == quote {
                if bytes.get(i + 1) == Some(&quote) {
                    i += 2;
                    continue;
                }
                return (TokenKind::QuotedIdent, i + 1);
            }
            i += 1;
        }
        // Unterminated: more likely a cut-off MySQL "string" than a name, and a constant must never
        // leak into the fingerprint.
        (TokenKind::Literal, bytes.len())
    }

    /// `[` is a subscript or an array constructor in PostgreSQL, and a quoted identifier in SQL Server
    /// (`[dbo].[Order Details]`). It is an identifier only when not right after an operand or `ARRAY`
    /// and what follows looks like a name up to the `]`.
    fn scan_bracket(&self, start: usize, spaced: bool) -> (TokenKind, usize) {
        const MAX_NAME_LEN: usize = 128;
        if self.after_array
            || (self.after_operand && !spaced)
            || !is_ident_start(self.byte(start + 1))
        {
            return (TokenKind::OpenBracket, start + 1);
        }
        let bytes = self.src.as_bytes();
        let mut i = start + 1;
        while let Some(&byte) = bytes.get(i) {
            if i - start > MAX_NAME_LEN {
                break;
            }
            match byte {
                b']' if bytes.get(i + 1) == Some(&b']') => i += 2,
                b']' => return (TokenKind::QuotedIdent, i + 1),
                b' ' | b'-' | b'#' | b'@' => i += 1,
                _ if is_ident_char(byte) => i += 1,
                _ => break,
            }
        }
        (TokenKind::OpenBracket, start + 1)
    }

    fn number_starts_at(&self, i: usize) -> bool {
        let byte = self.byte(i);
        byte.is_ascii_digit() || (byte == b'.' && self.byte(i + 1).is_ascii_digit())
    }

    /// Scans a number starting at a digit or at `.` followed by a digit; returns its end.
    fn scan_number(&self, start: usize) -> usize {
        let mut i = start;
        if self.byte(i) == b'0' {
            let radix_digit: Option<fn(u8) -> bool> = match self.byte(i + 1) {
                b'x' | b'X' => Some(|b: u8| b.is_ascii_hexdigit()),
                b'b' | b'B' => Some(|b: u8| b == b'0' || b == b'1'),
                b'o' | b'O' => Some(|b: u8| (b'0'..=b'7').contains(&b)),
                _ => None,
            };
            if let Some(is_digit) = radix_digit {
                if is_digit(self.byte(i + 2)) {
                    i += 2;
                    while is_digit(self.byte(i)) || self.byte(i) == b'_' {
                        i += 1;
                    }
                    return i;
                }
            }
        }
        while self.byte(i).is_ascii_digit() || self.byte(i) == b'_' {
            i += 1;
        }
        if self.byte(i) == b'.' && self.byte(i + 1) != b'.' {
            i += 1;
            while self.byte(i).is_ascii_digit() || self.byte(i) == b'_' {
                i += 1;
            }
        }
        if matches!(self.byte(i), b'e' | b'E') {
            let mut j = i + 1;
            if matches!(self.byte(j), b'+' | b'-') {
                j += 1;
            }
            if self.byte(j).is_ascii_digit() {
                i = j;
                while self.byte(i).is_ascii_digit() {
                    i += 1;
                }
            }
        }
        i
    }

    /// A number, or a MySQL identifier that starts with digits (`1st_quarter`).
    fn scan_number_or_word(&self, start: usize) -> (TokenKind, usize) {
        let end = self.scan_number(start);
        if is_ident_char(self.byte(end)) {
            (TokenKind::Word, self.scan_ident_chars(end))
        } else {
            (TokenKind::Literal, end)
        }
    }

    fn scan_ident_chars(&self, i: usize) -> usize {
        let rest = self.src.as_bytes().get(i..).unwrap_or_default();
        i + rest
            .iter()
            .position(|&byte| !is_ident_char(byte))
            .unwrap_or(rest.len())
    }

    fn scan_word(&self, start: usize) -> (TokenKind, usize) {
        let first = self.byte(start);
        let second = self.byte(start + 1);
        // E'…' (escapes), N'…' (national), X'…' (hex), B'…' (bits), U&'…' (Unicode escapes).
        if second == b'\'' && matches!(first, b'e' | b'E' | b'n' | b'N' | b'x' | b'X' | b'b' | b'B')
        {
            return (TokenKind::Literal, self.scan_string(start + 2));
        }
        if matches!(first, b'u' | b'U') && second == b'&' && self.byte(start + 2) == b'\'' {
            return (TokenKind::Literal, self.scan_string(start + 3));
        }
        (TokenKind::Word, self.scan_ident_chars(start + 1))
    }

    /// `$1` (bind parameter), `$$…$$` and `$tag$…$tag$` (dollar-quoted strings).
    fn scan_dollar(&self, start: usize) -> (TokenKind, usize) {
        let next = self.byte(start + 1);
        if next.is_ascii_digit() {
            let mut i = start + 1;
            while self.byte(i).is_ascii_digit() {
                i += 1;
            }
            return (TokenKind::Placeholder, i);
        }
        let tag_end = if next == b'$' {
            start + 1
        } else if is_ident_start(next) {
            let mut i = start + 1;
            while self.byte(i) != b'$' && is_ident_char(self.byte(i)) {
                i += 1;
            }
            if self.byte(i) != b'$' {
                // `$name` without a closing `$`: MySQL allows `$` in names.
                return (TokenKind::Word, i);
            }
            i
        } else {
            return (TokenKind::Operator, start + 1);
        };
        let body = tag_end + 1;
        let Some(delimiter) = self.src.get(start..body) else {
            return (TokenKind::Operator, start + 1);
        };
        let end = match self.src.get(body..).and_then(|rest| rest.find(delimiter)) {
            Some(offset) => body + offset + delimiter.len(),
            None => self.src.len(),
        };
        (TokenKind::Literal, end)
    }

    /// `?`, `?1` (numbered), and `?+` before `)` or `]` (a list this module collapsed).
    fn scan_question_mark(&self, start: usize) -> (TokenKind, usize) {
        let next = self.byte(start + 1);
        if next.is_ascii_digit() {
            let mut i = start + 1;
            while self.byte(i).is_ascii_digit() {
                i += 1;
            }
            return (TokenKind::Placeholder, i);
        }
        if next == b'+' {
            let mut i = start + 2;
            while is_blank(self.byte(i)) {
                i += 1;
            }
            if matches!(self.byte(i), b')' | b']') {
                return (TokenKind::ValueList, start + 2);
            }
        }
        (TokenKind::Placeholder, start + 1)
    }

    /// `::` (cast), `:=`, and `:name` / `:1` bind parameters where an operand is expected (so that the
    /// slice `a[1:2]` stays an operator).
    fn scan_colon(&self, start: usize) -> (TokenKind, usize) {
        let next = self.byte(start + 1);
        match next {
            b':' => (TokenKind::Cast, start + 2),
            b'=' => (TokenKind::Operator, start + 2),
            _ if !self.after_operand && (is_ident_start(next) || next.is_ascii_digit()) => {
                (TokenKind::Placeholder, self.scan_ident_chars(start + 1))
            }
            _ => (TokenKind::Operator, start + 1),
        }
    }

    /// `@p1` / `@name` (SQL Server and MySQL variables as parameters), `@@version` (system variables,
    /// kept as names), and the operators `@>`, `@@`, `@`.
    fn scan_at(&self, start: usize) -> (TokenKind, usize) {
        let next = self.byte(start + 1);
        match next {
            b'@' if is_ident_start(self.byte(start + 2)) => {
                (TokenKind::Word, self.scan_ident_chars(start + 2))
            }
            b'@' | b'>' => (TokenKind::Operator, start + 2),
            _ if is_ident_start(next) => (TokenKind::Placeholder, self.scan_ident_chars(start + 1)),
            _ => (TokenKind::Operator, start + 1),
        }
    }

    /// `%s` and `%(name)s` (Python DB-API), or the modulo operator.
    fn scan_percent(&self, start: usize) -> (TokenKind, usize) {
        let next = self.byte(start + 1);
        if next == b's' && !is_ident_char(self.byte(start + 2)) {
            return (TokenKind::Placeholder, start + 2);
        }
        if next == b'(' {
            let close = self.scan_ident_chars(start + 2);
            if close > start + 2 && self.byte(close) == b')' && self.byte(close + 1) == b's' {
                return (TokenKind::Placeholder, close + 2);
            }
        }
        (TokenKind::Operator, start + 1)
    }

    /// A `#` that does not start a comment: `#>`, `#>>`, `#-`, or a temporary table name.
    fn scan_hash(&self, start: usize) -> (TokenKind, usize) {
        match self.byte(start + 1) {
            b'>' if self.byte(start + 2) == b'>' => (TokenKind::Operator, start + 3),
            b'>' | b'-' => (TokenKind::Operator, start + 2),
            b'#' => (TokenKind::Word, self.scan_ident_chars(start + 2)),
            _ => (TokenKind::Word, self.scan_ident_chars(start + 1)),
        }
    }

    /// The end of the longest operator at `start` (comparison, arithmetic, string, array, range,
    /// pattern matching and JSON operators of PostgreSQL and MySQL), or of the single symbol there.
    /// A `match` rather than a table search: operators are frequent tokens.
    fn scan_operator(&self, start: usize) -> usize {
        let third = self.byte(start + 2);
        let len = match (self.byte(start), self.byte(start + 1)) {
            (b'-', b'>') | (b'<', b'=') | (b'~', b'~') | (b'|', b'|') => {
                // `->>`, `<=>`, `~~*`, `||/`
                if matches!(
                    (self.byte(start + 1), third),
                    (b'>', b'>') | (b'=', b'>') | (b'~', b'*') | (b'|', b'/')
                ) {
                    3
                } else {
                    2
                }
            }
            (b'<', b'<') | (b'>', b'>') => {
                if third == b'=' {
                    3
                } else {
                    2
                }
            }
            (b'!', b'~') => match (third, self.byte(start + 3)) {
                (b'~', b'*') => 4,
                (b'~' | b'*', _) => 3,
                _ => 2,
            },
            (b'-', b'|') if third == b'-' => 3,
            (b'>' | b'!' | b'=', b'=')
            | (b'<', b'>' | b'@')
            | (b'=', b'>')
            | (b'&', b'&' | b'<' | b'>')
            | (b'~', b'*')
            | (b'|' | b'^', b'/' | b'@') => 2,
            _ => 1,
        };
        start + len
    }
}

// ---------------------------------------------------------------------------------------------------
// Normalizer
// ---------------------------------------------------------------------------------------------------

/// What a token stands for once its neighbours are known.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Keyword(Kw),
    /// A name: unquoted (lower-cased), or quoted.
    Ident,
    /// A constant or bind parameter, written `?` (or `?+`).
    Value,
    /// Punctuation and operators.
    Other,
}

/// The last token written, for spacing and for decisions that look one token back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Prev<'a> {
    Start,
    Ident,
    Keyword(Kw),
    Value,
    Open,
    Close,
    Comma,
    Dot,
    Cast,
    Separator,
    Op(&'a str),
}

/// The keyword that introduced a table name, which decides what may follow the name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Intro {
    From,
    Join,
    Into,
    Update,
    Table,
    Using,
    References,
    IndexOn,
    View,
}

impl Intro {
    /// Whether a comma after the table (and its alias) introduces another table: `FROM a, b`.
    fn takes_list(self) -> bool {
        matches!(
            self,
            Intro::From | Intro::Update | Intro::Table | Intro::Using
        )
    }

    /// Whether a `(` right after the name is its column list (`INSERT INTO t (a)`) rather than a
    /// function call (`FROM generate_series(1, 9)`).
    fn name_takes_columns(self) -> bool {
        matches!(
            self,
            Intro::Into | Intro::Table | Intro::References | Intro::IndexOn | Intro::View
        )
    }
}

/// What the tokens at the current nesting level are expected to be: the state of the table, common
/// table expression and `VALUES` tracking. Saved when a parenthesis opens and restored when it closes,
/// so `FROM (SELECT …) AS s, t` still sees `t`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ctx {
    None,
    /// After a keyword that introduces a table.
    TableExpect(Intro),
    /// Reading a table name (its parts are in `pending_table`); `expect_part` after a `.`.
    TableName {
        intro: Intro,
        expect_part: bool,
    },
    /// After a table name or parenthesized table expression: an alias, or `,` for the next table.
    TableAfter {
        intro: Intro,
        alias_done: bool,
        as_seen: bool,
    },
    /// After `WITH`, or after `,` following a common table expression.
    CteExpectName,
    /// After a common table expression's name: its column list, `AS`, `[NOT] MATERIALIZED`, its body.
    CteAfterName {
        as_seen: bool,
    },
    /// After a common table expression's body: `,` for the next, or the main statement.
    CteAfterBody,
    /// After `VALUES`, or after `,` following a row: a row is expected. `first_row` is the output
    /// range of the first row, `comma_pos` the output length before the `,` that preceded this row.
    ValuesExpectRow {
        first_row: Option<(u32, u32)>,
        comma_pos: u32,
    },
    /// After a `VALUES` row.
    ValuesAfterRow {
        first_row: Option<(u32, u32)>,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FrameKind {
    /// A subquery, expression group, column list…
    Group,
    /// A function's arguments: `FROM` in them is not a table (`EXTRACT(YEAR FROM ts)`).
    Call,
    /// `IN (…)`.
    InList,
    /// A row of `VALUES`.
    ValuesRow,
    /// A parenthesized item of a list that collapses (`IN ((1, 2), (3, 4))`).
    Tuple,
    /// `ARRAY[…]`, or a nested `[…]` inside it.
    ArrayLiteral,
    /// `x[1]`, `int[]`.
    Subscript,
}

impl FrameKind {
    fn collapses(self) -> bool {
        matches!(
            self,
            FrameKind::InList | FrameKind::ValuesRow | FrameKind::Tuple | FrameKind::ArrayLiteral
        )
    }
}

/// Whether the items of a list seen so far are all constants, separated by commas.
#[derive(Clone, Copy, Debug)]
struct ListState {
    all_values: bool,
    expect_item: bool,
}

impl ListState {
    const NEW: ListState = ListState {
        all_values: true,
        expect_item: true,
    };

    fn on_item(&mut self) {
        if self.expect_item {
            self.expect_item = false;
        } else {
            self.all_values = false;
        }
    }

    fn on_comma(&mut self) {
        if self.expect_item {
            self.all_values = false;
        } else {
            self.expect_item = true;
        }
    }

    fn spoil(&mut self) {
        self.all_values = false;
    }

    /// At least one item, all constants, no dangling comma.
    fn collapses(&self) -> bool {
        self.all_values && !self.expect_item
    }
}

/// An open parenthesis or bracket.
#[derive(Clone, Copy, Debug)]
struct Frame {
    kind: FrameKind,
    /// The context of the enclosing level, restored at the close.
    saved_ctx: Ctx,
    /// Output offset of the opening character (the content starts one byte later).
    open_pos: u32,
    list: ListState,
}

impl Frame {
    const EMPTY: Frame = Frame {
        kind: FrameKind::Group,
        saved_ctx: Ctx::None,
        open_pos: 0,
        list: ListState::NEW,
    };
}

struct Normalizer<'a> {
    out: String,
    tables: Vec<String>,
    cte_names: Vec<String>,
    /// The table name being read, reused from one name to the next.
    pending_table: String,
    operation: Option<&'static str>,
    /// The verb of the current statement (after `WITH …`, the main verb once seen).
    verb: Option<Kw>,
    /// No word has been seen yet in the current statement.
    statement_start: bool,
    in_first_statement: bool,
    /// After a leading `WITH`: the nesting level at which the main verb will appear.
    main_verb_depth: Option<usize>,
    /// `CREATE INDEX` / `DROP INDEX` seen: the next `ON` introduces a table.
    index_on_pending: bool,
    /// A `;` not written yet: trailing semicolons are dropped.
    pending_semicolon: bool,
    ctx: Ctx,
    frames: [Frame; MAX_DEPTH],
    depth: usize,
    /// Levels opened beyond `MAX_DEPTH`.
    overflow: usize,
    prev: Prev<'a>,
    /// The token before `prev`, for `IS DISTINCT FROM`.
    before_prev: Prev<'a>,
    /// `prev` is a keyword written like a function (`CAST`, `VALUES` in `= VALUES(col)`).
    prev_function_like: bool,
}

impl<'a> Normalizer<'a> {
    fn new(input_len: usize) -> Self {
        Normalizer {
            // Constants shrink to `?` and comments disappear, which makes up for the spaces added
            // around operators: the input length is rarely exceeded.
            out: String::with_capacity(input_len),
            tables: Vec::new(),
            cte_names: Vec::new(),
            pending_table: String::new(),
            operation: None,
            verb: None,
            statement_start: true,
            in_first_statement: true,
            main_verb_depth: None,
            index_on_pending: false,
            pending_semicolon: false,
            ctx: Ctx::None,
            frames: [Frame::EMPTY; MAX_DEPTH],
            depth: 0,
            overflow: 0,
            prev: Prev::Start,
            before_prev: Prev::Start,
            prev_function_like: false,
        }
    }

    /// Takes the result out (by `&mut self`: moving the normalizer, frames and all, costs a copy).
    fn finish(&mut self) -> SqlFingerprint {
        if matches!(self.ctx, Ctx::TableName { .. }) {
            self.commit_table();
        }
        SqlFingerprint {
            text: std::mem::take(&mut self.out),
            operation: self.operation.unwrap_or("OTHER").to_string(),
            tables: std::mem::take(&mut self.tables),
        }
    }

    fn process(&mut self, token: Token<'a>, next: Option<&Token<'a>>) {
        if token.kind == TokenKind::Semicolon {
            self.end_statement();
            return;
        }
        if self.pending_semicolon {
            self.pending_semicolon = false;
            self.out.push(';');
            self.set_prev(Prev::Separator);
        }
        let role = self.classify(&token, next);
        let is_verb = self.track_statement(&token, role);
        match token.kind {
            TokenKind::OpenParen | TokenKind::OpenBracket => self.open(token.kind),
            TokenKind::CloseParen | TokenKind::CloseBracket => self.close(token.kind),
            _ => {
                self.promote_call_to_subquery(role);
                self.track_context(&token, role, is_verb);
                self.note_list_item(&token, role);
                self.emit(&token, role);
            }
        }
    }

    fn classify(&self, token: &Token<'a>, next: Option<&Token<'a>>) -> Role {
        match token.kind {
            TokenKind::Word => {
                let Some(kw) = token.kw else {
                    return Role::Ident;
                };
                // `key.value`: a name, whatever it spells (the lexer already knows for `t.key`).
                if next.is_some_and(|n| n.kind == TokenKind::Dot) {
                    return Role::Ident;
                }
                let after_is_or_not = matches!(self.prev, Prev::Keyword(Kw::Is | Kw::Not));
                if matches!(kw, Kw::Null | Kw::True | Kw::False) && !after_is_or_not {
                    return Role::Value;
                }
                Role::Keyword(kw)
            }
            TokenKind::QuotedIdent => Role::Ident,
            TokenKind::Literal | TokenKind::Placeholder | TokenKind::ValueList => Role::Value,
            _ => Role::Other,
        }
    }

    fn nesting(&self) -> usize {
        self.depth + self.overflow
    }

    /// Tracks the operation; returns whether this token is the verb of its statement.
    fn track_statement(&mut self, token: &Token<'a>, role: Role) -> bool {
        if self.statement_start {
            match role {
                Role::Keyword(kw) => {
                    self.statement_start = false;
                    self.verb = Some(kw);
                    if self.operation.is_none() {
                        self.operation = Some(kw.operation());
                    }
                    if kw == Kw::With {
                        self.main_verb_depth = Some(self.nesting());
                    }
                    return true;
                }
                // `(SELECT …) UNION (SELECT …)`, JDBC's `{call proc(?)}`.
                _ if token.kind == TokenKind::OpenParen
                    || (token.kind == TokenKind::Operator && token.text == "{") => {}
                _ => {
                    self.statement_start = false;
                    if self.operation.is_none() {
                        self.operation = Some("OTHER");
                    }
                }
            }
            return false;
        }
        if let (Some(depth), Role::Keyword(kw)) = (self.main_verb_depth, role) {
            if depth == self.nesting() && kw.is_main_verb() {
                self.main_verb_depth = None;
                self.verb = Some(kw);
                if self.in_first_statement && self.operation == Some(Kw::With.as_str()) {
                    self.operation = Some(kw.operation());
                }
                return true;
            }
        }
        false
    }

    fn end_statement(&mut self) {
        if matches!(self.ctx, Ctx::TableName { .. }) {
            self.commit_table();
        }
        self.ctx = Ctx::None;
        self.depth = 0;
        self.overflow = 0;
        self.statement_start = true;
        self.verb = None;
        self.main_verb_depth = None;
        self.index_on_pending = false;
        if !self.out.is_empty() {
            self.pending_semicolon = true;
            self.in_first_statement = false;
        }
    }

    // ---- tables, common table expressions, VALUES rows ----

    fn track_context(&mut self, token: &Token<'a>, role: Role, is_verb: bool) {
        if self.continue_context(token, role) {
            return;
        }
        if let Role::Keyword(kw) = role {
            self.open_context(kw, is_verb);
        }
    }

    /// Feeds the token to the current context; returns whether the context consumed it. Otherwise
    /// the context is over and the token may start a new one.
    fn continue_context(&mut self, token: &Token<'a>, role: Role) -> bool {
        match self.ctx {
            Ctx::None => false,
            Ctx::TableExpect(intro) => match role {
                Role::Keyword(kw) if kw.is_table_modifier() => true,
                Role::Ident => {
                    self.pending_table.clear();
                    push_name_part(&mut self.pending_table, token);
                    self.ctx = Ctx::TableName {
                        intro,
                        expect_part: false,
                    };
                    true
                }
                _ => {
                    self.ctx = Ctx::None;
                    false
                }
            },
            Ctx::TableName { intro, expect_part } => {
                if expect_part && role == Role::Ident {
                    self.pending_table.push('.');
                    push_name_part(&mut self.pending_table, token);
                    self.ctx = Ctx::TableName {
                        intro,
                        expect_part: false,
                    };
                    return true;
                }
                if !expect_part && token.kind == TokenKind::Dot {
                    self.ctx = Ctx::TableName {
                        intro,
                        expect_part: true,
                    };
                    return true;
                }
                self.commit_table();
                self.ctx = Ctx::TableAfter {
                    intro,
                    alias_done: false,
                    as_seen: false,
                };
                self.continue_context(token, role)
            }
            Ctx::TableAfter {
                intro,
                alias_done,
                as_seen,
            } => {
                if !alias_done {
                    if role == Role::Keyword(Kw::As) && !as_seen {
                        self.ctx = Ctx::TableAfter {
                            intro,
                            alias_done,
                            as_seen: true,
                        };
                        return true;
                    }
                    // After `AS` anything is the alias, even a word that is a keyword elsewhere.
                    if role == Role::Ident || (as_seen && matches!(role, Role::Keyword(_))) {
                        self.ctx = Ctx::TableAfter {
                            intro,
                            alias_done: true,
                            as_seen,
                        };
                        return true;
                    }
                }
                if token.kind == TokenKind::Comma && intro.takes_list() {
                    self.ctx = Ctx::TableExpect(intro);
                    return true;
                }
                self.ctx = Ctx::None;
                false
            }
            Ctx::CteExpectName => match role {
                Role::Keyword(Kw::Recursive) => true,
                Role::Ident => {
                    if self.cte_names.len() < MAX_TABLES {
                        let mut name = String::new();
                        push_name_part(&mut name, token);
                        self.cte_names.push(name);
                    }
                    self.ctx = Ctx::CteAfterName { as_seen: false };
                    true
                }
                _ => {
                    self.ctx = Ctx::None;
                    false
                }
            },
            Ctx::CteAfterName { .. } => match role {
                Role::Keyword(Kw::As) => {
                    self.ctx = Ctx::CteAfterName { as_seen: true };
                    true
                }
                Role::Keyword(Kw::Not | Kw::Materialized) => true,
                _ => {
                    self.ctx = Ctx::None;
                    false
                }
            },
            Ctx::CteAfterBody => {
                if token.kind == TokenKind::Comma {
                    self.ctx = Ctx::CteExpectName;
                    return true;
                }
                self.ctx = Ctx::None;
                false
            }
            Ctx::ValuesExpectRow { .. } => {
                self.ctx = Ctx::None;
                false
            }
            Ctx::ValuesAfterRow { first_row } => {
                if token.kind == TokenKind::Comma {
                    // The comma is not written yet: this is where a repeated row gets cut.
                    self.ctx = Ctx::ValuesExpectRow {
                        first_row,
                        comma_pos: self.out_len(),
                    };
                    return true;
                }
                self.ctx = Ctx::None;
                false
            }
        }
    }

    /// Starts the context a keyword opens, if any.
    fn open_context(&mut self, kw: Kw, is_verb: bool) {
        let verb = self.verb;
        let verb_is = |verbs: &[Kw]| verb.is_some_and(|verb| verbs.contains(&verb));
        self.ctx = match kw {
            Kw::From if !self.in_call() && !self.is_distinct_from() => {
                Ctx::TableExpect(Intro::From)
            }
            Kw::Join | Kw::StraightJoin => Ctx::TableExpect(Intro::Join),
            Kw::Into => Ctx::TableExpect(Intro::Into),
            Kw::Table | Kw::Tables => Ctx::TableExpect(Intro::Table),
            Kw::Truncate if is_verb => Ctx::TableExpect(Intro::Table),
            // Only as the verb: not in `FOR UPDATE`, `ON DUPLICATE KEY UPDATE`, `DO UPDATE`.
            Kw::Update if is_verb => Ctx::TableExpect(Intro::Update),
            Kw::References => Ctx::TableExpect(Intro::References),
            Kw::Using if verb_is(&[Kw::Delete, Kw::Merge]) => Ctx::TableExpect(Intro::Using),
            Kw::View if verb_is(&[Kw::Create, Kw::Alter, Kw::Drop]) => {
                Ctx::TableExpect(Intro::View)
            }
            Kw::On if self.index_on_pending => {
                self.index_on_pending = false;
                Ctx::TableExpect(Intro::IndexOn)
            }
            Kw::Index if verb_is(&[Kw::Create, Kw::Drop]) => {
                self.index_on_pending = true;
                Ctx::None
            }
            // A common table expression list starts a statement or a subquery, or follows the `AS`
            // of `CREATE VIEW`; elsewhere `WITH` is `WITH (NOLOCK)`, `WITH TIME ZONE`…
            Kw::With if is_verb || matches!(self.prev, Prev::Open | Prev::Keyword(Kw::As)) => {
                Ctx::CteExpectName
            }
            // `VALUES(col)` after an operator is MySQL's function in `ON DUPLICATE KEY UPDATE`.
            Kw::Values if !matches!(self.prev, Prev::Op(_)) => Ctx::ValuesExpectRow {
                first_row: None,
                comma_pos: 0,
            },
            _ => Ctx::None,
        };
    }

    fn in_call(&self) -> bool {
        self.top()
            .is_some_and(|frame| frame.kind == FrameKind::Call)
    }

    /// `IS [NOT] DISTINCT FROM` compares; its `FROM` introduces no table.
    fn is_distinct_from(&self) -> bool {
        self.prev == Prev::Keyword(Kw::Distinct)
            && matches!(self.before_prev, Prev::Keyword(Kw::Is | Kw::Not))
    }

    fn commit_table(&mut self) {
        let name = &self.pending_table;
        let known = name.is_empty()
            || self.tables.len() >= MAX_TABLES
            || self.tables.iter().any(|table| table == name)
            || self.cte_names.iter().any(|cte| cte == name);
        if known {
            self.pending_table.clear();
        } else {
            self.tables.push(std::mem::take(&mut self.pending_table));
        }
    }

    // ---- parentheses, brackets and list collapsing ----

    fn top(&self) -> Option<&Frame> {
        if self.overflow > 0 {
            return None;
        }
        self.frames.get(self.depth.checked_sub(1)?)
    }

    fn top_mut(&mut self) -> Option<&mut Frame> {
        if self.overflow > 0 {
            return None;
        }
        self.frames.get_mut(self.depth.checked_sub(1)?)
    }

    /// The innermost level is a collapsing list waiting for an item.
    fn list_expects_item(&self) -> Option<FrameKind> {
        self.top()
            .filter(|frame| frame.kind.collapses() && frame.list.expect_item)
            .map(|frame| frame.kind)
    }

    /// `array(SELECT …)`, `ANY (SELECT …)`: a function whose argument is a subquery is a subquery.
    fn promote_call_to_subquery(&mut self, role: Role) {
        if self.prev != Prev::Open
            || !matches!(role, Role::Keyword(Kw::Select | Kw::With | Kw::Values))
        {
            return;
        }
        if let Some(frame) = self.top_mut() {
            if frame.kind == FrameKind::Call {
                frame.kind = FrameKind::Group;
            }
        }
    }

    /// Records a token that is neither `(` nor `)` in the innermost list.
    fn note_list_item(&mut self, token: &Token<'a>, role: Role) {
        let Some(frame) = self.top_mut() else {
            return;
        };
        if !frame.kind.collapses() {
            return;
        }
        if role == Role::Value {
            frame.list.on_item();
        } else if token.kind == TokenKind::Comma {
            frame.list.on_comma();
        } else {
            frame.list.spoil();
        }
    }

    fn open(&mut self, kind: TokenKind) {
        let is_paren = kind == TokenKind::OpenParen;
        let space = if is_paren {
            self.paren_space()
        } else {
            self.bracket_space()
        };
        let parent_list = self.list_expects_item();
        // `FROM (a JOIN b ON …)`: a parenthesized join starts with a table.
        let inner_ctx = match self.ctx {
            Ctx::TableExpect(intro @ (Intro::From | Intro::Join)) if is_paren => {
                Ctx::TableExpect(intro)
            }
            _ => Ctx::None,
        };
        let (frame_kind, saved_ctx) = if is_paren {
            self.paren_frame(parent_list.is_some())
        } else if self.prev == Prev::Keyword(Kw::Array)
            || parent_list == Some(FrameKind::ArrayLiteral)
        {
            (FrameKind::ArrayLiteral, self.ctx)
        } else {
            (FrameKind::Subscript, self.ctx)
        };
        // A tuple or nested array may still be an item of the enclosing list (decided at its close);
        // anything else in a list makes it more than constants.
        let maybe_item = parent_list.is_some()
            && matches!(frame_kind, FrameKind::Tuple | FrameKind::ArrayLiteral);
        if !maybe_item {
            if let Some(parent) = self.top_mut() {
                parent.list.spoil();
            }
        }
        if space {
            self.out.push(' ');
        }
        let open_pos = self.out_len();
        self.out.push(if is_paren { '(' } else { '[' });
        let frame = Frame {
            kind: frame_kind,
            saved_ctx,
            open_pos,
            list: ListState::NEW,
        };
        if self.overflow == 0 && self.depth < MAX_DEPTH {
            self.frames[self.depth] = frame;
            self.depth += 1;
        } else {
            // Too deep to track: the enclosing list can no longer tell what it holds.
            if let Some(parent) = self.top_mut() {
                parent.list.spoil();
            }
            self.overflow += 1;
        }
        self.ctx = inner_ctx;
        self.set_prev(Prev::Open);
    }

    /// The kind of a `(` and the context to restore after its `)`.
    fn paren_frame(&mut self, in_list: bool) -> (FrameKind, Ctx) {
        match self.ctx {
            Ctx::ValuesExpectRow { .. } => (FrameKind::ValuesRow, self.ctx),
            // `FROM (SELECT …) s`, `JOIN LATERAL (…)`: the group stands for a table.
            Ctx::TableExpect(intro) => (
                FrameKind::Group,
                Ctx::TableAfter {
                    intro,
                    alias_done: false,
                    as_seen: false,
                },
            ),
            Ctx::TableName { intro, .. } => {
                let kind = if intro.name_takes_columns() {
                    self.commit_table();
                    FrameKind::Group
                } else {
                    // `FROM unnest(…)`: a function, not a table.
                    self.pending_table.clear();
                    FrameKind::Call
                };
                let after = Ctx::TableAfter {
                    intro,
                    alias_done: false,
                    as_seen: false,
                };
                (kind, after)
            }
            // `AS v(a, b)`: column aliases.
            Ctx::TableAfter { intro, .. } => (
                self.paren_kind_from_prev(in_list),
                Ctx::TableAfter {
                    intro,
                    alias_done: true,
                    as_seen: true,
                },
            ),
            Ctx::CteAfterName { as_seen: true } => (FrameKind::Group, Ctx::CteAfterBody),
            Ctx::CteAfterName { as_seen: false } => {
                (FrameKind::Group, Ctx::CteAfterName { as_seen: false })
            }
            other => (self.paren_kind_from_prev(in_list), other),
        }
    }

    fn paren_kind_from_prev(&self, in_list: bool) -> FrameKind {
        match self.prev {
            Prev::Keyword(Kw::In) => FrameKind::InList,
            Prev::Ident => FrameKind::Call,
            Prev::Keyword(_) if self.prev_function_like => FrameKind::Call,
            _ if in_list => FrameKind::Tuple,
            _ => FrameKind::Group,
        }
    }

    fn paren_space(&self) -> bool {
        if matches!(self.prev, Prev::Start | Prev::Open | Prev::Dot | Prev::Cast) {
            return false;
        }
        match self.ctx {
            Ctx::TableName { intro, .. } if intro.name_takes_columns() => return true,
            Ctx::CteAfterName { .. } => return true,
            _ => {}
        }
        match self.prev {
            Prev::Ident => false,
            Prev::Keyword(_) => !self.prev_function_like,
            _ => true,
        }
    }

    fn bracket_space(&self) -> bool {
        !matches!(
            self.prev,
            Prev::Start
                | Prev::Open
                | Prev::Dot
                | Prev::Cast
                | Prev::Ident
                | Prev::Value
                | Prev::Close
                | Prev::Keyword(Kw::Array)
        )
    }

    fn close(&mut self, kind: TokenKind) {
        let close_char = if kind == TokenKind::CloseParen {
            ')'
        } else {
            ']'
        };
        let frame = if self.overflow > 0 {
            self.overflow -= 1;
            None
        } else if self.depth > 0 {
            self.depth -= 1;
            self.frames.get(self.depth).copied()
        } else {
            None
        };
        let Some(frame) = frame else {
            // Unbalanced, or deeper than tracked.
            self.out.push(close_char);
            self.ctx = Ctx::None;
            self.set_prev(Prev::Close);
            return;
        };
        if matches!(self.ctx, Ctx::TableName { .. }) {
            self.commit_table();
        }
        let collapsed = frame.kind.collapses() && frame.list.collapses();
        if collapsed && self.truncate_out(frame.open_pos + 1) {
            self.out.push_str("?+");
        }
        self.out.push(close_char);
        self.set_prev(Prev::Close);
        self.ctx = frame.saved_ctx;
        if frame.kind == FrameKind::ValuesRow {
            self.finish_values_row(frame);
        }
        if let Some(parent) = self.top_mut() {
            if parent.kind.collapses() {
                if collapsed && matches!(frame.kind, FrameKind::Tuple | FrameKind::ArrayLiteral) {
                    parent.list.on_item();
                } else {
                    parent.list.spoil();
                }
            }
        }
    }

    /// A `VALUES` row just closed: drop it (and its comma) if it reads the same as the first row.
    fn finish_values_row(&mut self, frame: Frame) {
        let row = (frame.open_pos, self.out_len());
        let first_row = match frame.saved_ctx {
            Ctx::ValuesExpectRow {
                first_row: Some(first),
                comma_pos,
            } => {
                let repeated = match (self.out_slice(first), self.out_slice(row)) {
                    (Some(first_text), Some(row_text)) => first_text == row_text,
                    _ => false,
                };
                if repeated {
                    self.truncate_out(comma_pos);
                }
                first
            }
            _ => row,
        };
        self.ctx = Ctx::ValuesAfterRow {
            first_row: Some(first_row),
        };
    }

    /// The output length as stored in frames and contexts. Positions are `u32` to keep frames small:
    /// the output of a 64 KiB input is far below 4 GiB (and a saturated position would only disable
    /// a collapse, through the checks of `truncate_out` and `out_slice`).
    fn out_len(&self) -> u32 {
        u32::try_from(self.out.len()).unwrap_or(u32::MAX)
    }

    fn out_slice(&self, (start, end): (u32, u32)) -> Option<&str> {
        self.out.get(start as usize..end as usize)
    }

    /// Cuts the output back to `len`; refuses (returning false) anything but a shortening at a
    /// character boundary, so that a bookkeeping slip can never panic.
    fn truncate_out(&mut self, len: u32) -> bool {
        let len = len as usize;
        if len <= self.out.len() && self.out.is_char_boundary(len) {
            self.out.truncate(len);
            true
        } else {
            false
        }
    }

    // ---- output ----

    fn set_prev(&mut self, prev: Prev<'a>) {
        self.before_prev = self.prev;
        self.prev = prev;
        self.prev_function_like = false;
    }

    fn emit(&mut self, token: &Token<'a>, role: Role) {
        let glued = matches!(self.prev, Prev::Start | Prev::Open | Prev::Dot | Prev::Cast)
            || matches!(
                token.kind,
                TokenKind::Comma | TokenKind::Dot | TokenKind::Cast
            );
        if !glued {
            self.out.push(' ');
        }
        match role {
            Role::Keyword(kw) => {
                self.out.push_str(kw.as_str());
                let function_like =
                    kw.is_function_like() || (kw == Kw::Values && matches!(self.prev, Prev::Op(_)));
                self.set_prev(Prev::Keyword(kw));
                self.prev_function_like = function_like;
            }
            Role::Ident => {
                if token.kind == TokenKind::QuotedIdent {
                    push_canonical_quoted(&mut self.out, token.text, token.quote);
                } else {
                    push_lowercase(&mut self.out, token.text);
                }
                self.set_prev(Prev::Ident);
            }
            Role::Value => {
                self.out.push_str(if token.kind == TokenKind::ValueList {
                    "?+"
                } else {
                    "?"
                });
                self.set_prev(Prev::Value);
            }
            Role::Other => {
                let prev = match token.kind {
                    TokenKind::Comma => Prev::Comma,
                    TokenKind::Dot => Prev::Dot,
                    TokenKind::Cast => Prev::Cast,
                    _ => Prev::Op(token.text),
                };
                // Operators and punctuation are ASCII and written as they are.
                self.out.push_str(token.text);
                self.set_prev(prev);
            }
        }
    }
}

fn push_lowercase(out: &mut String, word: &str) {
    let start = out.len();
    out.push_str(word);
    if let Some(written) = out.get_mut(start..) {
        written.make_ascii_lowercase();
    }
}

/// Calls `f` with each character of a quoted identifier's content, doubled closing quotes undoubled.
fn for_each_unquoted_char(content: &str, quote: u8, mut f: impl FnMut(char)) {
    let quote = char::from(quote);
    let mut skip_next = false;
    for ch in content.chars() {
        if skip_next {
            skip_next = false;
            continue;
        }
        skip_next = ch == quote;
        f(ch);
    }
}

/// Writes a quoted identifier in the form shared by all quoting styles: bare when it would read the
/// same unquoted, in double quotes otherwise.
fn push_canonical_quoted(out: &mut String, content: &str, quote: u8) {
    let plain = content
        .bytes()
        .next()
        .is_some_and(|first| first.is_ascii_lowercase() || first == b'_')
        && content
            .bytes()
            .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'_');
    if plain && lookup_keyword(content).is_none() {
        out.push_str(content);
        return;
    }
    out.push('"');
    for_each_unquoted_char(content, quote, |ch| {
        if ch == '"' {
            out.push('"');
        }
        out.push(ch);
    });
    out.push('"');
}

/// Appends one part of a (possibly qualified) name as it is listed in `tables`: lower-cased when
/// unquoted, as written when quoted.
fn push_name_part(name: &mut String, token: &Token<'_>) {
    if token.kind == TokenKind::QuotedIdent {
        for_each_unquoted_char(token.text, token.quote, |ch| name.push(ch));
    } else {
        push_lowercase(name, token.text);
    }
}
