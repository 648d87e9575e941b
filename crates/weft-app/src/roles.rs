//! `weft collector`, `weft processor` and `weft query`: one role per process, for the
//! distributed shape. Each needs a bus and a store that several processes share (Kafka and
//! ClickHouse), which this build does not have yet, so they refuse to start and say so; the
//! builders they will run are the ones `weft serve` composes.

/// A role of the distributed shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Collector,
    Processor,
    Query,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Collector => "collector",
            Role::Processor => "processor",
            Role::Query => "query",
        }
    }

    /// What the role needs from the outside that the all-in-one shape keeps in process.
    fn needs(self) -> &'static str {
        match self {
            Role::Collector => "a shared bus (Kafka) to append to",
            Role::Processor => "a shared bus (Kafka) to read and a shared store (ClickHouse)",
            Role::Query => "a shared store (ClickHouse) to read",
        }
    }
}

/// Reads the configuration like `weft serve` (so its errors show), then refuses: the role has
/// no shared bus or store to run on yet.
pub fn run_role(role: Role, args: crate::ServeArgs) -> anyhow::Result<()> {
    crate::ServeConfig::resolve(args)?;
    anyhow::bail!(
        "weft {} needs {}, which this build cannot connect to yet; `weft serve` runs the \
         collector, processor and query roles in one process over the WAL and the embedded store",
        role.name(),
        role.needs()
    )
}
