//! A webhook callback for `bench/webhooks.sh`: the library's test receiver (answers the
//! handshake for the verify token `t`, checks signatures, answers 200), so the benchmark
//! measures the emulator's delivery work rather than a slow callback's. Prints its URL, then
//! serves until killed.

use wa_cloud_emulator::webhooks::Receiver;

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let secret = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "0e1d2c3b4a5968778695a4b3c2d1e0f0".to_owned());
    let receiver = Receiver::start(&secret, "t").await?;
    println!("{}", receiver.url());
    std::future::pending::<()>().await;
    Ok(())
}
