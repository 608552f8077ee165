use deadpool_postgres::PoolError;
use dittofs_meta::StoreError;
use tokio_postgres::error::SqlState;

/// What a database error means to the metadata service: a serialization
/// failure or deadlock is a conflict to retry, a lost or refused
/// connection makes the store unavailable, anything else is an I/O error.
pub(crate) fn db(e: tokio_postgres::Error) -> StoreError {
    if let Some(db) = e.as_db_error() {
        let code = db.code();
        if *code == SqlState::T_R_SERIALIZATION_FAILURE
            || *code == SqlState::T_R_DEADLOCK_DETECTED
            || *code == SqlState::UNIQUE_VIOLATION
        {
            return StoreError::Conflict;
        }
        // Class 08 is connection exceptions; 57P0x are shutdowns and a
        // server still starting up.
        if code.code().starts_with("08") || code.code().starts_with("57P") {
            return StoreError::Unavailable(db.to_string());
        }
        return StoreError::Io(format!("PostgreSQL: {db}"));
    }
    let why = chain(&e);
    if e.is_closed() || std::error::Error::source(&e).is_some_and(|s| s.is::<std::io::Error>()) {
        return StoreError::Unavailable(format!("PostgreSQL: {why}"));
    }
    StoreError::Io(format!("PostgreSQL: {why}"))
}

/// The error and its causes, each once: "error performing TLS handshake:
/// invalid peer certificate: UnknownIssuer".
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let text = c.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        cause = c.source();
    }
    out
}

pub(crate) fn pool(e: PoolError) -> StoreError {
    match e {
        PoolError::Backend(e) => match db(e) {
            // A connection that cannot be made is an outage, whatever the
            // server said.
            StoreError::Io(why) => StoreError::Unavailable(why),
            other => other,
        },
        PoolError::Timeout(_) => {
            StoreError::Unavailable("PostgreSQL: timed out getting a connection".into())
        }
        other => StoreError::Unavailable(format!("PostgreSQL connection pool: {other}")),
    }
}
