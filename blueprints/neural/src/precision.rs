//! Numeric precision of a network's forward pass: `f32` everywhere (the default, parity ≤ 1e-4
//! with PyTorch); `f16` weights and activations on a wgpu adapter with 16-bit float shaders
//! (half the memory traffic; parity in the 1e-2 range); or `int8` 1×1 convolutions (and
//! MiniLM's weight products) on the CPU kernels of a CPU with AVX-512 VNNI
//! ([`crate::cpu::int8_gemm`]: weights per output channel, inputs per pixel or token; the stem,
//! depthwise layers, classifier and attention's token-by-token products stay f32).

use std::fmt;

use burn::module::{Module, ModuleMapper, Param};
use burn::tensor::{DType, Device, FloatDType, Tensor};

use crate::error::{NeuralError, Result};

/// Float precision of the forward pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Precision {
    /// 32-bit floats.
    #[default]
    F32,
    /// 16-bit floats (wgpu adapters with 16-bit float shaders only).
    F16,
    /// 8-bit integer 1×1 convolutions and MiniLM weight products (the CPU kernels, on a CPU
    /// with AVX-512 VNNI only).
    Int8,
}

impl std::str::FromStr for Precision {
    type Err = NeuralError;

    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "f32" | "fp32" => Ok(Precision::F32),
            "f16" | "fp16" | "half" => Ok(Precision::F16),
            "int8" | "i8" => Ok(Precision::Int8),
            other => Err(NeuralError::InvalidConfig(format!(
                "unknown precision `{other}` (f32, f16, int8)"
            ))),
        }
    }
}

impl fmt::Display for Precision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Precision::F32 => "f32",
            Precision::F16 => "f16",
            Precision::Int8 => "int8",
        })
    }
}

impl Precision {
    /// burn's float type for this precision (int8 runs on the CPU kernels; burn's copy of the
    /// network, for activation maps, stays f32).
    pub fn dtype(self) -> FloatDType {
        match self {
            Precision::F32 | Precision::Int8 => FloatDType::F32,
            Precision::F16 => FloatDType::F16,
        }
    }

    /// An error unless `device` (described by `description`) computes in this precision:
    /// f16 needs a wgpu device with 16-bit float shaders, int8 the CPU with AVX-512 VNNI.
    pub fn check(self, device: &Device, description: &str) -> Result<()> {
        match self {
            Precision::F32 => return Ok(()),
            Precision::Int8 => {
                if *device != Device::flex() {
                    return Err(NeuralError::InvalidConfig(format!(
                        "int8 precision runs on the CPU kernels only, not on {description}"
                    )));
                }
                if !crate::cpu::int8_gemm::vnni_available() {
                    return Err(NeuralError::DeviceUnavailable(
                        "int8 precision needs a CPU with AVX-512 VNNI (this one would run it \
                         slower than f32): use f32"
                            .into(),
                    ));
                }
                return Ok(());
            }
            Precision::F16 => {}
        }
        if *device == Device::flex() {
            return Err(NeuralError::InvalidConfig(
                "f16 precision runs on a wgpu device only; the CPU computes in f32".into(),
            ));
        }
        if !device.supports_dtype(DType::F16) {
            return Err(NeuralError::DeviceUnavailable(format!(
                "{description} has no 16-bit float shaders: use f32"
            )));
        }
        Ok(())
    }

    /// Bytes of one value of burn's copy of the network in this precision.
    pub fn burn_value_bytes(self) -> usize {
        match self {
            Precision::F16 => 2,
            Precision::F32 | Precision::Int8 => 4,
        }
    }

    /// `module` with every float parameter converted to this precision.
    pub fn cast_module<M: Module>(self, module: M) -> M {
        struct Cast(FloatDType);
        impl ModuleMapper for Cast {
            fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
                Param::from_tensor(param.val().cast(self.0))
            }
        }
        if self.dtype() == FloatDType::F32 {
            return module;
        }
        module.map(&mut Cast(self.dtype()))
    }

    /// `x` in this precision (a no-op when it already is).
    pub fn cast<const D: usize>(self, x: Tensor<D>) -> Tensor<D> {
        match self.dtype() {
            FloatDType::F32 => x,
            dtype => x.cast(dtype),
        }
    }
}

/// `x` as f32, whatever precision it was computed in (to read it back to the host).
pub fn to_f32<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    if x.dtype() == DType::F32 {
        x
    } else {
        x.cast(FloatDType::F32)
    }
}

/// `x`'s values on the host, as f32. A device that fails to produce them (out of memory, a
/// lost device) gives an error with the first lines of the backend's often very long report,
/// not a panic.
pub fn host_f32<const D: usize>(x: Tensor<D>) -> std::result::Result<Vec<f32>, String> {
    let data = to_f32(x).try_into_data().map_err(|e| {
        let report = e.to_string();
        report.lines().take(6).collect::<Vec<_>>().join(" / ")
    })?;
    data.try_into_vec::<f32>().map_err(|e| format!("{e:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints() {
        for p in [Precision::F32, Precision::F16, Precision::Int8] {
            assert_eq!(p.to_string().parse::<Precision>().unwrap(), p);
        }
        assert_eq!("FP16".parse::<Precision>().unwrap(), Precision::F16);
        assert!("bf16".parse::<Precision>().is_err());
    }

    #[test]
    fn the_cpu_refuses_f16_and_accepts_f32() {
        let cpu = Device::flex();
        assert!(Precision::F32.check(&cpu, "cpu").is_ok());
        let e = Precision::F16.check(&cpu, "cpu").unwrap_err().to_string();
        assert!(e.contains("f16") && e.contains("wgpu"), "{e}");
        // int8 runs on the CPU kernels, where the CPU has VNNI.
        let int8 = Precision::Int8.check(&cpu, "cpu");
        assert_eq!(
            int8.is_ok(),
            crate::cpu::int8_gemm::vnni_available(),
            "{int8:?}"
        );
    }
}
