//! Integration tests: the real router on a real port, against a fresh
//! PostgreSQL database per test (`#[sqlx::test]`, from `DATABASE_URL`).

mod access;
mod compare;
mod enrichment;
mod explorer;
mod fuzz;
mod export;
mod hardening;
mod helpers;
mod ingest;
mod integrity;
mod monitoring;
mod paging;
mod partitions;
mod retention;
mod rules;
mod scale_out;
mod views;
mod write_path;
