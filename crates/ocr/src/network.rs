//! The seam between the OCR pipeline and an inference runtime. The engine asks a [`Network`] to
//! run one input; [`RtenNetwork`] runs the `.onnx` models with rten (pure Rust, no native
//! library). Another runtime — onnxruntime through `ort`, say — would be one more implementation
//! behind a cargo feature, handed to [`crate::engine::Engine::with_networks`].

use std::path::Path;
use std::sync::Arc;

use rten::{Model, RunOptions, ThreadPool};
use rten_tensor::{NdTensor, Tensor};

/// One loaded model, as the engine uses it.
pub trait Network: Send + Sync {
    /// Runs the model on one `[n, 3, h, w]` input. `lane` (below the engine's lane count) asks
    /// for a single-threaded run on that lane so that several can run side by side; `None` lets
    /// the runtime spread the run over every core.
    fn run(&self, input: NdTensor<f32, 4>, lane: Option<usize>) -> Result<Tensor<f32>, String>;

    /// A value of the model's metadata (the recogniser keeps its dictionary there).
    fn metadata(&self, key: &str) -> Option<String>;
}

/// Single-threaded pools, one per lane, shared by the networks of an engine.
pub type Lanes = Arc<[Arc<ThreadPool>]>;

/// `count` single-threaded rten pools.
pub fn lanes(count: usize) -> Lanes {
    (0..count.max(1)).map(|_| Arc::new(ThreadPool::with_num_threads(1))).collect()
}

/// A model run by rten.
pub struct RtenNetwork {
    model: Model,
    lanes: Lanes,
}

impl RtenNetwork {
    pub fn load(path: &Path, lanes: Lanes) -> Result<Self, String> {
        let model = Model::load_file(path).map_err(|e| e.to_string())?;
        Ok(Self { model, lanes })
    }
}

impl Network for RtenNetwork {
    fn run(&self, input: NdTensor<f32, 4>, lane: Option<usize>) -> Result<Tensor<f32>, String> {
        let options = lane
            .and_then(|l| self.lanes.get(l))
            .map(|pool| RunOptions::default().with_thread_pool(Some(Arc::clone(pool))));
        let output = self.model.run_one(input.into(), options).map_err(|e| e.to_string())?;
        output.try_into().map_err(|e: rten::TryFromValueError| e.to_string())
    }

    fn metadata(&self, key: &str) -> Option<String> {
        self.model.metadata().get(key).map(str::to_owned)
    }
}
