//! The two databases behind one small interface. Every query is written
//! once, in the SQL both understand, with `$1`-style parameters; SQLite
//! receives them as `?1`. Values cross as four types (null, integer, real,
//! text) so that neither dialect's type system leaks into the store.

use crate::StoreError;
use std::sync::Mutex;

/// One value of a parameter or a column.
#[derive(Debug, Clone, PartialEq)]
pub enum Sql {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
}

impl From<i64> for Sql {
    fn from(v: i64) -> Sql {
        Sql::Int(v)
    }
}
impl From<u64> for Sql {
    fn from(v: u64) -> Sql {
        Sql::Int(v.min(i64::MAX as u64) as i64)
    }
}
impl From<f64> for Sql {
    fn from(v: f64) -> Sql {
        Sql::Real(v)
    }
}
impl From<&str> for Sql {
    fn from(v: &str) -> Sql {
        Sql::Text(v.to_string())
    }
}
impl From<String> for Sql {
    fn from(v: String) -> Sql {
        Sql::Text(v)
    }
}
impl From<&String> for Sql {
    fn from(v: &String) -> Sql {
        Sql::Text(v.clone())
    }
}
impl<T: Into<Sql>> From<Option<T>> for Sql {
    fn from(v: Option<T>) -> Sql {
        v.map_or(Sql::Null, Into::into)
    }
}

/// One result row.
#[derive(Debug, Clone)]
pub struct Row(pub Vec<Sql>);

impl Row {
    pub fn int(&self, i: usize) -> i64 {
        match self.0.get(i) {
            Some(Sql::Int(v)) => *v,
            Some(Sql::Real(v)) => *v as i64,
            Some(Sql::Text(s)) => s.parse().unwrap_or(0),
            _ => 0,
        }
    }

    pub fn text(&self, i: usize) -> String {
        self.opt(i).unwrap_or_default()
    }

    pub fn opt(&self, i: usize) -> Option<String> {
        match self.0.get(i) {
            Some(Sql::Text(s)) => Some(s.clone()),
            Some(Sql::Int(v)) => Some(v.to_string()),
            Some(Sql::Real(v)) => Some(v.to_string()),
            _ => None,
        }
    }

    pub fn opt_int(&self, i: usize) -> Option<i64> {
        match self.0.get(i) {
            Some(Sql::Null) | None => None,
            _ => Some(self.int(i)),
        }
    }
}

/// What a transaction (or a plain connection) can do.
pub trait Conn {
    fn execute(&mut self, sql: &str, params: &[Sql]) -> Result<u64, StoreError>;
    fn query(&mut self, sql: &str, params: &[Sql]) -> Result<Vec<Row>, StoreError>;
}

pub enum Backend {
    Sqlite(Mutex<rusqlite::Connection>),
    /// The client is an Option only so that `Drop` can close it off the
    /// async runtime.
    Postgres(Mutex<Option<postgres::Client>>),
}

/// `$1` → `?1` (SQLite reads `$1` as a named parameter, numbered by first
/// appearance, which would misbind a query that uses `$2` before `$1`).
fn sqlite_sql(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek().is_some_and(|d| d.is_ascii_digit()) {
            out.push('?');
        } else {
            out.push(c);
        }
    }
    out
}

impl rusqlite::ToSql for Sql {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(match self {
            Sql::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Sql::Int(v) => ToSqlOutput::Borrowed(ValueRef::Integer(*v)),
            Sql::Real(v) => ToSqlOutput::Borrowed(ValueRef::Real(*v)),
            Sql::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
        })
    }
}

impl Conn for &rusqlite::Connection {
    fn execute(&mut self, sql: &str, params: &[Sql]) -> Result<u64, StoreError> {
        let mut st = self.prepare_cached(&sqlite_sql(sql))?;
        Ok(st.execute(rusqlite::params_from_iter(params.iter()))? as u64)
    }

    fn query(&mut self, sql: &str, params: &[Sql]) -> Result<Vec<Row>, StoreError> {
        sqlite_query(self, sql, params)
    }
}

impl postgres::types::ToSql for Sql {
    fn to_sql(
        &self,
        ty: &postgres::types::Type,
        out: &mut postgres::types::private::BytesMut,
    ) -> Result<postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>> {
        use postgres::types::Type;
        match self {
            Sql::Null => Ok(postgres::types::IsNull::Yes),
            Sql::Int(v) if *ty == Type::INT4 => (*v as i32).to_sql(ty, out),
            Sql::Int(v) if *ty == Type::FLOAT8 => (*v as f64).to_sql(ty, out),
            Sql::Int(v) if *ty == Type::TEXT || *ty == Type::VARCHAR => v.to_string().to_sql(ty, out),
            Sql::Int(v) => v.to_sql(ty, out),
            Sql::Real(v) => v.to_sql(ty, out),
            Sql::Text(s) => s.to_sql(ty, out),
        }
    }

    fn accepts(_: &postgres::types::Type) -> bool {
        true
    }

    postgres::types::to_sql_checked!();
}

fn pg_rows(rows: Vec<postgres::Row>) -> Vec<Row> {
    use postgres::types::Type;
    rows.into_iter()
        .map(|r| {
            let row = r
                .columns()
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let t = c.type_();
                    let v: Option<Sql> = if *t == Type::INT8 {
                        r.get::<_, Option<i64>>(i).map(Sql::Int)
                    } else if *t == Type::INT4 {
                        r.get::<_, Option<i32>>(i).map(|v| Sql::Int(v as i64))
                    } else if *t == Type::INT2 {
                        r.get::<_, Option<i16>>(i).map(|v| Sql::Int(v as i64))
                    } else if *t == Type::FLOAT8 {
                        r.get::<_, Option<f64>>(i).map(Sql::Real)
                    } else if *t == Type::BOOL {
                        r.get::<_, Option<bool>>(i).map(|v| Sql::Int(v as i64))
                    } else {
                        r.try_get::<_, Option<String>>(i).ok().flatten().map(Sql::Text)
                    };
                    v.unwrap_or(Sql::Null)
                })
                .collect();
            Row(row)
        })
        .collect()
}

fn refs(params: &[Sql]) -> Vec<&(dyn postgres::types::ToSql + Sync)> {
    params.iter().map(|p| p as &(dyn postgres::types::ToSql + Sync)).collect()
}

impl Conn for postgres::Transaction<'_> {
    fn execute(&mut self, sql: &str, params: &[Sql]) -> Result<u64, StoreError> {
        Ok(postgres::Transaction::execute(self, sql, &refs(params))?)
    }

    fn query(&mut self, sql: &str, params: &[Sql]) -> Result<Vec<Row>, StoreError> {
        Ok(pg_rows(postgres::Transaction::query(self, sql, &refs(params))?))
    }
}

/// Run `f` where the synchronous PostgreSQL client may block: that client
/// drives its own runtime, which cannot start on a thread of another one
/// (an async handler, a blocking task); there it runs on a scoped thread.
pub fn off_runtime<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    if tokio::runtime::Handle::try_current().is_err() {
        return f();
    }
    std::thread::scope(|s| s.spawn(f).join()).unwrap_or_else(|p| std::panic::resume_unwind(p))
}

/// Run `f` in one transaction on the PostgreSQL client, off the async
/// runtime; commit when it succeeds.
fn pg_transaction<R: Send>(
    m: &Mutex<Option<postgres::Client>>,
    f: impl FnOnce(&mut postgres::Transaction<'_>) -> Result<R, StoreError> + Send,
) -> Result<R, StoreError> {
    off_runtime(|| {
        let mut guard = m.lock().map_err(|_| StoreError::Poisoned)?;
        let c = guard.as_mut().ok_or(StoreError::Poisoned)?;
        let mut tx = c.transaction()?;
        let r = f(&mut tx)?;
        tx.commit()?;
        Ok(r)
    })
}

impl Backend {
    pub fn open(url: &str) -> Result<Backend, StoreError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let client = off_runtime(|| postgres::Client::connect(url, postgres::NoTls))?;
            return Ok(Backend::Postgres(Mutex::new(Some(client))));
        }
        let path = url.strip_prefix("sqlite://").unwrap_or(url);
        let file = std::path::Path::new(path);
        if let Some(dir) = file.parent() {
            crate::files::private_dir(dir)?;
        }
        // Owner-only before SQLite first opens it: it gives the -wal and
        // -shm files the database file's permissions.
        if path != ":memory:" && !file.exists() {
            drop(crate::files::private_file(file)?);
        }
        crate::files::restrict_sqlite(file)?;
        let c = rusqlite::Connection::open(path)?;
        // WAL: the console reads while the engine writes. NORMAL sync is
        // durable across process crashes, which is what a checkpointed
        // engine needs (a power cut may lose the last commit, replayed).
        c.pragma_update(None, "journal_mode", "WAL")?;
        c.pragma_update(None, "synchronous", "NORMAL")?;
        c.pragma_update(None, "foreign_keys", "ON")?;
        // A 64 MB page cache and in-memory statement journals: with the
        // default 2 MB, batches of trail rows spill pages and write a
        // sub-journal to disk, and inserts run ten times slower.
        c.pragma_update(None, "cache_size", -65_536)?;
        c.pragma_update(None, "temp_store", "MEMORY")?;
        c.busy_timeout(std::time::Duration::from_secs(10))?;
        crate::files::restrict_sqlite(file)?;
        Ok(Backend::Sqlite(Mutex::new(c)))
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, Backend::Postgres(_))
    }

    /// Run `f` in one transaction: all of it lands, or none.
    pub fn transaction<R: Send>(
        &self,
        f: impl FnOnce(&mut dyn Conn) -> Result<R, StoreError> + Send,
    ) -> Result<R, StoreError> {
        match self {
            Backend::Sqlite(m) => {
                let mut c = m.lock().map_err(|_| StoreError::Poisoned)?;
                let tx = c.transaction()?;
                // A Transaction derefs to its Connection.
                let mut conn: &rusqlite::Connection = &tx;
                let r = f(&mut conn)?;
                tx.commit()?;
                Ok(r)
            }
            Backend::Postgres(m) => pg_transaction(m, |tx| f(tx)),
        }
    }

    pub fn execute(&self, sql: &str, params: &[Sql]) -> Result<u64, StoreError> {
        self.transaction(|c| c.execute(sql, params))
    }

    /// Run `f` in one PostgreSQL transaction, with the client's own API
    /// (COPY, savepoints); `None` on SQLite.
    pub fn postgres<R: Send>(
        &self,
        f: impl FnOnce(&mut postgres::Transaction<'_>) -> Result<R, StoreError> + Send,
    ) -> Option<Result<R, StoreError>> {
        let Backend::Postgres(m) = self else { return None };
        Some(pg_transaction(m, f))
    }

    pub fn query(&self, sql: &str, params: &[Sql]) -> Result<Vec<Row>, StoreError> {
        self.transaction(|c| c.query(sql, params))
    }
}

impl Drop for Backend {
    /// Closing the PostgreSQL client blocks on its own runtime, which must
    /// not happen on a thread of another (the console's server, shut down).
    fn drop(&mut self) {
        if let Backend::Postgres(m) = self
            && let Some(c) = m.get_mut().ok().and_then(Option::take)
        {
            off_runtime(move || drop(c));
        }
    }
}

fn sqlite_query(c: &rusqlite::Connection, sql: &str, params: &[Sql]) -> Result<Vec<Row>, StoreError> {
    let mut st = c.prepare_cached(&sqlite_sql(sql))?;
    let n = st.column_count();
    let mut rows = st.query(rusqlite::params_from_iter(params.iter()))?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let mut row = Vec::with_capacity(n);
        for i in 0..n {
            use rusqlite::types::ValueRef;
            row.push(match r.get_ref(i)? {
                ValueRef::Null => Sql::Null,
                ValueRef::Integer(v) => Sql::Int(v),
                ValueRef::Real(v) => Sql::Real(v),
                ValueRef::Text(t) | ValueRef::Blob(t) => Sql::Text(String::from_utf8_lossy(t).into_owned()),
            });
        }
        out.push(Row(row));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn numbered_parameters_become_sqlite_ones() {
        assert_eq!(super::sqlite_sql("a = $2 AND b = $1 AND c = '$'"), "a = ?2 AND b = ?1 AND c = '$'");
    }
}
