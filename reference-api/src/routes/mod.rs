//! The API's routes, one module per resource.

pub mod admin;
pub mod auth;
pub mod health;
pub mod metrics;
pub mod openapi;
pub mod resources;
