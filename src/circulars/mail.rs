//! The mail an issued circular sends: one to each enterprise it names, through the outbox,
//! in the transaction that issues it.

use super::store::Circular;
use crate::db::Conn;
use crate::error::Result;
use crate::notify::{self, templates::CircularIssued};
use crate::on_conn;

pub async fn issued(conn: &mut Conn<'_>, c: &Circular) -> Result<usize> {
    let issuer = super::store::content_of(conn, c.id).await?.issuer;
    let recipients: Vec<(String, String)> = on_conn!(conn, |x| {
        sqlx::query_as(
        "SELECT e.name, e.email FROM circular_enterprises n JOIN enterprises e ON e.id = n.enterprise_id
         WHERE n.circular_id = $1 AND e.email <> '' ORDER BY e.id"
    )
    .bind(c.id)
    .fetch_all(x)
    .await
    })?;
    let n = recipients.len();
    for (name, email) in recipients {
        let mail = CircularIssued {
            enterprise: name,
            issuer: issuer.clone(),
            title: c.title.clone(),
            number: c.doc_number.clone().unwrap_or_default(),
            date: c.issued_on.unwrap_or_default(),
        };
        notify::enqueue(conn, &email, &mail).await?;
    }
    Ok(n)
}
