//! `cargo xtask …`: the plugin bundler (nice-plug-xtask) and the web app's build and server.

mod web;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    match args.next().as_deref() {
        Some("web") => web::main(args.collect()),
        // Everything else (`bundle`, `bundle-universal`, …) is nice-plug's bundler.
        _ => nice_plug_xtask::main().map_err(|e| anyhow::anyhow!("{e}")),
    }
}
