//! The one integration-test binary: every test drives the real router on a fresh database,
//! on SQLite always and on PostgreSQL when `AFTERCARE_TEST_PG_URL` is set.

mod support;

mod access;
mod access_writes;
mod accounts;
mod audit_log;
mod bounds;
mod cases;
mod circulars;
mod evaluation;
mod evaluation_city;
mod exports;
mod filings;
mod hotline;
mod imports;
mod imports_trust;
mod login;
mod mail;
mod metrics_fresh;
mod metrics_paging;
mod migrations;
mod perfweb;
mod registry_api;
mod served_fresh;
