//! Migrations that rebuild a SQLite table keep its rows and the rows that reference them.

use aftercare::db::Db;

/// The columns a ticket cannot be stored without, besides its id.
const TICKET_COLUMNS: &str = "source, ticket_no, received_at, channel, district, community_text,
    enterprise_text, credit_code_text, source_category, content, satisfaction, revisited,
    group_petition, category, subcategory, severity, attribution, attribution_score, row_hash,
    updated_at";

/// Ticket 41 in `id, TICKET_COLUMNS` order: an unattributed group petition.
const TICKET_41: &str =
    "41, '12345', 'JN1', 1700000000, '电话', '任城区', '运河湾', '', '', '投诉',
    '漏水', 'satisfied', FALSE, TRUE, 'quality', '', 'important', 'unmatched', 0, 'h', 0";

/// Stores ticket 41 and a follow-up of it (`$now`: the backend's current time as SQL).
macro_rules! seed_ticket_41 {
    ($pool:expr, $now:literal) => {
        sqlx::query(&format!(
            "INSERT INTO tickets (id, {TICKET_COLUMNS}) VALUES ({TICKET_41})"
        ))
        .execute($pool)
        .await
        .expect("ticket");
        sqlx::query(concat!(
            "INSERT INTO petition_followups (ticket_id, updated_at) VALUES (41, ",
            $now,
            ")"
        ))
        .execute($pool)
        .await
        .expect("follow-up");
    };
}

/// The CHECK constraints on `tickets` still refuse a code outside their lists (either backend's
/// pool).
macro_rules! assert_checks_refuse {
    ($pool:expr) => {
        for (column, value) in [("satisfaction", "bogus"), ("severity", "urgent")] {
            let refused = sqlx::query(&format!("UPDATE tickets SET {column} = $1"))
                .bind(value)
                .execute($pool)
                .await;
            assert!(refused.is_err(), "{column} = {value} was accepted");
        }
    };
}

/// Migration 0013 rebuilds `tickets` (its CHECKs without lists of constants). Run again on a
/// database holding a ticket and a follow-up that references it, it keeps both, the
/// constraints and the indexes, and leaves no broken reference.
#[tokio::test]
async fn rebuilding_tickets_keeps_rows_references_and_constraints() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("m.sqlite").display());
    let db = Db::connect(&url).await.expect("connect");
    db.migrate().await.expect("migrate");
    let Db::Sqlite(pool) = &db else {
        panic!("a SQLite database")
    };
    seed_ticket_41!(pool, "'now'");

    sqlx::query("DELETE FROM schema_migrations WHERE version = 13")
        .execute(pool)
        .await
        .expect("forget 0013");
    assert_eq!(db.migrate().await.expect("migrate again"), 1);

    let ticket: (i64, String, bool) =
        sqlx::query_as("SELECT id, ticket_no, group_petition FROM tickets")
            .fetch_one(pool)
            .await
            .expect("ticket kept");
    assert_eq!(ticket, (41, "JN1".to_string(), true));
    let followed: i64 = sqlx::query_scalar("SELECT ticket_id FROM petition_followups")
        .fetch_one(pool)
        .await
        .expect("follow-up kept");
    assert_eq!(followed, 41);
    let broken: Vec<(String,)> = sqlx::query_as("SELECT \"table\" FROM pragma_foreign_key_check")
        .fetch_all(pool)
        .await
        .expect("foreign key check");
    assert!(broken.is_empty(), "{broken:?}");
    let sql: String = sqlx::query_scalar(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'tickets'",
    )
    .fetch_one(pool)
    .await
    .expect("schema");
    assert!(!sql.contains(" IN ("), "{sql}");
    let indexes: Vec<(String,)> = sqlx::query_as(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'tickets' ORDER BY name",
    )
    .fetch_all(pool)
    .await
    .expect("indexes");
    let names: Vec<&str> = indexes.iter().map(|(n,)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "sqlite_autoindex_tickets_1",
            "tickets_county",
            "tickets_enterprise",
            "tickets_petition",
            "tickets_received",
            "tickets_unmatched"
        ]
    );
    // The constraints still refuse what they refused.
    assert_checks_refuse!(pool);
    // Foreign keys are on again for the pool's connections.
    let orphan =
        sqlx::query("INSERT INTO petition_followups (ticket_id, updated_at) VALUES (99, 'now')")
            .execute(pool)
            .await;
    assert!(orphan.is_err(), "a follow-up of no ticket was accepted");
}

/// Migration 0015 rewrites PostgreSQL's `tickets` with its fixed-width columns first. Run
/// again on a database holding a ticket and a follow-up, it keeps both, the key's sequence,
/// the constraints, the foreign keys either way and every index under its name.
#[tokio::test]
async fn reordering_tickets_keeps_rows_references_and_constraints() {
    let Some(app) = crate::support::TestApp::postgres().await else {
        return;
    };
    let db = app.db();
    let Db::Postgres(pool) = db else {
        panic!("a PostgreSQL database")
    };
    seed_ticket_41!(pool, "now()");
    let catalog = |pool| async move {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT c.conname || ' ' || pg_get_constraintdef(c.oid) FROM pg_constraint c
             WHERE c.conrelid = 'tickets'::regclass OR c.confrelid = 'tickets'::regclass
             UNION ALL SELECT indexname || ' ' || indexdef FROM pg_indexes WHERE tablename = 'tickets'
             ORDER BY 1",
        )
        .fetch_all(pool)
        .await
        .expect("catalog");
        rows
    };
    let before = catalog(pool).await;

    sqlx::query("DELETE FROM schema_migrations WHERE version = 15")
        .execute(pool)
        .await
        .expect("forget 0015");
    assert_eq!(db.migrate().await.expect("migrate again"), 1);

    assert_eq!(catalog(pool).await, before);
    let ticket: (i64, String, bool, String) =
        sqlx::query_as("SELECT id, ticket_no, group_petition, content FROM tickets")
            .fetch_one(pool)
            .await
            .expect("ticket kept");
    assert_eq!(ticket, (41, "JN1".into(), true, "漏水".into()));
    let followed: i64 = sqlx::query_scalar("SELECT ticket_id FROM petition_followups")
        .fetch_one(pool)
        .await
        .expect("follow-up kept");
    assert_eq!(followed, 41);
    // The numbers come before every text, the indexed ones before the rest.
    let order: Vec<(String,)> = sqlx::query_as(
        "SELECT attname::text FROM pg_attribute
         WHERE attrelid = 'tickets'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
    )
    .fetch_all(pool)
    .await
    .expect("columns");
    let at = |name: &str| order.iter().position(|(n,)| n == name).expect(name);
    assert!(at("enterprise_id") < at("ticket_no"), "{order:?}");
    assert!(at("county_id") < at("source"), "{order:?}");
    assert!(at("revisited_at") < at("satisfaction"), "{order:?}");
    // A new ticket continues the numbering.
    let next: i64 = sqlx::query_scalar(&format!(
        "INSERT INTO tickets ({TICKET_COLUMNS})
         VALUES ('12345', 'JN2', 1700000000, '', '', '', '', '', '', '', 'unrated', FALSE, FALSE,
             'other', '', 'general', 'unmatched', 0, 'h', 0) RETURNING id"
    ))
    .fetch_one(pool)
    .await
    .expect("new ticket");
    assert_eq!(next, 42);
    assert_checks_refuse!(pool);
    let orphan =
        sqlx::query("INSERT INTO petition_followups (ticket_id, updated_at) VALUES (99, now())")
            .execute(pool)
            .await;
    assert!(orphan.is_err(), "a follow-up of no ticket was accepted");
    let duplicate = sqlx::query(&format!(
        "INSERT INTO tickets ({TICKET_COLUMNS}) SELECT {TICKET_COLUMNS} FROM tickets WHERE id = 41"
    ))
    .execute(pool)
    .await;
    assert!(duplicate.is_err(), "a second ticket JN1 was accepted");
}
