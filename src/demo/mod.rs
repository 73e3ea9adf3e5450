//! The demo city: Jining with six counties, 66 developers (subsidiaries, a revoked one, a
//! cancelled one, out-of-town ones) and their projects, plus one login per role, with their
//! filings, hotline tickets, rectification cases and evaluation runs (2025 final after its
//! objections, 2026 to date in publicity). Generated deterministically, so every machine
//! shows the same city.

mod cases;
mod circulars;
mod evaluation;
mod filings;
mod hotline;
pub mod names;

use std::collections::HashSet;

use chrono::{Datelike, NaiveDate};

use crate::audit::Actor;
use crate::auth::{user, Role};
use crate::db::Db;
use crate::error::Result;
use crate::registry::enterprise::{self, EnterpriseFields};
use crate::registry::jurisdiction::{self, JurisdictionInput};
use crate::registry::project::{self, ProjectFields};
use crate::registry::{CreditCode, Grade, Status};
use names::Rng;

/// Every demo account's password (printed by `aftercare demo`).
pub const PASSWORD: &str = "Demo-2026!";

const ENTERPRISES_PER_COUNTY: usize = 11;
const CODE_CHARS: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
/// Pinyin user names of the county officers, in the order of [`names::COUNTIES`].
const OFFICERS: [&str; 6] = [
    "rencheng", "yanzhou", "qufu", "zoucheng", "jinxiang", "jiaxiang",
];

fn principal(u: &user::User) -> crate::auth::Principal {
    crate::auth::Principal {
        user_id: u.id,
        username: u.username.clone(),
        display_name: u.display_name.clone(),
        role: u.role,
    }
}

fn credit_code(rng: &mut Rng, division: &str) -> Result<CreditCode> {
    let mut s = format!("91{division}MA");
    for _ in 0..7 {
        s.push(*rng.pick(CODE_CHARS) as char);
    }
    CreditCode::complete(&s).map_err(|e| crate::error::Error::Internal(e.to_string()))
}

fn date(y: i32, m: u32, d: u32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(y, m, d)
}

/// True when the database has no jurisdictions and no users: safe to fill with the demo.
pub async fn is_empty(db: &Db) -> Result<bool> {
    let mut p = db.acquire().await?;
    let mut conn = p.conn();
    let n: i64 = crate::on_conn!(&mut conn, |c| sqlx::query_scalar(
        "SELECT (SELECT COUNT(*) FROM jurisdictions) + (SELECT COUNT(*) FROM users)"
    )
    .fetch_one(c)
    .await)?;
    Ok(n == 0)
}

/// Builds the demo city into an empty, migrated database. Returns (username, description)
/// for each login.
pub async fn build(db: &Db, blobs: &dyn crate::blobs::BlobStore) -> Result<Vec<(String, String)>> {
    let actor = Actor::system("demo");
    let mut rng = Rng::new(2026);
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();

    let city = jurisdiction::create(
        &mut conn,
        &actor,
        &JurisdictionInput {
            code: names::CITY.0.into(),
            name: names::CITY.1.into(),
            parent_id: None,
        },
    )
    .await?;
    let mut counties = Vec::new();
    for (code, name) in names::COUNTIES {
        let j = jurisdiction::create(
            &mut conn,
            &actor,
            &JurisdictionInput {
                code: (*code).into(),
                name: (*name).into(),
                parent_id: Some(city.id),
            },
        )
        .await?;
        counties.push(j);
    }

    let mut used_aliases: HashSet<String> = HashSet::new();
    let mut enterprises = Vec::new(); // (id, county index, position in county)
    let mut project_no = 0usize;
    let mut logins = vec![("admin".to_string(), "市局管理员（全市）".to_string())];
    for (ci, county) in counties.iter().enumerate() {
        let mut group_parent: Option<i64> = None;
        for k in 0..ENTERPRISES_PER_COUNTY {
            let i = ci * ENTERPRISES_PER_COUNTY + k;
            let name = names::enterprise_name(&mut rng, &county.name, i);
            let out_of_town = k == 7 || k == 8;
            let origin = if out_of_town {
                names::origin_city(&mut rng).to_string()
            } else {
                String::new()
            };
            let division = if out_of_town {
                "370100"
            } else {
                county.code.as_str()
            };
            let grade = match rng.below(20) {
                0..=1 => Grade::First,
                2..=6 => Grade::Second,
                7..=13 => Grade::Third,
                14..=17 => Grade::Fourth,
                _ => Grade::Provisional,
            };
            // Two subsidiaries per county under the county's first developer (Art. 7); one is
            // revoked in 任城区 and one cancelled in 曲阜市 to show the hand-over.
            let parent_id = if k == 9 || k == 10 {
                group_parent
            } else {
                None
            };
            let (status, status_date) = match (ci, k) {
                (0, 9) => (Status::Revoked, date(2025, 6, 30)),
                (2, 10) => (Status::Cancelled, date(2024, 12, 31)),
                _ => (Status::Active, None),
            };
            let alias = names::enterprise_alias(&name);
            let aliases = if used_aliases.insert(alias.clone()) {
                vec![alias]
            } else {
                Vec::new()
            };
            let fields = EnterpriseFields {
                credit_code: credit_code(&mut rng, division)?,
                name,
                legal_rep: names::person_name(&mut rng),
                grade: if parent_id.is_some() && grade == Grade::First {
                    Grade::Second
                } else {
                    grade
                },
                is_local: !out_of_town,
                origin,
                parent_id,
                status,
                status_date,
                county_id: county.id,
                phone: names::mobile(&mut rng),
                email: format!("kefu{i:03}@example.cn"),
                aliases: Some(aliases),
            };
            let e = enterprise::insert(&mut conn, &actor, &fields).await?;
            if k == 0 {
                group_parent = Some(e.id);
            }
            enterprises.push((e.id, ci, k));

            let n_projects = 3 + rng.below(2) as usize + usize::from(k == 0);
            for _ in 0..n_projects {
                let pname = names::project_name(&mut rng, project_no);
                project_no += 1;
                // A tenth of the projects lie in a neighbouring county.
                let pc = if rng.chance(1, 10) {
                    (ci + 1) % counties.len()
                } else {
                    ci
                };
                let delivered_year = 2013 + rng.below(14) as i32; // 2013..=2026
                let delivered = delivered_year <= 2025 || rng.chance(1, 2);
                let delivery_date = if delivered {
                    date(
                        delivered_year,
                        1 + rng.below(12) as u32,
                        1 + rng.below(28) as u32,
                    )
                } else {
                    None
                };
                let units = if delivered {
                    80 + rng.below(900) as i64
                } else {
                    0
                };
                let selling =
                    delivery_date.is_none_or(|d| d.year() >= 2024) && status == Status::Active;
                let aliases = names::project_aliases(&mut rng, &pname);
                let fields = ProjectFields {
                    enterprise_id: e.id,
                    county_id: counties[pc].id,
                    name: pname,
                    address: names::address(&mut rng, &counties[pc].name),
                    sales_site_open: selling && rng.chance(2, 3),
                    delivery_date,
                    units_delivered: units,
                    aliases: Some(aliases),
                };
                project::insert(&mut conn, &actor, &fields).await?;
            }
        }
    }

    let add = |username: &str, display: &str, role: Role| user::NewUser {
        username: username.into(),
        display_name: display.into(),
        password: PASSWORD.into(),
        role,
        email: String::new(),
    };
    let admin = user::create(
        &mut conn,
        &actor,
        add("admin", "市住建局管理员", Role::CityAdmin),
    )
    .await?;
    let mut officers = Vec::new();
    for (ci, county) in counties.iter().enumerate() {
        let role = Role::CountyOfficer {
            county_id: county.id,
        };
        let u = user::create(
            &mut conn,
            &actor,
            add(OFFICERS[ci], &format!("{}住建局", county.name), role),
        )
        .await?;
        officers.push(principal(&u));
        logins.push((
            OFFICERS[ci].to_string(),
            format!("县区主管部门（{}）", county.name),
        ));
    }
    // Every enterprise has an account; three are named for the tour: a group parent, its
    // revoked subsidiary and an out-of-town developer.
    let named = [(0usize, "qiye1"), (9, "qiye2"), (7, "qiye3")];
    let mut members = Vec::new();
    for (idx, (id, ci, k)) in enterprises.iter().enumerate() {
        let e = enterprise::get(&mut conn, *id).await?;
        let tour_name = named.iter().find(|(i, _)| *i == idx).map(|(_, n)| *n);
        let username = tour_name
            .map(str::to_string)
            .unwrap_or_else(|| format!("qy{id:03}"));
        let role = Role::Enterprise { enterprise_id: *id };
        let u = user::create(
            &mut conn,
            &actor,
            add(&username, &format!("{}客服", e.name), role),
        )
        .await?;
        if tour_name.is_some() {
            logins.push((username, format!("企业用户（{}）", e.name)));
        }
        members.push(filings::Member {
            enterprise: e,
            user: principal(&u),
            county: *ci,
            position: *k,
        });
    }
    logins.push((
        "qy<企业编号>".into(),
        "其余每家企业各有一个账号，如 qy004".into(),
    ));
    filings::build(&mut conn, blobs, &members, &officers).await?;
    crate::on_conn!(&mut conn, |c| sqlx::query(
        "INSERT INTO meta (key, value) VALUES ('demo', 'true')"
    )
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    tx.commit().await?;
    let positions: Vec<(i64, usize)> = enterprises.iter().map(|(id, _, k)| (*id, *k)).collect();
    hotline::build(db, &positions).await?;
    let cast = cases::Cast {
        members: members
            .iter()
            .map(|m| (m.county, m.position, m.enterprise.id, m.user.clone()))
            .collect(),
        officers,
    };
    cases::build(db, &cast).await?;
    evaluation::build(db, &principal(&admin), &cast).await?;
    circulars::build(db, &principal(&admin), &cast).await?;
    Ok(logins)
}
