//! A burn module's float parameters as a compact serde value (shapes + base64 of little-endian
//! `f32`), read back into a module of the same layout.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::tensor::{Device, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use blueprints::error::{BlueprintError, Result};

use crate::precision::host_f32;

/// Every float parameter of a module, in visiting order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredTensors {
    /// Shape of each parameter.
    pub shapes: Vec<Vec<usize>>,
    /// All values, parameter after parameter: base64 of little-endian `f32`.
    pub values: String,
}

fn numeric(message: String) -> BlueprintError {
    BlueprintError::Numeric {
        task: super::TASK.into(),
        reason: message,
    }
}

struct Collect {
    shapes: Vec<Vec<usize>>,
    bytes: Vec<u8>,
    error: Option<String>,
}

impl ModuleVisitor for Collect {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let t = param.val();
        self.shapes.push(t.dims().to_vec());
        match host_f32(t) {
            Ok(v) => self.bytes.extend(v.iter().flat_map(|x| x.to_le_bytes())),
            Err(e) => self.error = Some(format!("reading a parameter back: {e}")),
        }
    }
}

struct Restore<'a> {
    stored: &'a StoredTensors,
    bytes: Vec<u8>,
    next: usize,
    offset: usize,
    device: Device,
    error: Option<String>,
}

impl ModuleMapper for Restore<'_> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let want = param.val().dims().to_vec();
        let Some(shape) = self.stored.shapes.get(self.next) else {
            self.error = Some("fewer stored parameters than the network has".into());
            return param;
        };
        self.next += 1;
        if *shape != want {
            self.error = Some(format!("stored shape {shape:?}, network shape {want:?}"));
            return param;
        }
        let n: usize = shape.iter().product();
        let Some(chunk) = self.bytes.get(self.offset..self.offset + 4 * n) else {
            self.error = Some("stored values end early".into());
            return param;
        };
        self.offset += 4 * n;
        let values: Vec<f32> = chunk
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        Param::from_tensor(Tensor::from_data(
            TensorData::new(values, shape.clone()),
            &self.device,
        ))
    }
}

impl StoredTensors {
    /// The float parameters of `module`.
    pub fn of<M: Module>(module: &M) -> Result<Self> {
        let mut c = Collect {
            shapes: Vec::new(),
            bytes: Vec::new(),
            error: None,
        };
        module.visit(&mut c);
        if let Some(e) = c.error {
            return Err(numeric(e));
        }
        Ok(StoredTensors {
            shapes: c.shapes,
            values: STANDARD.encode(&c.bytes),
        })
    }

    /// `module` with its float parameters replaced by these, on `device`; refuses a layout
    /// that differs in count or shapes.
    pub fn load_into<M: Module>(&self, module: M, device: &Device) -> Result<M> {
        let bytes = STANDARD
            .decode(&self.values)
            .map_err(|e| numeric(format!("stored weights are not base64: {e}")))?;
        let mut r = Restore {
            stored: self,
            bytes,
            next: 0,
            offset: 0,
            device: device.clone(),
            error: None,
        };
        let module = module.map(&mut r);
        if let Some(e) = r.error {
            return Err(numeric(e));
        }
        if r.next != self.shapes.len() || r.offset != r.bytes.len() {
            return Err(numeric(
                "more stored parameters than the network has".into(),
            ));
        }
        Ok(module)
    }
}
