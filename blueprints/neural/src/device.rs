//! Compute device selection (`auto | cpu | wgpu`).
//!
//! * `cpu`: burn's pure-Rust CPU backend (`flex`).
//! * `wgpu`: the best wgpu adapter of the machine — a hardware GPU when there is one, else a
//!   software one such as Mesa's lavapipe — preferring Vulkan over the other graphics APIs
//!   (wgpu would otherwise quietly settle on OpenGL where Vulkan has only a software adapter).
//!   An error when the machine has no adapter at all.
//! * `auto`: a hardware (discrete or integrated) GPU through wgpu when there is one, otherwise
//!   the CPU backend. Never an error.
//!
//! [`SelectedDevice::adapter`] tells which adapter was taken (name, graphics API, type).
//! A wgpu runtime can be initialised once per adapter and process, so selections are cached:
//! selecting the same adapter twice returns the same device.

use std::fmt;
use std::sync::{Mutex, OnceLock};

use burn::tensor::wgpu::{WgpuBackend, wgpu};
use burn::tensor::{Device, DeviceKind};

use crate::error::{NeuralError, Result};

/// Which compute device to run the networks on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeviceChoice {
    /// A hardware GPU through wgpu when there is one, otherwise the CPU.
    #[default]
    Auto,
    /// burn's pure-Rust CPU backend (`flex`).
    Cpu,
    /// wgpu (Vulkan, Metal, DX12 or OpenGL), on the best adapter found, software ones included.
    Wgpu,
}

impl std::str::FromStr for DeviceChoice {
    type Err = NeuralError;

    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(DeviceChoice::Auto),
            "cpu" | "flex" => Ok(DeviceChoice::Cpu),
            "wgpu" | "gpu" => Ok(DeviceChoice::Wgpu),
            other => Err(NeuralError::InvalidConfig(format!(
                "unknown device `{other}` (auto, cpu, wgpu)"
            ))),
        }
    }
}

impl fmt::Display for DeviceChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DeviceChoice::Auto => "auto",
            DeviceChoice::Cpu => "cpu",
            DeviceChoice::Wgpu => "wgpu",
        })
    }
}

/// What kind of processor a wgpu adapter is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AdapterType {
    /// A GPU with its own memory.
    DiscreteGpu,
    /// A GPU sharing the CPU's memory.
    IntegratedGpu,
    /// A virtual or hosted GPU.
    VirtualGpu,
    /// Unknown (OpenGL often reports real GPUs this way).
    Other,
    /// Software rendering on the CPU (lavapipe, llvmpipe, SwiftShader).
    Cpu,
}

impl AdapterType {
    fn from_wgpu(t: wgpu::DeviceType) -> Self {
        match t {
            wgpu::DeviceType::DiscreteGpu => AdapterType::DiscreteGpu,
            wgpu::DeviceType::IntegratedGpu => AdapterType::IntegratedGpu,
            wgpu::DeviceType::VirtualGpu => AdapterType::VirtualGpu,
            wgpu::DeviceType::Cpu => AdapterType::Cpu,
            wgpu::DeviceType::Other => AdapterType::Other,
        }
    }

    /// Whether this is real GPU hardware (discrete or integrated).
    pub fn is_hardware(self) -> bool {
        matches!(self, AdapterType::DiscreteGpu | AdapterType::IntegratedGpu)
    }
}

impl fmt::Display for AdapterType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AdapterType::DiscreteGpu => "discrete GPU",
            AdapterType::IntegratedGpu => "integrated GPU",
            AdapterType::VirtualGpu => "virtual GPU",
            AdapterType::Other => "other",
            AdapterType::Cpu => "CPU (software)",
        })
    }
}

/// A wgpu adapter (a physical or software device on one graphics API).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdapterInfo {
    /// Adapter name, e.g. `NVIDIA H100 80GB HBM3` or `llvmpipe (LLVM 15.0.6, 256 bits)`.
    pub name: String,
    /// Graphics API: `Vulkan`, `Metal`, `Dx12`, `Gl` or `BrowserWebGpu`.
    pub backend: String,
    /// Processor type.
    pub device_type: AdapterType,
    /// Driver name (may be empty).
    pub driver: String,
    /// Driver version details (may be empty).
    pub driver_info: String,
    /// PCI vendor id (0x10de NVIDIA, 0x1002 AMD, 0x8086 Intel, 0x10005 Mesa).
    pub vendor: u32,
}

impl AdapterInfo {
    fn from_wgpu(info: &wgpu::AdapterInfo) -> Self {
        AdapterInfo {
            name: info.name.clone(),
            backend: format!("{:?}", info.backend),
            device_type: AdapterType::from_wgpu(info.device_type),
            driver: info.driver.clone(),
            driver_info: info.driver_info.clone(),
            vendor: info.vendor,
        }
    }

    /// Whether the adapter runs on Vulkan.
    pub fn is_vulkan(&self) -> bool {
        self.backend == "Vulkan"
    }

    /// Whether the adapter is real GPU hardware (discrete or integrated).
    pub fn is_hardware(&self) -> bool {
        self.device_type.is_hardware()
    }
}

impl fmt::Display for AdapterInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}, {}", self.name, self.backend, self.device_type)?;
        let driver = [self.driver.as_str(), self.driver_info.as_str()]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        if !driver.is_empty() {
            write!(f, ", driver {driver}")?;
        }
        f.write_str(")")
    }
}

/// A resolved device and a human-readable description of it.
#[derive(Debug, Clone)]
pub struct SelectedDevice {
    /// The burn device.
    pub device: Device,
    /// What it is (e.g. `cpu (burn flex)` or `wgpu: NVIDIA H100 (Vulkan, discrete GPU)`).
    pub description: String,
    /// The wgpu adapter, `None` on the CPU backend.
    pub adapter: Option<AdapterInfo>,
    /// The largest buffer one kernel may bind on the device, in bytes (wgpu's storage-binding
    /// and buffer-size limits, the smaller): 128 MiB on lavapipe and many OpenGL drivers, GiBs
    /// on discrete GPUs. `None` on the CPU backend. Batches are split so no tensor exceeds it.
    pub max_buffer_bytes: Option<u64>,
}

/// How many items one forward pass may take on a device whose largest buffer is
/// `max_buffer_bytes`, when an item's largest tensor takes `item_bytes`: unbounded on the CPU
/// (`None`); an error naming `device` and `item` when not even one fits.
pub fn items_per_pass(
    max_buffer_bytes: Option<u64>,
    item_bytes: usize,
    device: &str,
    item: &str,
) -> Result<usize> {
    let Some(limit) = max_buffer_bytes else {
        return Ok(usize::MAX);
    };
    match limit / item_bytes.max(1) as u64 {
        0 => Err(unavailable(format!(
            "{device}: its largest buffer ({limit} bytes) is smaller than {item} \
             ({item_bytes} bytes); use the CPU"
        ))),
        n => Ok(usize::try_from(n).unwrap_or(usize::MAX)),
    }
}

/// Resolves a [`DeviceChoice`]: `Cpu` always succeeds, `Wgpu` fails with
/// [`NeuralError::DeviceUnavailable`] when there is no usable adapter, `Auto` falls back to the
/// CPU when there is no hardware GPU.
pub fn select_device(choice: DeviceChoice) -> Result<SelectedDevice> {
    match choice {
        DeviceChoice::Cpu => Ok(cpu()),
        DeviceChoice::Wgpu => wgpu_device(false),
        DeviceChoice::Auto => Ok(wgpu_device(true).unwrap_or_else(|_| cpu())),
    }
}

fn cpu() -> SelectedDevice {
    SelectedDevice {
        device: Device::flex(),
        description: "cpu (burn flex)".into(),
        adapter: None,
        max_buffer_bytes: None,
    }
}

/// One adapter as enumerated, with what is needed to select it again.
#[derive(Debug, Clone)]
struct Candidate {
    info: AdapterInfo,
    api: wgpu::Backend,
    /// Position among the adapters of the same type on the same API (cubecl's selector index).
    index: usize,
}

/// The graphics APIs to look at, most preferred first.
const APIS: [wgpu::Backend; 4] = [
    wgpu::Backend::Vulkan,
    wgpu::Backend::Metal,
    wgpu::Backend::Dx12,
    wgpu::Backend::Gl,
];

/// Every wgpu adapter of this machine, on every graphics API compiled in (Vulkan first).
/// Empty when there is none (no driver, no loader). Enumerated once per process.
pub fn wgpu_adapters() -> Vec<AdapterInfo> {
    candidates().iter().map(|c| c.info.clone()).collect()
}

fn candidates() -> &'static [Candidate] {
    static CANDIDATES: OnceLock<Vec<Candidate>> = OnceLock::new();
    CANDIDATES.get_or_init(|| {
        let enabled = wgpu::Instance::enabled_backend_features();
        let mut out = Vec::new();
        for api in APIS {
            if !enabled.contains(api.into()) {
                continue;
            }
            // A panic inside a driver or loader must not take the process down: no adapter.
            let infos = std::panic::catch_unwind(|| enumerate(api)).unwrap_or_default();
            let mut seen: Vec<AdapterType> = Vec::new();
            for info in infos {
                let info = AdapterInfo::from_wgpu(&info);
                let index = seen.iter().filter(|t| **t == info.device_type).count();
                seen.push(info.device_type);
                out.push(Candidate { info, api, index });
            }
        }
        out
    })
}

/// The adapters of one graphics API, through an instance limited to it.
fn enumerate(api: wgpu::Backend) -> Vec<wgpu::AdapterInfo> {
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
        backends: api.into(),
        ..wgpu::InstanceDescriptor::new_without_display_handle()
    });
    block_on(instance.enumerate_adapters(api.into()))
        .iter()
        .map(wgpu::Adapter::get_info)
        .collect()
}

/// Drives a future to completion on this thread (wgpu's native futures are ready at once).
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(v) = future.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}

/// The preferred adapter: hardware before software, then Vulkan/Metal before DX12 before GL.
fn best_candidate(cands: &[Candidate], hardware_only: bool) -> Option<&Candidate> {
    let api_rank = |api: wgpu::Backend| APIS.iter().position(|a| *a == api).unwrap_or(APIS.len());
    cands
        .iter()
        .filter(|c| !hardware_only || c.info.is_hardware())
        .min_by_key(|c| (c.info.device_type, api_rank(c.api)))
}

/// Initialised wgpu runtimes, by adapter (an adapter can be initialised once per process).
fn initialised() -> &'static Mutex<Vec<(String, wgpu::Backend, SelectedDevice)>> {
    static INIT: OnceLock<Mutex<Vec<(String, wgpu::Backend, SelectedDevice)>>> = OnceLock::new();
    INIT.get_or_init(|| Mutex::new(Vec::new()))
}

fn unavailable(message: String) -> NeuralError {
    NeuralError::DeviceUnavailable(message)
}

/// The wgpu device on the best adapter (hardware only when `hardware_only`).
fn wgpu_device(hardware_only: bool) -> Result<SelectedDevice> {
    let cands = candidates();
    let Some(best) = best_candidate(cands, hardware_only) else {
        let found: Vec<String> = cands.iter().map(|c| c.info.to_string()).collect();
        return Err(unavailable(if cands.is_empty() {
            "no wgpu adapter found (no Vulkan/Metal/DX12/OpenGL driver; on Debian/Ubuntu \
             `apt-get install mesa-vulkan-drivers libvulkan1` gives a software one)"
                .into()
        } else {
            format!(
                "no hardware GPU among the wgpu adapters: {}",
                found.join("; ")
            )
        }));
    };
    let mut init = initialised()
        .lock()
        .map_err(|_| unavailable("the wgpu device registry is poisoned".into()))?;
    if let Some((_, _, selected)) = init
        .iter()
        .find(|(name, api, _)| *name == best.info.name && *api == best.api)
    {
        return Ok(selected.clone());
    }
    let kind = match best.info.device_type {
        AdapterType::DiscreteGpu => DeviceKind::DiscreteGpu(best.index),
        AdapterType::IntegratedGpu => DeviceKind::IntegratedGpu(best.index),
        AdapterType::VirtualGpu => DeviceKind::VirtualGpu(best.index),
        AdapterType::Cpu => DeviceKind::Cpu,
        AdapterType::Other => DeviceKind::DefaultDevice,
    };
    let api = match best.api {
        wgpu::Backend::Vulkan => WgpuBackend::Vulkan,
        wgpu::Backend::Metal => WgpuBackend::Metal,
        wgpu::Backend::Dx12 => WgpuBackend::Dx12,
        wgpu::Backend::Gl => WgpuBackend::Gl,
        other => return Err(unavailable(format!("unsupported graphics API {other:?}"))),
    };
    let options = burn::tensor::Device::wgpu_options()
        .device_kind(kind)
        .graphics_api(api);
    let (device, setup) =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| options.init_with_setup()))
            .map_err(|_| unavailable(format!("initialising wgpu on {} panicked", best.info)))?
            .map_err(|e| unavailable(format!("initialising wgpu on {}: {e}", best.info)))?;
    let info = AdapterInfo::from_wgpu(&setup.adapter.get_info());
    let limits = setup.device.limits();
    let selected = SelectedDevice {
        device,
        description: format!("wgpu: {info}"),
        adapter: Some(info),
        max_buffer_bytes: Some(
            limits
                .max_storage_buffer_binding_size
                .min(limits.max_buffer_size),
        ),
    };
    init.push((best.info.name.clone(), best.api, selected.clone()));
    Ok(selected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_choices() {
        assert_eq!("AUTO".parse::<DeviceChoice>().unwrap(), DeviceChoice::Auto);
        assert_eq!("cpu".parse::<DeviceChoice>().unwrap(), DeviceChoice::Cpu);
        assert_eq!("wgpu".parse::<DeviceChoice>().unwrap(), DeviceChoice::Wgpu);
        assert!("tpu".parse::<DeviceChoice>().is_err());
        for c in [DeviceChoice::Auto, DeviceChoice::Cpu, DeviceChoice::Wgpu] {
            assert_eq!(c.to_string().parse::<DeviceChoice>().unwrap(), c);
        }
    }

    #[test]
    fn cpu_is_always_available_and_auto_never_fails() {
        let cpu = select_device(DeviceChoice::Cpu).unwrap();
        assert!(cpu.adapter.is_none());
        let auto = select_device(DeviceChoice::Auto).unwrap();
        // Auto takes wgpu only on real GPU hardware.
        if let Some(a) = &auto.adapter {
            assert!(a.is_hardware(), "auto picked {a}");
        }
    }

    fn cand(name: &str, t: AdapterType, api: wgpu::Backend) -> Candidate {
        Candidate {
            info: AdapterInfo {
                name: name.into(),
                backend: format!("{api:?}"),
                device_type: t,
                driver: String::new(),
                driver_info: String::new(),
                vendor: 0,
            },
            api,
            index: 0,
        }
    }

    #[test]
    fn prefers_hardware_then_vulkan() {
        let cands = vec![
            cand("llvmpipe", AdapterType::Cpu, wgpu::Backend::Gl),
            cand("lavapipe", AdapterType::Cpu, wgpu::Backend::Vulkan),
            cand("gpu-gl", AdapterType::DiscreteGpu, wgpu::Backend::Gl),
            cand("gpu-vk", AdapterType::DiscreteGpu, wgpu::Backend::Vulkan),
        ];
        assert_eq!(best_candidate(&cands, false).unwrap().info.name, "gpu-vk");
        assert_eq!(best_candidate(&cands, true).unwrap().info.name, "gpu-vk");
        // Software only: Vulkan's lavapipe before GL's llvmpipe; none for hardware-only.
        let soft = &cands[..2];
        assert_eq!(best_candidate(soft, false).unwrap().info.name, "lavapipe");
        assert!(best_candidate(soft, true).is_none());
        assert!(best_candidate(&[], false).is_none());
    }
}
