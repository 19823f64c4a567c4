//! tracing to stderr; `-v` flags or RUST_LOG choose the level.

use tracing_subscriber::EnvFilter;

pub fn init(verbosity: u8) {
    let default = match verbosity {
        // symphonia logs every Ogg stream it opens at info.
        0 => "info,wgpu_core=warn,wgpu_hal=warn,naga=warn,cubecl=warn,symphonia_format_ogg=warn,symphonia_core=warn",
        1 => "debug,wgpu_core=warn,wgpu_hal=warn,naga=warn",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let _ =
        tracing_subscriber::fmt().with_env_filter(filter).with_target(false).with_writer(std::io::stderr).try_init();
}
