//! PostgreSQL: a bulk load sets the primary key of `tickets` aside too, when it can do so
//! without waiting.
//!
//! Kept during the `COPY`, the key cost 0.5–1.3 s of the server's time for a million tickets
//! (the import's rows loaded with `psql`: 3.0–3.9 s against 2.5 s without it); rebuilt from
//! the loaded heap it takes 0.3 s. The petitions' follow-ups and reminders refer to tickets
//! by it, so their foreign keys are dropped with it and added back (checked again) at the
//! end, inside the import's transaction: a refused file rolls all of it back.
//!
//! Dropping them locks those tables as well as `tickets`. Waiting for those locks while
//! holding another could deadlock with a request that reads a ticket and then writes a
//! follow-up (or the other way round), so the three locks are taken together with `NOWAIT`,
//! retried briefly, and never waited for: when a request holds one, the import keeps the
//! key and loads as before.

use std::time::Duration;

use sqlx::PgConnection;

use crate::error::Result;

/// Attempts to take the locks before keeping the key: a second at most.
const ATTEMPTS: u32 = 20;
const PAUSE: Duration = Duration::from_millis(50);

/// What setting the key aside left to restore: statements to run before the other indexes'
/// rebuilds (the key) and after them (the foreign keys that need it).
#[derive(Default)]
pub struct SetAside {
    pub first: Vec<String>,
    pub last: Vec<String>,
}

fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Drops the primary key of `tickets` and the foreign keys that refer to it, if the tables
/// can be locked without waiting; otherwise leaves everything as it is.
pub async fn set_aside(conn: &mut PgConnection) -> Result<SetAside> {
    let key: Option<(String, String)> = sqlx::query_as(
        "SELECT conname::text, pg_get_constraintdef(oid) FROM pg_constraint
         WHERE conrelid = 'tickets'::regclass AND contype = 'p'",
    )
    .fetch_optional(&mut *conn)
    .await?;
    let Some((key_name, key_def)) = key else {
        return Ok(SetAside::default());
    };
    // Referring table (as `regclass` prints it: quoted where needed), name, definition.
    let references: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT conrelid::regclass::text, conname::text, pg_get_constraintdef(oid)
         FROM pg_constraint WHERE confrelid = 'tickets'::regclass AND contype = 'f'
         ORDER BY 1, 2",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut tables: Vec<&str> = references.iter().map(|(t, _, _)| t.as_str()).collect();
    tables.dedup();
    tables.push("tickets");
    let lock = format!(
        "LOCK TABLE {} IN ACCESS EXCLUSIVE MODE NOWAIT",
        tables.join(", ")
    );
    if !lock_without_waiting(conn, &lock).await? {
        return Ok(SetAside::default());
    }
    let mut out = SetAside::default();
    for (table, name, def) in &references {
        let name = quoted(name);
        sqlx::query(&format!("ALTER TABLE {table} DROP CONSTRAINT {name}"))
            .execute(&mut *conn)
            .await?;
        out.last
            .push(format!("ALTER TABLE {table} ADD CONSTRAINT {name} {def}"));
    }
    let name = quoted(&key_name);
    sqlx::query(&format!("ALTER TABLE tickets DROP CONSTRAINT {name}"))
        .execute(&mut *conn)
        .await?;
    out.first.push(format!(
        "ALTER TABLE tickets ADD CONSTRAINT {name} {key_def}"
    ));
    Ok(out)
}

/// Runs `lock` in a savepoint until it succeeds or the attempts run out; a failed attempt
/// releases whatever part of the locks it took (rolling back to a savepoint does).
async fn lock_without_waiting(conn: &mut PgConnection, lock: &str) -> Result<bool> {
    for attempt in 0..ATTEMPTS {
        if attempt > 0 {
            tokio::time::sleep(PAUSE).await;
        }
        sqlx::query("SAVEPOINT key_aside")
            .execute(&mut *conn)
            .await?;
        match sqlx::query(lock).execute(&mut *conn).await {
            Ok(_) => {
                sqlx::query("RELEASE SAVEPOINT key_aside")
                    .execute(&mut *conn)
                    .await?;
                return Ok(true);
            }
            Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("55P03") => {
                sqlx::query("ROLLBACK TO SAVEPOINT key_aside")
                    .execute(&mut *conn)
                    .await?;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(false)
}
