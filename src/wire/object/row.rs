//! What the store keeps of an object listed as a row of a server-side Table (`-o wide`,
//! transcripts 15-18): the row's cells as text, the columns they belong to, and the object's
//! `creationTimestamp` (to say its AGE at render time). The object's JSON is not kept.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use serde::Deserialize;

/// One column of a server-side Table, as its `columnDefinitions` define it.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct TableColumn {
    /// The column's name as the server writes it (`Name`, `Nominated Node`); kubectl upper-cases
    /// it for the header.
    pub name: String,
    /// 0 for the default columns, 1 and more for `-o wide`'s extra ones.
    #[serde(default)]
    pub priority: i32,
}

/// The columns of a Table, in order, as one list or watch answered them. Each set is numbered
/// in the order it arrived, so a listing whose rows carry different sets (a custom resource's
/// printer columns changed) uses the newest for its header.
#[derive(Debug, PartialEq, Eq)]
pub struct TableColumns {
    columns: Vec<TableColumn>,
    arrival: u64,
}

/// The number of the next column set to arrive.
static ARRIVALS: AtomicU64 = AtomicU64::new(0);

impl TableColumns {
    /// A column set, numbered after every set before it.
    pub fn new(columns: Vec<TableColumn>) -> Arc<Self> {
        Arc::new(TableColumns {
            columns,
            arrival: ARRIVALS.fetch_add(1, Ordering::Relaxed),
        })
    }

    /// The columns, in the server's order.
    pub fn columns(&self) -> &[TableColumn] {
        &self.columns
    }

    /// The order in which column sets arrived: a larger number arrived later.
    pub fn arrival(&self) -> u64 {
        self.arrival
    }
}

/// One object as a row of a server-side Table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableRow {
    /// The columns the cells belong to (one cell per column).
    pub columns: Arc<TableColumns>,
    /// The cells as text: strings as sent, numbers and booleans as written in JSON, `null` as
    /// kubectl prints it (`<none>`).
    pub cells: Box<[String]>,
    /// The object's `metadata.creationTimestamp`, when it has a readable one.
    pub created: Option<SystemTime>,
    /// When the row arrived: the relative times the server wrote in its cells (RESTARTS'
    /// `5 (2m ago)`) were true then.
    pub received: SystemTime,
}
