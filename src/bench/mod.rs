//! Load tests anyone can run against a live server (`aftercare bench web`): a small
//! keep-alive HTTP/1.1 client, latency statistics, and the mix of read pages and API calls
//! each role makes.

pub mod http;
pub mod stats;
pub mod web;
