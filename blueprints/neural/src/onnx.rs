//! Reading the convolutions of an ONNX graph: the few protobuf messages involved, declared
//! with `prost`'s derive (unknown fields are skipped), and each convolution's weight with the
//! per-channel constants that follow it.

use std::collections::HashMap;
use std::path::Path;

use prost::Message;

use crate::error::{NeuralError, Result};

#[derive(Clone, PartialEq, Message)]
struct ModelProto {
    #[prost(message, optional, tag = "7")]
    graph: Option<GraphProto>,
}

#[derive(Clone, PartialEq, Message)]
struct GraphProto {
    #[prost(message, repeated, tag = "1")]
    node: Vec<NodeProto>,
    #[prost(message, repeated, tag = "5")]
    initializer: Vec<TensorProto>,
}

#[derive(Clone, PartialEq, Message)]
struct NodeProto {
    #[prost(string, repeated, tag = "1")]
    input: Vec<String>,
    #[prost(string, repeated, tag = "2")]
    output: Vec<String>,
    #[prost(string, tag = "4")]
    op_type: String,
}

#[derive(Clone, PartialEq, Message)]
struct TensorProto {
    #[prost(int64, repeated, tag = "1")]
    dims: Vec<i64>,
    #[prost(int32, tag = "2")]
    data_type: i32,
    #[prost(float, repeated, tag = "4")]
    float_data: Vec<f32>,
    #[prost(string, tag = "8")]
    name: String,
    #[prost(bytes = "vec", tag = "9")]
    raw_data: Vec<u8>,
}

/// ONNX's code for 32-bit floats.
const FLOAT: i32 = 1;

/// A float tensor of the graph.
#[derive(Debug, Clone, PartialEq)]
pub struct Constant {
    /// Shape.
    pub dims: Vec<usize>,
    /// Values, row-major.
    pub values: Vec<f32>,
}

/// A convolution and the element-wise constants applied to its output before anything else
/// (bias, batch-norm mean, scale, shift, …), in the order applied.
#[derive(Debug, Clone, PartialEq)]
pub struct ConvLayer {
    /// `[out, in, kh, kw]` weight.
    pub weight: Constant,
    /// The `(operator, constant)` pairs (`Add`, `Sub`, `Mul`) that follow.
    pub affine: Vec<(String, Constant)>,
}

/// What [`read_convolutions`] finds: the convolutions in graph order, then every `MatMul`'s
/// constant operand and the constant added after it.
#[derive(Debug, Clone, PartialEq)]
pub struct ConvGraph {
    /// The convolutions.
    pub convs: Vec<ConvLayer>,
    /// `(weight, bias)` of each `MatMul` + `Add`.
    pub dense: Vec<(Constant, Option<Constant>)>,
}

/// Reads `path`'s convolutions. Nodes that only move data (`Transpose`, `Cast`, `Identity`,
/// `Reshape`) are looked through when following a convolution's output; `affine_len` constants
/// are collected for each.
pub fn read_convolutions(path: &Path, affine_len: usize) -> Result<ConvGraph> {
    let err = |m: String| NeuralError::weight_load(path, m);
    let bytes = std::fs::read(path).map_err(|e| err(e.to_string()))?;
    let model = ModelProto::decode(bytes.as_slice()).map_err(|e| err(format!("not ONNX: {e}")))?;
    let graph = model.graph.ok_or_else(|| err("no graph".into()))?;
    let mut constants: HashMap<&str, Constant> = HashMap::new();
    for t in &graph.initializer {
        if t.data_type == FLOAT {
            constants.insert(&t.name, tensor_values(t).map_err(&err)?);
        }
    }
    for n in &graph.node {
        if n.op_type == "Identity"
            && let (Some(i), Some(o)) = (n.input.first(), n.output.first())
            && let Some(c) = constants.get(i.as_str()).cloned()
        {
            constants.insert(o, c);
        }
    }
    let mut consumers: HashMap<&str, Vec<&NodeProto>> = HashMap::new();
    for n in &graph.node {
        for i in &n.input {
            consumers.entry(i).or_default().push(n);
        }
    }
    let constant_of = |n: &NodeProto| -> Vec<Constant> {
        n.input
            .iter()
            .filter_map(|i| constants.get(i.as_str()).cloned())
            .collect()
    };
    let mut convs = Vec::new();
    let mut dense = Vec::new();
    for n in &graph.node {
        match n.op_type.as_str() {
            "Conv" => {
                let weight = constant_of(n)
                    .into_iter()
                    .next()
                    .filter(|w| w.dims.len() == 4)
                    .ok_or_else(|| err(format!("convolution {:?} has no 4-d weight", n.output)))?;
                let mut affine = Vec::with_capacity(affine_len);
                let mut output = n.output.first().map(String::as_str).unwrap_or_default();
                while affine.len() < affine_len {
                    let op = next_op(&consumers, output).map_err(&err)?;
                    let c = constant_of(op);
                    match (op.op_type.as_str(), c.as_slice()) {
                        ("Add" | "Sub" | "Mul", [c]) => {
                            affine.push((op.op_type.clone(), c.clone()))
                        }
                        _ => {
                            return Err(err(format!(
                                "after convolution {:?}: {} with {} constants, expected \
                                 Add/Sub/Mul with one",
                                n.output,
                                op.op_type,
                                c.len()
                            )));
                        }
                    }
                    output = op.output.first().map(String::as_str).unwrap_or_default();
                }
                convs.push(ConvLayer { weight, affine });
            }
            "MatMul" | "Gemm" => {
                let Some(weight) = constant_of(n).into_iter().next() else {
                    continue;
                };
                let output = n.output.first().map(String::as_str).unwrap_or_default();
                let bias = next_op(&consumers, output)
                    .ok()
                    .filter(|op| op.op_type == "Add")
                    .and_then(|op| constant_of(op).into_iter().next());
                dense.push((weight, bias));
            }
            _ => {}
        }
    }
    Ok(ConvGraph { convs, dense })
}

/// The single node reading `output`, looking through data-movement nodes (at most as many as
/// the graph has, so a cycle of them ends in an error, not a hang).
fn next_op<'g>(
    consumers: &HashMap<&'g str, Vec<&'g NodeProto>>,
    mut output: &'g str,
) -> std::result::Result<&'g NodeProto, String> {
    for _ in 0..=consumers.len() {
        let node = match consumers.get(output).map(Vec::as_slice) {
            Some([node]) => *node,
            _ => return Err(format!("{output} does not feed exactly one node")),
        };
        if !matches!(
            node.op_type.as_str(),
            "Transpose" | "Cast" | "Identity" | "Reshape"
        ) {
            return Ok(node);
        }
        output = node.output.first().map(String::as_str).unwrap_or_default();
    }
    Err(format!("{output} is in a cycle of data-movement nodes"))
}

/// A float initializer's values (raw little-endian bytes or the `float_data` list).
fn tensor_values(t: &TensorProto) -> std::result::Result<Constant, String> {
    let dims: Vec<usize> = t.dims.iter().map(|&d| d.max(0) as usize).collect();
    let n = dims
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .ok_or_else(|| format!("initializer {} has an impossible shape {dims:?}", t.name))?;
    let values: Vec<f32> = if t.raw_data.is_empty() {
        t.float_data.clone()
    } else {
        t.raw_data
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect()
    };
    if values.len() != n {
        return Err(format!(
            "initializer {} holds {} values for shape {dims:?}",
            t.name,
            values.len()
        ));
    }
    Ok(Constant { dims, values })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tensor(name: &str, dims: &[i64], values: &[f32]) -> TensorProto {
        TensorProto {
            dims: dims.to_vec(),
            data_type: FLOAT,
            float_data: Vec::new(),
            name: name.into(),
            raw_data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        }
    }

    fn node(op: &str, input: &[&str], output: &str) -> NodeProto {
        NodeProto {
            input: input.iter().map(|s| s.to_string()).collect(),
            output: vec![output.into()],
            op_type: op.into(),
        }
    }

    #[test]
    fn a_convolution_and_the_constants_after_it_are_found_through_transposes() {
        let graph = GraphProto {
            node: vec![
                node("Conv", &["x", "w"], "c"),
                node("Transpose", &["c"], "t"),
                node("Add", &["t", "b"], "a"),
                node("Identity", &["s"], "s2"),
                node("Mul", &["a", "s2"], "m"),
                node("Relu", &["m"], "r"),
                node("MatMul", &["r", "fc"], "f"),
                node("Add", &["f", "fb"], "y"),
            ],
            initializer: vec![
                tensor("w", &[2, 1, 1, 1], &[1.0, 2.0]),
                tensor("b", &[1, 1, 1, 2], &[0.5, -0.5]),
                tensor("s", &[1, 1, 1, 2], &[3.0, 4.0]),
                tensor("fc", &[2, 1], &[7.0, 8.0]),
                tensor("fb", &[1], &[9.0]),
            ],
        };
        let file = tempfile::NamedTempFile::new().unwrap();
        let model = ModelProto { graph: Some(graph) };
        std::fs::write(file.path(), model.encode_to_vec()).unwrap();
        let read = read_convolutions(file.path(), 2).unwrap();
        assert_eq!(read.convs.len(), 1);
        assert_eq!(read.convs[0].weight.values, vec![1.0, 2.0]);
        let ops: Vec<(&str, &[f32])> = read.convs[0]
            .affine
            .iter()
            .map(|(o, c)| (o.as_str(), c.values.as_slice()))
            .collect();
        assert_eq!(
            ops,
            vec![("Add", &[0.5, -0.5][..]), ("Mul", &[3.0, 4.0][..])]
        );
        assert_eq!(read.dense.len(), 1);
        assert_eq!(read.dense[0].0.dims, vec![2, 1]);
        assert_eq!(read.dense[0].1.as_ref().unwrap().values, vec![9.0]);
        // Asking for a third constant runs into the Relu: a clear error, not a guess.
        let e = read_convolutions(file.path(), 3).unwrap_err().to_string();
        assert!(e.contains("Relu"), "{e}");
        // A cycle of data-movement nodes after a convolution: an error, not a hang.
        let cycle = GraphProto {
            node: vec![
                node("Conv", &["x", "w"], "c"),
                node("Transpose", &["c"], "t1"),
                node("Transpose", &["t1", "t2"], "t2"),
            ],
            initializer: vec![tensor("w", &[2, 1, 1, 1], &[1.0, 2.0])],
        };
        let model = ModelProto { graph: Some(cycle) };
        std::fs::write(file.path(), model.encode_to_vec()).unwrap();
        let e = read_convolutions(file.path(), 1).unwrap_err().to_string();
        assert!(e.contains("cycle"), "{e}");
        // Not a protobuf at all.
        std::fs::write(file.path(), b"\xff\xff\xff").unwrap();
        assert!(read_convolutions(file.path(), 2).is_err());
    }
}
