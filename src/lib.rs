//! aftercare: a regulator-side compliance and credit-scoring platform for real-estate
//! developers' after-sales service organizations, after the Jining measures
//! (济宁市房地产开发企业售后服务机构规范化管理办法, 2021).

pub mod audit;
pub mod auth;
pub mod bench;
pub mod blobs;
pub mod calendar;
pub mod circulars;
pub mod cli;
pub mod config;
pub mod db;
pub mod demo;
pub mod enforcement;
pub mod error;
pub mod filings;
pub mod hotline;
pub mod import;
pub mod notify;
pub mod phone;
pub mod registry;
pub mod rules;
pub mod scope;
pub mod scoring;
pub mod secret;
pub mod sheet;
pub mod tabular;
pub mod text;
pub mod time;
pub mod web;
