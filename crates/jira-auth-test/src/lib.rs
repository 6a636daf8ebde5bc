//! The jira-auth test harness.
//!
//! - [`fixtures`]: recorded Atlassian/Jira responses from the workspace's `fixtures/` folder.
//! - [`contract`]: Atlassian's OpenAPI documents, to check what fakes serve and what the client sends.
//! - [`journal`]: every request a fake received, rendered as stable text for exact assertions.
//! - [`filters`]: insta filters that replace ports, times and random values.
//! - [`cloud`], [`server`], [`jira_site`]: the fake Atlassian, the fake Jira Server, fake sites.
//! - [`tls`]: a test CA, a TLS front (optionally demanding a client certificate) for any fake,
//!   and an HTTP `CONNECT` proxy that records its tunnels.
//! - [`binary`]: the `jira-auth` binary, built on demand.
//! - [`context`]: one end-to-end test's world: a private home, the binary run with a cleared
//!   environment, one transcript format and its snapshot macro.
//! - [`journey`]: the whole product journey through the real binary (the demo and its test).
//!
//! Fakes listen on 127.0.0.1 random ports only. They are plain wiremock servers, so tests can
//! mount extra mocks on them; stateful responders (single-use codes, rotating refresh tokens)
//! live beside the fake that uses them.

#![allow(clippy::unwrap_used)]

pub mod binary;
pub mod cloud;
pub mod context;
pub mod contract;
pub mod dc_oauth2;
pub mod filters;
pub mod fixtures;
pub mod hostile;
pub mod jira_site;
pub mod journal;
pub mod journey;
pub mod server;
pub mod tls;

pub use wiremock;
