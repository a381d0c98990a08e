//! End-to-end tests: the gateway on a random port over a fresh database, real HTTP.
//! Every test runs on SQLite, and on PostgreSQL when `DATABASE_URL` is set.

mod api;
mod auth;
mod browsers;
mod cache;
mod foundation;
mod limits;
mod persisted;
mod policy_matrix;
mod security;
mod subscriptions;
