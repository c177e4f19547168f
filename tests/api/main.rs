//! Black-box tests over a real socket: one emulator per test on port 0.

mod auth;
mod concurrency;
mod console;
mod control;
mod deregister;
mod helpers;
mod limiter;
mod params;
mod register;
mod routing;
