//! Black-box tests over a real socket: one emulator per test on port 0.

mod auth;
mod concurrency;
mod control;
mod deregister;
mod helpers;
mod https;
mod limiter;
mod messages;
mod params;
mod register;
mod routing;
