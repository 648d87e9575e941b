//! The ClickHouse span store: connects, picks the schema profile from the server's version,
//! migrates, inserts spans as RowBinary and reads traces back.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use weft_codec::ConversionOptions;
use weft_model::{Span, TraceId};
use weft_storage::StoreError;

use crate::rows::{spans_from_rows, SpanRow};
use crate::schema::{Schema, SchemaProfile, ServerVersion, SCHEMA_VERSION};

/// Where the store is and what it keeps.
#[derive(Debug, Clone)]
pub struct ClickHouseConfig {
    /// The HTTP interface, e.g. `http://127.0.0.1:8123`.
    pub url: String,
    pub database: String,
    pub user: Option<String>,
    pub password: Option<String>,
    pub span_retention: Duration,
    /// Forces a profile instead of choosing it from `SELECT version()`.
    pub profile: Option<SchemaProfile>,
    pub conversion: ConversionOptions,
}

impl ClickHouseConfig {
    pub fn new(url: impl Into<String>, database: impl Into<String>) -> Self {
        ClickHouseConfig {
            url: url.into(),
            database: database.into(),
            user: None,
            password: None,
            span_retention: Duration::from_secs(3 * 86_400),
            profile: None,
            conversion: ConversionOptions::default(),
        }
    }
}

fn unavailable(error: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable {
        store: "clickhouse",
        message: error.to_string(),
    }
}

pub struct ClickHouseSpanStore {
    client: clickhouse::Client,
    schema: Schema,
    server_version: ServerVersion,
    conversion: ConversionOptions,
}

impl ClickHouseSpanStore {
    /// Connects, reads the server's version, and brings the database to [`SCHEMA_VERSION`]
    /// (idempotent: a second store on the same database runs the same no-op statements).
    pub async fn open(config: ClickHouseConfig) -> Result<Self, StoreError> {
        // RowBinary without names and types: ClickHouse 18.16 has neither the format the
        // crate validates with (19.3) nor the setting its DESCRIBE sends.
        let mut client = clickhouse::Client::default()
            .with_url(&config.url)
            .with_validation(false);
        if let Some(user) = &config.user {
            client = client.with_user(user);
        }
        if let Some(password) = &config.password {
            client = client.with_password(password);
        }
        let version_text: String = client
            .query("SELECT version()")
            .fetch_one()
            .await
            .map_err(unavailable)?;
        let server_version = ServerVersion::parse(&version_text).map_err(unavailable)?;
        let profile = config
            .profile
            .unwrap_or_else(|| SchemaProfile::for_version(server_version));
        let schema = Schema::new(&config.database, profile, config.span_retention)
            .map_err(StoreError::InvalidQuery)?;
        let store = ClickHouseSpanStore {
            client,
            schema,
            server_version,
            conversion: config.conversion,
        };
        store.migrate().await?;
        Ok(store)
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        for statement in self.schema.migration_statements() {
            self.client
                .query(&statement)
                .execute()
                .await
                .map_err(unavailable)?;
        }
        let applied: u32 = self
            .client
            .query(&self.schema.applied_version_query())
            .fetch_one()
            .await
            .map_err(unavailable)?;
        if applied < SCHEMA_VERSION {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|elapsed| elapsed.as_secs())
                .unwrap_or(0);
            self.client
                .query(&self.schema.record_migration_statement(now))
                .execute()
                .await
                .map_err(unavailable)?;
        }
        Ok(())
    }

    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    pub fn server_version(&self) -> ServerVersion {
        self.server_version
    }

    /// Inserts the spans as one batch (one INSERT): all of them or, on an error, possibly
    /// none. A batch inserted again collapses into the first (see [`crate::schema`]).
    pub async fn insert(&self, spans: &[Span]) -> Result<(), StoreError> {
        let mut insert = self
            .client
            .insert_unescaped::<SpanRow>(&self.schema.spans_table())
            .await
            .map_err(unavailable)?;
        for span in spans {
            insert
                .write(&SpanRow::from_span(span))
                .await
                .map_err(unavailable)?;
        }
        insert.end().await.map_err(unavailable)
    }

    /// One trace's spans in start order, each once.
    pub async fn trace(
        &self,
        trace_id: TraceId,
        start_unix_nanos: Option<u64>,
        end_unix_nanos: Option<u64>,
    ) -> Result<Vec<Span>, StoreError> {
        let rows: Vec<SpanRow> = self
            .client
            .query(
                &self
                    .schema
                    .trace_query(trace_id, start_unix_nanos, end_unix_nanos),
            )
            .fetch_all()
            .await
            .map_err(unavailable)?;
        spans_from_rows(rows, &self.conversion).map_err(StoreError::Corrupt)
    }
}
