//! Black-box tests over a real socket: one emulator per test on port 0.

#[path = "../common/mod.rs"]
mod common;

mod auth;
mod concurrency;
mod console;
mod control;
mod deregister;
mod faults;
mod helpers;
mod history;
mod hostile;
mod https;
mod journey;
mod limiter;
mod limits;
mod messages;
mod migration;
mod namespace_clock;
mod onboarding;
mod params;
mod phone_numbers;
mod read;
mod register;
mod routing;
mod settings;
mod two_step;
mod verification;
mod webhooks;
