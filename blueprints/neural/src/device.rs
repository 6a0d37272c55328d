//! Compute device selection (`auto | cpu | wgpu`).

use burn::tensor::Device;

use crate::error::{NeuralError, Result};

/// Which compute device to run the networks on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeviceChoice {
    /// A GPU through wgpu when available, otherwise the CPU (this build: always the CPU).
    #[default]
    Auto,
    /// burn's pure-Rust CPU backend (`flex`).
    Cpu,
    /// wgpu (Vulkan/Metal/DX12); an error in this build.
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

/// A resolved device and a human-readable description of it.
#[derive(Debug, Clone)]
pub struct SelectedDevice {
    /// The burn device.
    pub device: Device,
    /// What it is (e.g. `cpu (flex)`).
    pub description: String,
}

/// Resolves a [`DeviceChoice`].
pub fn select_device(choice: DeviceChoice) -> Result<SelectedDevice> {
    match choice {
        DeviceChoice::Cpu => Ok(cpu()),
        DeviceChoice::Wgpu => wgpu_device(),
        DeviceChoice::Auto => Ok(wgpu_device().unwrap_or_else(|_| cpu())),
    }
}

fn cpu() -> SelectedDevice {
    SelectedDevice {
        device: Device::flex(),
        description: "cpu (burn flex)".into(),
    }
}

/// GPU support (burn's `wgpu` backend) is not built in yet.
fn wgpu_device() -> Result<SelectedDevice> {
    Err(NeuralError::DeviceUnavailable(
        "this build of autopilot-neural has no GPU (wgpu) support".into(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_choices() {
        assert_eq!("AUTO".parse::<DeviceChoice>().unwrap(), DeviceChoice::Auto);
        assert_eq!("cpu".parse::<DeviceChoice>().unwrap(), DeviceChoice::Cpu);
        assert_eq!("wgpu".parse::<DeviceChoice>().unwrap(), DeviceChoice::Wgpu);
        assert!("tpu".parse::<DeviceChoice>().is_err());
    }

    #[test]
    fn cpu_is_always_available() {
        assert!(select_device(DeviceChoice::Cpu).is_ok());
        assert!(select_device(DeviceChoice::Auto).is_ok());
    }
}
