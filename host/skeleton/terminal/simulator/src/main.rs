//! `cargo run -p polder-pay-simulator -- [--port P]`: serves the simulator on
//! 127.0.0.1 until stopped, and prints how to certify the plugin against it.

fn main() {
    let mut args = std::env::args().skip(1);
    let mut port = 0;
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next().map(|p| p.parse::<u16>())) {
            ("--port", Some(Ok(p))) => port = p,
            _ => {
                eprintln!("usage: polder-pay-simulator [--port PORT]");
                std::process::exit(2);
            }
        }
    }
    let simulator = match polder_pay_simulator::Simulator::start(port) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("cannot listen on 127.0.0.1:{port}: {e}");
            std::process::exit(1);
        }
    };
    let url = simulator.url();
    println!("Polderpay Cloud simulator on {url}");
    println!("terminals: T-1 (P400), T-2 (M010, not supported)");
    println!(
        "conform: vetpay plugin conform target/wasm32-wasip2/release/polder_pay.wasm \
         --config conform.toml --simulator {url}"
    );
    println!("stop with Ctrl-C");
    simulator.wait();
}
