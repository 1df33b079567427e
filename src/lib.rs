//! Vigil: a self-hosted audit-log console.
//!
//! Data flows one way: `ingest` → `store` → PostgreSQL → `query` → `api` →
//! `pages`/`components`. Server-only modules are compiled with the `ssr` feature;
//! `model` is shared by the server and the browser.
//!
//! Layers (a module imports only from its own layer or the layers below it,
//! and never in a loop):
//! `main`/`cli` → `server` (router, guard, serve loop) → `api` (handlers,
//! server functions) → `lifecycle`, `integrity`, `monitor`, `alerts`, `auth`, `audit`, `query`,
//! `store`, `ingest` → `state`, `metrics`, `model`, `config`, `error`. Within the middle
//! layer: `lifecycle` → `monitor`, `audit`, `store`; `monitor` → `audit`, `store`;
//! `alerts` → `audit`, `query`, `store`; `integrity` → `store`; `auth` →
//! `audit` → `store`, `ingest`; `query` → `store`; `store` → `ingest`. `state` holds the
//! ingest pipeline and so names its type, nothing else above it; it holds
//! `metrics`, which imports only `model`. In the
//! browser half: `app` → `pages` → `components` → `api` (server functions) →
//! `model`, `assets`; a page never imports another page.

// A build without `erase_components` keeps every view type whole: the route
// tree nests deeper than the default limit.
#![recursion_limit = "256"]

pub mod api;
pub mod app;
pub mod assets;
pub mod components;
pub mod model;
pub mod pages;

#[cfg(feature = "ssr")]
pub mod alerts;
#[cfg(feature = "ssr")]
pub mod audit;
#[cfg(feature = "ssr")]
pub mod auth;
#[cfg(feature = "ssr")]
pub mod bench;
#[cfg(feature = "ssr")]
pub mod charts;
#[cfg(feature = "ssr")]
pub mod cli;
#[cfg(feature = "ssr")]
pub mod config;
#[cfg(feature = "ssr")]
pub mod demo;
#[cfg(feature = "ssr")]
pub mod error;
#[cfg(feature = "ssr")]
pub mod ingest;
#[cfg(feature = "ssr")]
pub mod integrity;
#[cfg(feature = "ssr")]
pub mod lifecycle;
#[cfg(feature = "ssr")]
pub mod metrics;
#[cfg(feature = "ssr")]
pub mod monitor;
#[cfg(feature = "ssr")]
pub mod query;
#[cfg(feature = "ssr")]
pub mod server;
#[cfg(feature = "ssr")]
pub mod state;
#[cfg(feature = "ssr")]
pub mod store;

/// Browser entry point: attach to the server-rendered HTML.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
}
