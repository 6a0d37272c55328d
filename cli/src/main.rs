//! The `autopilot` command-line tool.

fn main() {
    quiet_headless_vulkan();
    std::process::exit(autopilot_cli::main_with_args(std::env::args_os()));
}

/// Without a desktop session (no `XDG_RUNTIME_DIR`: a server, a container, CI), Mesa's Vulkan
/// device-selection layer tries to reach a Wayland display when wgpu lists the adapters, and
/// libwayland prints "error: XDG_RUNTIME_DIR is invalid or not set in the environment" — not an
/// error of ours, and that layer only orders GPUs for a display (adapters are chosen by
/// `neural::device`). There it is turned off with its own switch, `NODEVICE_SELECT=1`, unless
/// the user steers it (`MESA_VK_DEVICE_SELECT`, `DRI_PRIME`) or has a Wayland display.
fn quiet_headless_vulkan() {
    let set = |name: &str| std::env::var_os(name).is_some();
    let steered = ["NODEVICE_SELECT", "MESA_VK_DEVICE_SELECT", "DRI_PRIME"];
    if set("XDG_RUNTIME_DIR") || set("WAYLAND_DISPLAY") || steered.iter().any(|n| set(n)) {
        return;
    }
    // SAFETY: the first thing `main` does, before any other thread exists.
    unsafe { std::env::set_var("NODEVICE_SELECT", "1") };
}
